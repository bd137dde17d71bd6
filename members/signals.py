"""Domain signals of members, sent by the services inside their transaction.

Receivers (webhooks, e-mail notifications) live in higher apps and queue their work with
`transaction.on_commit`, so nothing goes out for a change that is rolled back. A signal carries ids,
never rows: the daily job sends one signal per chunk of thousands of memberships, not one per row.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.dispatch import Signal

from members.models import Membership

# kwargs: membership_ids (list[int]), status (the new status, the same for every id), reason.
membership_status_changed = Signal()


def membership_status_changed_send(*, membership_ids: Sequence[int], status: str, reason: str) -> None:
    """Tell the receivers that these memberships now have `status` (call inside the service's transaction)."""
    if membership_ids:
        membership_status_changed.send(
            sender=Membership, membership_ids=list(membership_ids), status=status, reason=reason
        )
