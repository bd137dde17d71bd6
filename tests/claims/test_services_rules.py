"""Approval checks the plan's rules at the date of diagnosis; each broken rule has its reason code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from claims.errors import ApprovalRefused
from claims.models import Claim, ClaimKind, ClaimStatus, CoveredCondition, RejectionReason
from claims.services import claim_approve, claim_start_investigation
from members.models import Membership, MembershipStatus, PayoutTier, Plan, User
from members.services import membership_change_status, membership_enrol, membership_exit
from tests.claims.conftest import JOIN_DAY, on_day

pytestmark = pytest.mark.django_db

LAST_WAITING_DAY = date(2025, 4, 10)  # 90 days from the day after JOIN_DAY


@pytest.fixture
def decide(admin_user: User) -> Callable[..., str]:
    """Investigate and try to approve; the reason code of the refusal, or "approved"."""

    def _decide(claim: Claim, *, on: date | None = None) -> str:
        with on_day(on or claim.filed_at.date() + timedelta(days=1)):
            claim = claim_start_investigation(claim=claim, by=admin_user)
            try:
                claim_approve(claim=claim, by=admin_user)
            except ApprovalRefused as refused:
                return refused.reason
        return "approved"

    return _decide


def test_the_waiting_period_ends_90_days_after_the_day_of_joining(member: Membership) -> None:
    assert member.waiting_period_ends == LAST_WAITING_DAY


def test_it_approves_a_claim_that_breaks_no_rule(claim: Claim, decide: Callable[..., str]) -> None:
    assert decide(claim) == "approved"


def test_it_refuses_an_illness_diagnosed_before_joining(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str]
) -> None:
    claim = file_claim(member, diagnosed_on=JOIN_DAY - timedelta(days=1), on=date(2025, 1, 20))
    assert decide(claim) == RejectionReason.NOT_MEMBER_AT_DIAGNOSIS


def test_it_refuses_an_illness_diagnosed_after_the_membership_ended(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str], alice: User
) -> None:
    membership_exit(membership=member, by=alice, on=date(2025, 6, 1))
    claim = file_claim(member, diagnosed_on=date(2025, 6, 2))
    assert decide(claim) == RejectionReason.NOT_MEMBER_AT_DIAGNOSIS


def test_it_approves_an_illness_diagnosed_the_day_before_the_membership_ended(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str], alice: User
) -> None:
    membership_exit(membership=member, by=alice, on=date(2025, 6, 3))
    claim = file_claim(member, diagnosed_on=date(2025, 6, 2))
    assert decide(claim) == "approved"


def test_it_refuses_an_illness_diagnosed_while_the_membership_was_pending_review(
    enrol: Callable[..., Membership],
    file_claim: Callable[..., Claim],
    decide: Callable[..., str],
    admin_user: User,
) -> None:
    pending = enrol(on=JOIN_DAY, attested_score=None)
    assert pending.status == MembershipStatus.PENDING_REVIEW
    # Coverage starts on the day an administrator confirms the membership, not on the application day.
    confirmed = membership_change_status(
        membership=pending,
        status=MembershipStatus.WAITING,
        reason="checked by phone",
        by=admin_user,
        on=date(2025, 2, 1),
    )
    claim = file_claim(confirmed, kind=ClaimKind.ACCIDENT, diagnosed_on=date(2025, 1, 20), on=date(2025, 2, 2))
    assert decide(claim) == RejectionReason.NOT_MEMBER_AT_DIAGNOSIS


def test_it_refuses_a_claim_on_a_membership_pending_review(
    enrol: Callable[..., Membership], condition: CoveredCondition, decide: Callable[..., str]
) -> None:
    pending = enrol(on=JOIN_DAY, attested_score=None)
    # Filing refuses it; a claim entered another way (an import, an edit) is still refused at approval.
    with on_day(date(2025, 6, 3)):
        claim = Claim.objects.create(
            member=pending,
            person=pending.person,
            kind=ClaimKind.ACCIDENT,
            condition=condition,
            diagnosed_on=date(2025, 6, 2),
            hospital="北京协和医院",
            description="An accident.",
        )
    assert decide(claim) == RejectionReason.NOT_MEMBER_AT_DIAGNOSIS


def test_it_refuses_a_condition_the_plan_does_not_cover(member: Membership, decide: Callable[..., str]) -> None:
    other_plan = Plan.objects.create(code="other", name="Other plan")
    foreign = CoveredCondition.objects.create(plan=other_plan, code="X1", name_zh="其他", name_en="Other")
    # Filing refuses it; a claim whose condition was changed afterwards is still refused at approval.
    with on_day(date(2025, 6, 3)):
        claim = Claim.objects.create(
            member=member,
            person=member.person,
            kind=ClaimKind.ILLNESS,
            condition=foreign,
            diagnosed_on=date(2025, 6, 2),
            hospital="北京协和医院",
            description="An illness.",
        )
    assert decide(claim) == RejectionReason.NOT_COVERED


def test_it_refuses_a_claim_filed_181_days_after_the_diagnosis(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str]
) -> None:
    diagnosed = date(2025, 5, 1)
    claim = file_claim(member, diagnosed_on=diagnosed, on=diagnosed + timedelta(days=181))
    assert decide(claim) == RejectionReason.LATE_CLAIM


def test_it_approves_a_claim_filed_180_days_after_the_diagnosis(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str]
) -> None:
    diagnosed = date(2025, 5, 1)
    claim = file_claim(member, diagnosed_on=diagnosed, on=diagnosed + timedelta(days=180))
    assert decide(claim) == "approved"


def test_it_counts_the_claim_window_to_the_filing_day_not_the_decision_day(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str]
) -> None:
    diagnosed = date(2025, 5, 1)
    claim = file_claim(member, diagnosed_on=diagnosed, on=diagnosed + timedelta(days=180))
    assert decide(claim, on=diagnosed + timedelta(days=240)) == "approved"


def test_it_refuses_an_illness_diagnosed_on_the_last_day_of_the_waiting_period(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str]
) -> None:
    claim = file_claim(member, diagnosed_on=LAST_WAITING_DAY, on=date(2025, 4, 12))
    assert decide(claim) == RejectionReason.WAITING_PERIOD


def test_it_approves_an_illness_diagnosed_the_day_after_the_waiting_period(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str]
) -> None:
    claim = file_claim(member, diagnosed_on=LAST_WAITING_DAY + timedelta(days=1), on=date(2025, 4, 12))
    assert decide(claim) == "approved"


def test_it_approves_an_accident_on_the_first_day_of_the_waiting_period(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str]
) -> None:
    claim = file_claim(member, kind=ClaimKind.ACCIDENT, diagnosed_on=JOIN_DAY + timedelta(days=1), on=date(2025, 1, 12))
    assert decide(claim) == "approved"


def test_it_refuses_a_second_payout_to_the_same_person(
    member: Membership,
    file_claim: Callable[..., Claim],
    approve: Callable[..., Claim],
    decide: Callable[..., str],
    condition: CoveredCondition,
) -> None:
    first = approve(file_claim(member))
    # The first was paid out (settlement's step, reached directly here); a second claim entered afterwards.
    Claim.objects.filter(pk=first.pk).update(status=ClaimStatus.PAID)
    with on_day(date(2025, 6, 10)):
        second = Claim.objects.create(
            member=member,
            person=member.person,
            kind=ClaimKind.ILLNESS,
            condition=condition,
            diagnosed_on=date(2025, 6, 9),
            hospital="北京协和医院",
            description="Another illness.",
        )
    assert decide(second) == RejectionReason.ALREADY_PAID


def test_it_refuses_a_payout_to_a_person_paid_through_another_membership(
    plan: Plan,
    no_answers: dict[str, bool],
    make_id: Callable[..., str],
    file_claim: Callable[..., Claim],
    approve: Callable[..., Claim],
    decide: Callable[..., str],
    alice: User,
    enrol: Callable[..., Membership],
) -> None:
    number = make_id(date(1990, 5, 17), serial=51)
    own = membership_enrol(
        plan=plan,
        name="张三",
        id_number=number,
        health_answers=no_answers,
        account=alice,
        attested_score=700,
        on=JOIN_DAY,
    )
    paid = approve(file_claim(own))
    membership_exit(membership=own, by=alice, on=date(2025, 6, 20))
    Claim.objects.filter(pk=paid.pk).update(status=ClaimStatus.PAID)  # settlement's part
    # The same person back, as a dependant in another household.
    payer = enrol(birth_date=date(1988, 8, 8), on=date(2025, 6, 20))
    dependant = membership_enrol(
        plan=plan,
        name="张三",
        id_number=number,
        health_answers=no_answers,
        payer=payer,
        relationship="spouse",
        on=date(2025, 6, 20),
    )
    claim = file_claim(dependant, kind=ClaimKind.ACCIDENT, diagnosed_on=date(2025, 7, 1), on=date(2025, 7, 2))
    assert decide(claim) == RejectionReason.ALREADY_PAID


def test_it_refuses_a_payout_to_a_person_whose_membership_was_paid_out(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str]
) -> None:
    claim = file_claim(member)
    Membership.objects.filter(pk=member.pk).update(status=MembershipStatus.PAID_OUT)  # settlement's part
    assert decide(claim) == RejectionReason.ALREADY_PAID


def test_it_refuses_an_age_in_a_gap_of_the_tiers(
    member: Membership, file_claim: Callable[..., Claim], decide: Callable[..., str], plan: Plan
) -> None:
    plan.payout_tiers.filter(from_age=0).update(to_age=34)  # no tier for 35 to 39 any more
    claim = file_claim(member)  # Alice is 35 on the day of diagnosis
    assert decide(claim) == RejectionReason.AGE_LIMIT


def test_it_refuses_an_age_above_the_last_tier(
    file_claim: Callable[..., Claim], decide: Callable[..., str], plan: Plan, enrol: Callable[..., Membership]
) -> None:
    Plan.objects.filter(pk=plan.pk).update(age_out_years=65)  # covered to 65, but tiers stop at 59
    older = enrol(birth_date=date(1965, 3, 1), on=JOIN_DAY)  # 59 on joining, 60 on 1 March 2025
    claim = file_claim(older, diagnosed_on=date(2025, 6, 2))
    assert decide(claim) == RejectionReason.AGE_LIMIT
    assert not PayoutTier.objects.filter(plan=plan, to_age__gte=60).exists()


def test_a_refused_approval_changes_nothing(claim: Claim, admin_user: User, plan: Plan) -> None:
    plan.payout_tiers.all().delete()
    investigating = claim_start_investigation(claim=claim, by=admin_user)
    with pytest.raises(ApprovalRefused):
        claim_approve(claim=investigating, by=admin_user)
    investigating.refresh_from_db()
    assert (investigating.status, investigating.approval_proposed_by, investigating.payout_fen) == (
        ClaimStatus.INVESTIGATING,
        None,
        None,
    )
    assert not investigating.transitions.filter(action="propose_approval").exists()
