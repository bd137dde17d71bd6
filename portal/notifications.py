"""E-mail notifications to members: a charge published, a claim's status, a membership's status.

It lives in portal because it reads every app (a claim's household is members', a charge is
settlement's), and members may import neither. The domain signals' receivers only queue a Celery task
after commit; the tasks read who wants e-mail and send it, in each household's chosen language.

Who is written to: the login that manages the household (the payer's account), when it has an e-mail
address and has not turned notifications off on /account/notifications/.

The charge published on a notice day concerns every household, so it is cut into chunks of payer ids
(SETTLEMENT_CHUNK_SIZE, like the split) and each chunk is one task reading only the payers with an
e-mail address; a chunk is marked sent in the transaction that sends it (members.NotificationMark),
so a task run twice sends nothing twice, and one killed half-way is sent again in full.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, IntegerField, Max, Min, Q, Value, When
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import translation

from claims.models import Claim, ClaimStatus
from claims.signals import claim_status_changed
from members.models import Membership, MembershipStatus, NotificationMark, User
from members.signals import membership_status_changed
from settlement import sql
from settlement.models import Period
from settlement.services import chunk_size_setting
from settlement.signals import period_opened
from settlement.split import period_figures

logger = logging.getLogger(__name__)


# --- the receivers: queue a task once the change has committed -------------------------------------------


@receiver(membership_status_changed, dispatch_uid="portal.notify_membership_status")
def _membership_status(sender: Any, *, membership_ids: list[int], **kwargs: Any) -> None:
    from portal.tasks import notify_membership_status

    transaction.on_commit(lambda: notify_membership_status.delay(membership_ids))


@receiver(claim_status_changed, dispatch_uid="portal.notify_claim_status")
def _claim_status(sender: Any, *, claim_ids: list[int], **kwargs: Any) -> None:
    from portal.tasks import notify_claim_status

    transaction.on_commit(lambda: notify_claim_status.delay(claim_ids))


@receiver(period_opened, dispatch_uid="portal.notify_charge_published")
def _period_opened(sender: Any, *, period_id: int, **kwargs: Any) -> None:
    from portal.tasks import notify_charge_published

    transaction.on_commit(lambda: notify_charge_published.delay(period_id))


# --- rendering and sending --------------------------------------------------------------------------------


def _language(user: User) -> str:
    chosen = user.email_language
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _message(*, user: User, template: str, context: dict[str, Any]) -> EmailMessage:
    """The e-mail `template` (emails/<template>_subject.txt and .txt) in the user's language."""
    with translation.override(_language(user)):
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
        body = render_to_string(f"emails/{template}.txt", context)
    return EmailMessage(subject=subject, body=body, to=[user.email])


def _send(messages: list[EmailMessage]) -> int:
    if not messages:
        return 0
    # One connection for the batch: an SMTP server is logged in to once, not once per message.
    with get_connection() as connection:
        return int(connection.send_messages(messages) or 0)


def yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole:,}.{cents:02d}"


# --- a membership's status --------------------------------------------------------------------------------


def membership_status_emails(*, membership_ids: Sequence[int]) -> int:
    """One e-mail per household account, listing its members whose status changed. Returns e-mails sent."""
    household_account = Coalesce(F("account_id"), F("payer__account_id"))
    rows = (
        Membership.objects.filter(pk__in=list(membership_ids))
        .annotate(household_account=household_account)
        .filter(
            Q(account__email_notifications=True, account__email__gt="")
            | Q(payer__account__email_notifications=True, payer__account__email__gt="")
        )
        .select_related("person", "account", "payer__account")
        .order_by("household_account", "pk")
    )
    by_account: dict[int, list[Membership]] = defaultdict(list)
    accounts: dict[int, User] = {}
    for membership in rows:
        account = membership.account or (membership.payer.account if membership.payer else None)
        if account is None:
            continue
        accounts[account.pk] = account
        by_account[account.pk].append(membership)
    messages = [
        _message(user=accounts[pk], template="membership_status", context={"memberships": members})
        for pk, members in by_account.items()
    ]
    return _send(messages)


# --- a claim's status -------------------------------------------------------------------------------------


def claim_status_emails(*, claim_ids: Sequence[int]) -> int:
    """One e-mail per claim to its household's account."""
    claims = (
        Claim.objects.filter(pk__in=list(claim_ids))
        .filter(
            Q(member__account__email_notifications=True, member__account__email__gt="")
            | Q(member__payer__account__email_notifications=True, member__payer__account__email__gt="")
        )
        .select_related("member__person", "member__account", "member__payer__account", "condition", "notice")
        .order_by("pk")
    )
    messages = []
    for claim in claims:
        member = claim.member
        account = member.account or (member.payer.account if member.payer else None)
        if account is None:
            continue
        with translation.override(_language(account)):
            condition = claim.condition.name(translation.get_language())
        context = {"claim": claim, "condition": condition, "paid": claim.status == ClaimStatus.PAID}
        messages.append(_message(user=account, template="claim_status", context=context))
    return _send(messages)


