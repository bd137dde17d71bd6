"""Domain signals of claims, sent by the services inside their transaction.

Every claim status change is recorded as a ClaimTransition; the signal goes out wherever one is
written with a new status (one claim in `_transition` and `claim_file`, a whole notice's batch at once
in `claims_share_notice`). Receivers queue their work with `transaction.on_commit`.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.dispatch import Signal

from claims.models import Claim

# kwargs: claim_ids (list[int]), from_status (str; "" for a new claim), status (str), action (str).
claim_status_changed = Signal()


def claim_status_changed_send(*, claim_ids: Sequence[int], from_status: str, status: str, action: str) -> None:
    """Tell the receivers that these claims moved from `from_status` to `status` (inside the transaction)."""
    if claim_ids and from_status != status:
        claim_status_changed.send(
            sender=Claim, claim_ids=list(claim_ids), from_status=from_status, status=status, action=action
        )
