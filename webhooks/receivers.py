"""The domain signals, turned into partner events inside the transaction that made the change.

Writing the events in that transaction makes them exactly as durable as the change (an outbox): a
rolled-back change leaves no event, a committed one always has its events. Sending waits for the
commit (services._deliver queues with transaction.on_commit).
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from claims.signals import claim_status_changed
from members.signals import membership_status_changed
from settlement.signals import period_settled
from webhooks import services


@receiver(membership_status_changed, dispatch_uid="webhooks.member_status")
def _member_status(sender: Any, *, membership_ids: list[int], **kwargs: Any) -> None:
    services.member_events_create(membership_ids=membership_ids)


@receiver(claim_status_changed, dispatch_uid="webhooks.claim_status")
def _claim_status(sender: Any, *, claim_ids: list[int], from_status: str, action: str, **kwargs: Any) -> None:
    services.claim_events_create(claim_ids=claim_ids, from_status=from_status, action=action)


@receiver(period_settled, dispatch_uid="webhooks.period_settled")
def _period_settled(sender: Any, *, period_id: int, **kwargs: Any) -> None:
    services.period_events_create(period_id=period_id)
