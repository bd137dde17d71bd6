"""The claim's state machine through its services: each step, the illegal ones, and the timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from claims.errors import ConcurrentDecision
from claims.models import Claim, ClaimStatus, ClaimTransition
from claims.services import (
    claim_approve,
    claim_reject,
    claim_start_investigation,
    claim_withdraw,
    notices_publish,
    objection_file,
)
from members.errors import DomainError, InvalidTransition
from members.models import Membership, Plan, User
from tests.claims.conftest import DECISION_DAY, beijing, on_day

pytestmark = pytest.mark.django_db

NOTICE_DAY = date(2025, 6, 7)


def steps(claim: Claim) -> list[tuple[str, str, str]]:
    return list(claim.transitions.values_list("from_status", "to_status", "action"))


def test_it_starts_the_investigation_of_a_submitted_claim(claim: Claim, admin_user: User) -> None:
    investigated = claim_start_investigation(claim=claim, by=admin_user)
    assert investigated.status == ClaimStatus.INVESTIGATING
    assert steps(claim)[-1] == (ClaimStatus.SUBMITTED, ClaimStatus.INVESTIGATING, "start_investigation")


def test_it_approves_an_investigated_claim(investigating: Claim, approve: Callable[..., Claim]) -> None:
    approve(investigating)
    investigating.refresh_from_db()
    assert investigating.status == ClaimStatus.APPROVED
    assert steps(investigating)[-1] == (ClaimStatus.INVESTIGATING, ClaimStatus.APPROVED, "approve")


def test_it_rejects_an_investigated_claim_with_its_reason(investigating: Claim, admin_user: User) -> None:
    claim_reject(claim=investigating, by=admin_user, reason="not_covered", note="A fracture is not on the list.")
    investigating.refresh_from_db()
    assert (investigating.status, investigating.rejection_reason) == (ClaimStatus.REJECTED, "not_covered")


def test_a_member_withdraws_a_submitted_claim(claim: Claim, alice: User) -> None:
    claim_withdraw(claim=claim, by=alice, note="Filed by mistake.")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WITHDRAWN
    assert steps(claim)[-1] == (ClaimStatus.SUBMITTED, ClaimStatus.WITHDRAWN, "withdraw")


def test_it_publishes_an_approved_claim_on_the_notice_day(
    investigating: Claim, approve: Callable[..., Claim], plan: Plan
) -> None:
    approve(investigating)
    notices_publish(plan=plan, on=NOTICE_DAY)
    investigating.refresh_from_db()
    assert investigating.status == ClaimStatus.IN_NOTICE
    assert steps(investigating)[-1] == (ClaimStatus.APPROVED, ClaimStatus.IN_NOTICE, "publish")


def test_an_objection_sends_a_published_claim_back_to_investigation(
    investigating: Claim,
    approve: Callable[..., Claim],
    plan: Plan,
    enrol: Callable[..., Membership],
    charlie: User,
) -> None:
    enrol(account=charlie, birth_date=date(1985, 1, 1), on=date(2025, 2, 1))
    approve(investigating)
    notices_publish(plan=plan, on=NOTICE_DAY)
    objection_file(claim=investigating, by=charlie, reason="I know her; she was well last week.", on=NOTICE_DAY)
    investigating.refresh_from_db()
    assert investigating.status == ClaimStatus.INVESTIGATING
    assert steps(investigating)[-1] == (ClaimStatus.IN_NOTICE, ClaimStatus.INVESTIGATING, "objection")


def test_it_refuses_to_approve_a_claim_nobody_has_investigated(claim: Claim, admin_user: User) -> None:
    before = ClaimTransition.objects.count()
    with pytest.raises(InvalidTransition):
        claim_approve(claim=claim, by=admin_user)
    claim.refresh_from_db()
    assert (claim.status, claim.approval_proposed_by, ClaimTransition.objects.count()) == (
        ClaimStatus.SUBMITTED,
        None,
        before,
    )


def test_an_illegal_transition_is_not_reported_as_another_administrators_decision(
    claim: Claim, admin_user: User
) -> None:
    with pytest.raises(DomainError) as refused:
        claim_approve(claim=claim, by=admin_user)
    assert not isinstance(refused.value, ConcurrentDecision)


def test_it_refuses_to_withdraw_an_approved_claim(
    investigating: Claim, approve: Callable[..., Claim], alice: User
) -> None:
    approved = approve(investigating)
    before = ClaimTransition.objects.count()
    with pytest.raises(InvalidTransition):
        claim_withdraw(claim=approved, by=alice)
    approved.refresh_from_db()
    assert (approved.status, ClaimTransition.objects.count()) == (ClaimStatus.APPROVED, before)


def test_it_refuses_to_reject_a_paid_claim(
    investigating: Claim, approve: Callable[..., Claim], plan: Plan, admin_user: User
) -> None:
    approve(investigating)
    notices_publish(plan=plan, on=NOTICE_DAY)
    Claim.objects.filter(pk=investigating.pk).update(status=ClaimStatus.PAID)  # settlement's part
    paid = Claim.objects.get(pk=investigating.pk)
    before = ClaimTransition.objects.count()
    with pytest.raises(InvalidTransition):
        claim_reject(claim=paid, by=admin_user, reason="fraud", note="Forged report.")
    paid.refresh_from_db()
    assert (paid.status, paid.rejection_reason, ClaimTransition.objects.count()) == (ClaimStatus.PAID, "", before)


def test_it_records_who_when_from_to_reason_and_note(investigating: Claim, admin_user: User) -> None:
    with on_day(DECISION_DAY, hour=15):
        claim_reject(claim=investigating, by=admin_user, reason="other", note="The hospital does not exist.")
    step = investigating.transitions.get(action="reject")
    assert (step.by, step.at, step.from_status, step.to_status, step.reason, step.note) == (
        admin_user,
        beijing(DECISION_DAY, hour=15),
        ClaimStatus.INVESTIGATING,
        ClaimStatus.REJECTED,
        "other",
        "The hospital does not exist.",
    )


def test_a_recorded_transition_cannot_be_edited(claim: Claim) -> None:
    step = claim.transitions.get()
    step.note = "rewritten"
    with pytest.raises(ValueError, match="never edited"):
        step.save()
    step.refresh_from_db()
    assert step.note == ""


def test_a_recorded_transition_cannot_be_deleted(claim: Claim) -> None:
    step = claim.transitions.get()
    with pytest.raises(ValueError, match="never deleted"):
        step.delete()
    assert ClaimTransition.objects.filter(pk=step.pk).exists()


def test_the_claim_passed_to_a_decision_is_brought_up_to_date(claim: Claim, admin_user: User) -> None:
    claim_start_investigation(claim=claim, by=admin_user)
    assert claim.status == ClaimStatus.INVESTIGATING


def test_a_decision_on_a_claim_that_changed_since_it_was_read_is_concurrent(
    claim: Claim, admin_user: User, second_admin: User
) -> None:
    seen_by_second = Claim.objects.get(pk=claim.pk)  # both pages show "submitted"
    claim_start_investigation(claim=claim, by=admin_user)
    with pytest.raises(ConcurrentDecision):
        claim_withdraw(claim=seen_by_second, by=second_admin)
    assert steps(claim)[-1][2] == "start_investigation"


def test_a_decision_expecting_another_status_is_concurrent(investigating: Claim, admin_user: User) -> None:
    before = ClaimTransition.objects.count()
    with pytest.raises(ConcurrentDecision):
        claim_start_investigation(claim=investigating, by=admin_user, expected_status=ClaimStatus.SUBMITTED)
    assert ClaimTransition.objects.count() == before