# --- the charge published on the notice day ---------------------------------------------------------------


@dataclass(frozen=True)
class ChargeEstimate:
    """What each sharer is expected to pay for a period, known on its notice day (fixed on the charge day)."""

    period_id: int
    notice_date: date
    charge_date: date
    claims: int
    sharers: int
    per_member_fen: int


def charge_estimate(*, period: Period) -> ChargeEstimate:
    """The claims in notice and the sharers counted as the charge day will count them (one scan).

    A member pays ⌊total/N⌋ or one fen more, at most the per-claim cap; the largest charge is what a
    member is told to expect (“about”). Objections may still take claims out of the batch.
    """
    payouts = list(
        Claim.objects.filter(notice_id=period.notice_id, status=ClaimStatus.IN_NOTICE).values_list(
            "payout_fen", flat=True
        )
    )
    counts = sql.sharers_by_chunk(plan=period.plan_id, notice_date=period.notice_date, size=chunk_size_setting())
    figures = period_figures(
        payouts_fen=[p or 0 for p in payouts],
        rate=period.plan.management_fee_rate,
        sharers=sum(n for _k, n in counts),
        per_claim_cap_fen=period.plan.per_claim_cap_fen,
    )
    return ChargeEstimate(
        period_id=period.pk,
        notice_date=period.notice_date,
        charge_date=period.charge_date,
        claims=figures.claims,
        sharers=figures.sharers,
        per_member_fen=figures.max_charge_fen,
    )


def charge_chunks(*, period: Period) -> list[tuple[int, int]]:
    """Payer-id ranges [lo, hi) covering every membership of the plan, SETTLEMENT_CHUNK_SIZE ids each."""
    size = chunk_size_setting()
    bounds = Membership.objects.filter(plan_id=period.plan_id).aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return []
    return [(k * size, (k + 1) * size) for k in range(bounds["lo"] // size, bounds["hi"] // size + 1)]


def _sharer(prefix: str, period: Period) -> Q:
    """settlement.sql.SHARER_CONDITION as a filter: covered at 00:00 on the notice day."""
    return (
        Q(
            **{f"{prefix}plan_id": period.plan_id, f"{prefix}joined_on__lt": period.notice_date},
        )
        & (Q(**{f"{prefix}ended_on__isnull": True}) | Q(**{f"{prefix}ended_on__gte": period.notice_date}))
        & ~Q(**{f"{prefix}status": MembershipStatus.PENDING_REVIEW})
    )


def charge_published_chunk_emails(*, estimate: ChargeEstimate, lo: int, hi: int) -> int:
    """E-mail the payers with ids in [lo, hi) who want e-mail and whose household shares the period.

    One query over the chunk's payers joined to their logins (only those with an address), counting each
    household's sharers; then one e-mail each. Marked sent in the same transaction: see the module's note.
    """
    if not estimate.claims or not estimate.sharers:
        return 0
    period = Period.objects.select_related("plan").get(pk=estimate.period_id)
    key = f"charge-published:{estimate.period_id}:{lo}"
    with transaction.atomic():
        try:
            with transaction.atomic():
                mark = NotificationMark.objects.create(key=key)
        except IntegrityError:
            return 0  # sent already (or being sent by another worker, which held the key until it committed)
        payers = (
            Membership.objects.filter(payer__isnull=True, pk__gte=lo, pk__lt=hi, plan_id=period.plan_id)
            .filter(account__email_notifications=True, account__email__gt="")
            .annotate(
                sharing=Count("dependants", filter=_sharer("dependants__", period), distinct=True)
                + Case(When(_sharer("", period), then=Value(1)), default=Value(0), output_field=IntegerField())
            )
            .filter(sharing__gt=0)
            .select_related("account", "person")
            .order_by("pk")
        )
        messages = [_charge_message(payer, estimate) for payer in payers]
        mark.sent = _send(messages)
        mark.save(update_fields=["sent"])
    return mark.sent


def _charge_message(payer: Membership, estimate: ChargeEstimate) -> EmailMessage:
    sharing = int(getattr(payer, "sharing", 1))
    assert payer.account is not None  # filtered on the account's address
    context = {
        "name": payer.person.name,
        "amount": yuan(estimate.per_member_fen * sharing),
        "per_member": yuan(estimate.per_member_fen),
        "people": sharing,
        "claims": estimate.claims,
        "sharers": estimate.sharers,
        "charge_date": estimate.charge_date,
        "notice_date": estimate.notice_date,
    }
    return _message(user=payer.account, template="charge_published", context=context)
