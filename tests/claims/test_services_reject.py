"""Rejection: a reason code always, a note for `other`, and an illness in the waiting period ends the membership."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from claims.models import Claim, ClaimKind, ClaimStatus, ClaimTransition
from claims.services import claim_approve, claim_reject
from members.errors import DomainError, RejoiningNotAllowed
from members.models import Membership, MembershipStatus, Plan, User
from members.services import WAITING_PERIOD_ILLNESS, membership_enrol
from tests.claims.conftest import JOIN_DAY, on_day

pytestmark = pytest.mark.django_db

IN_THE_WAITING_PERIOD = date(2025, 3, 1)


@pytest.fixture
def waiting_claim(member: Membership, file_claim: Callable[..., Claim]) -> Claim:
    """Alice's illness diagnosed during her waiting period."""
    return file_claim(member, diagnosed_on=IN_THE_WAITING_PERIOD, on=date(2025, 3, 2))


def test_a_waiting_period_rejection_ends_the_membership(
    waiting_claim: Claim, member: Membership, admin_user: User
) -> None:
    with on_day(date(2025, 3, 5)):
        claim_reject(claim=waiting_claim, by=admin_user, reason="waiting_period")
    member.refresh_from_db()
    assert (member.status, member.status_reason, member.ended_on) == (
        MembershipStatus.EXITED,
        WAITING_PERIOD_ILLNESS,
        date(2025, 3, 5),
    )


def test_a_person_rejected_for_a_waiting_period_illness_cannot_rejoin(
    plan: Plan,
    no_answers: dict[str, bool],
    make_id: Callable[..., str],
    file_claim: Callable[..., Claim],
    admin_user: User,
    alice: User,
) -> None:
    number = make_id(date(1990, 5, 17), serial=61)
    member = membership_enrol(
        plan=plan,
        name="张三",
        id_number=number,
        health_answers=no_answers,
        account=alice,
        attested_score=700,
        on=JOIN_DAY,
    )
    claim = file_claim(member, diagnosed_on=IN_THE_WAITING_PERIOD, on=date(2025, 3, 2))
    claim_reject(claim=claim, by=admin_user, reason="waiting_period")
    with pytest.raises(RejoiningNotAllowed):
        membership_enrol(
            plan=plan, name="张三", id_number=number, health_answers=no_answers, account=alice, attested_score=700
        )


def test_it_refuses_a_waiting_period_rejection_of_an_illness_diagnosed_after_the_waiting_period(
    claim: Claim, member: Membership, admin_user: User
) -> None:
    # The code bars the person from the plan for life, so it must be true.
    with pytest.raises(DomainError) as refused:
        claim_reject(claim=claim, by=admin_user, reason="waiting_period")
    member.refresh_from_db()
    claim.refresh_from_db()
    assert (refused.value.field, claim.status, member.status) == (
        "reason",
        ClaimStatus.SUBMITTED,
        MembershipStatus.WAITING,
    )


def test_it_refuses_a_waiting_period_rejection_of_an_accident(
    member: Membership, file_claim: Callable[..., Claim], admin_user: User
) -> None:
    accident = file_claim(member, kind=ClaimKind.ACCIDENT, diagnosed_on=IN_THE_WAITING_PERIOD, on=date(2025, 3, 2))
    with pytest.raises(DomainError):
        claim_reject(claim=accident, by=admin_user, reason="waiting_period")
    member.refresh_from_db()
    assert member.status == MembershipStatus.WAITING


def test_another_rejection_leaves_the_membership_alone(claim: Claim, member: Membership, admin_user: User) -> None:
    claim_reject(claim=claim, by=admin_user, reason="fraud", note="The report was forged.")
    member.refresh_from_db()
    assert (member.status, member.ended_on) == (MembershipStatus.WAITING, None)


def test_it_refuses_the_reason_other_without_a_note(claim: Claim, admin_user: User) -> None:
    with pytest.raises(DomainError) as refused:
        claim_reject(claim=claim, by=admin_user, reason="other", note="  ")
    claim.refresh_from_db()
    assert (refused.value.field, claim.status) == ("note", ClaimStatus.SUBMITTED)


def test_it_refuses_an_unknown_reason_code(claim: Claim, admin_user: User) -> None:
    before = ClaimTransition.objects.count()
    with pytest.raises(DomainError) as refused:
        claim_reject(claim=claim, by=admin_user, reason="bad_luck", note="")
    assert (refused.value.field, ClaimTransition.objects.count()) == ("reason", before)


def test_a_rejection_forgets_a_pending_approval_proposal(
    investigating: Claim, admin_user: User, second_admin: User
) -> None:
    proposed = claim_approve(claim=investigating, by=admin_user)
    claim_reject(claim=proposed, by=second_admin, reason="fraud", note="Forged.")
    investigating.refresh_from_db()
    assert (investigating.status, investigating.approval_proposed_by) == (ClaimStatus.REJECTED, None)
