"""Thin Celery tasks of the member notifications (portal.notifications); each takes ids."""

from __future__ import annotations

from celery import shared_task

from portal import notifications
from settlement.models import Period


@shared_task(name="portal.tasks.notify_membership_status")
def notify_membership_status(membership_ids: list[int]) -> int:
    return notifications.membership_status_emails(membership_ids=membership_ids)


@shared_task(name="portal.tasks.notify_claim_status")
def notify_claim_status(claim_ids: list[int]) -> int:
    return notifications.claim_status_emails(claim_ids=claim_ids)


@shared_task(name="portal.tasks.notify_charge_published")
def notify_charge_published(period_id: int) -> int:
    """The notice day's charge: estimated once here, then one task per chunk of payer ids, on any worker."""
    period = Period.objects.select_related("plan").get(pk=period_id)
    estimate = notifications.charge_estimate(period=period)
    if not estimate.claims or not estimate.sharers:
        return 0
    chunks = notifications.charge_chunks(period=period)
    for lo, hi in chunks:
        notify_charge_published_chunk.delay(
            period_id, lo, hi, estimate.claims, estimate.sharers, estimate.per_member_fen
        )
    return len(chunks)


@shared_task(name="portal.tasks.notify_charge_published_chunk")
def notify_charge_published_chunk(
    period_id: int, lo: int, hi: int, claims: int, sharers: int, per_member_fen: int
) -> int:
    period = Period.objects.get(pk=period_id)
    estimate = notifications.ChargeEstimate(
        period_id=period_id,
        notice_date=period.notice_date,
        charge_date=period.charge_date,
        claims=claims,
        sharers=sharers,
        per_member_fen=per_member_fen,
    )
    return notifications.charge_published_chunk_emails(estimate=estimate, lo=lo, hi=hi)
