"""Four eyes: a payout at or above the plan's threshold needs two different administrators."""

from __future__ import annotations

import pytest

from claims.errors import FourEyesRequired
from claims.models import Claim, ClaimStatus, ClaimTransition
from claims.services import claim_approve
from members.models import Plan, User

pytestmark = pytest.mark.django_db


def test_the_first_approval_only_proposes(investigating: Claim, admin_user: User) -> None:
    claim_approve(claim=investigating, by=admin_user)
    investigating.refresh_from_db()
    assert (investigating.status, investigating.approval_proposed_by, investigating.payout_fen) == (
        ClaimStatus.INVESTIGATING,
        admin_user,
        None,
    )


def test_the_proposal_is_recorded_on_the_timeline(investigating: Claim, admin_user: User) -> None:
    claim_approve(claim=investigating, by=admin_user, note="Documents check out.")
    step = investigating.transitions.get(action="propose_approval")
    assert (step.by, step.from_status, step.to_status, step.note) == (
        admin_user,
        ClaimStatus.INVESTIGATING,
        ClaimStatus.INVESTIGATING,
        "Documents check out.",
    )


def test_the_same_administrator_cannot_confirm_their_own_proposal(investigating: Claim, admin_user: User) -> None:
    proposed = claim_approve(claim=investigating, by=admin_user)
    before = ClaimTransition.objects.count()
    with pytest.raises(FourEyesRequired):
        claim_approve(claim=proposed, by=admin_user)
    investigating.refresh_from_db()
    assert (investigating.status, ClaimTransition.objects.count()) == (ClaimStatus.INVESTIGATING, before)


def test_a_second_administrator_confirms_the_approval(
    investigating: Claim, admin_user: User, second_admin: User
) -> None:
    proposed = claim_approve(claim=investigating, by=admin_user)
    claim_approve(claim=proposed, by=second_admin)
    investigating.refresh_from_db()
    assert (investigating.status, investigating.payout_fen) == (ClaimStatus.APPROVED, 30_000_000)
    assert investigating.transitions.get(action="approve").by == second_admin


def test_one_administrator_approves_a_payout_below_the_threshold(
    investigating: Claim, admin_user: User, plan: Plan
) -> None:
    Plan.objects.filter(pk=plan.pk).update(four_eyes_threshold_fen=30_000_001)
    claim_approve(claim=investigating, by=admin_user)
    investigating.refresh_from_db()
    assert (investigating.status, investigating.payout_fen) == (ClaimStatus.APPROVED, 30_000_000)
    assert not investigating.transitions.filter(action="propose_approval").exists()


def test_a_payout_equal_to_the_threshold_needs_two_administrators(
    investigating: Claim, admin_user: User, plan: Plan
) -> None:
    Plan.objects.filter(pk=plan.pk).update(four_eyes_threshold_fen=30_000_000)
    claim_approve(claim=investigating, by=admin_user)
    investigating.refresh_from_db()
    assert investigating.status == ClaimStatus.INVESTIGATING
