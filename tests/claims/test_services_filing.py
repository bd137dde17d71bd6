"""Filing a claim: who may file, for what, and one claim in progress per person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from claims.errors import ClaimNotAllowed
from claims.models import Claim, ClaimStatus, ClaimTransition, CoveredCondition
from claims.services import claim_file, claim_reject, claim_withdraw
from members.errors import DomainError
from members.models import Membership, MembershipStatus, Plan, User
from members.services import membership_enrol, membership_exit
from tests.claims.conftest import DIAGNOSIS_DAY, FILE_DAY, JOIN_DAY

pytestmark = pytest.mark.django_db


def test_it_files_a_claim_as_submitted(claim: Claim, member: Membership, alice: User) -> None:
    claim.refresh_from_db()
    assert (claim.status, claim.member, claim.filed_by, claim.diagnosed_on) == (
        ClaimStatus.SUBMITTED,
        member,
        alice,
        DIAGNOSIS_DAY,
    )


def test_it_records_the_filing_as_the_first_step_of_the_timeline(claim: Claim, alice: User) -> None:
    steps = list(claim.transitions.values_list("from_status", "to_status", "action", "by"))
    assert steps == [("", ClaimStatus.SUBMITTED, "file", alice.pk)]


def test_it_refuses_a_diagnosis_date_in_the_future(member: Membership, file_claim: Callable[..., Claim]) -> None:
    with pytest.raises(DomainError) as refused:
        file_claim(member, diagnosed_on=date(2025, 6, 4), on=FILE_DAY)
    assert refused.value.field == "diagnosed_on"
    assert not Claim.objects.exists()


def test_it_refuses_a_condition_of_another_plan(
    member: Membership, file_claim: Callable[..., Claim], plan: Plan
) -> None:
    other_plan = Plan.objects.create(code="other", name="Other plan")
    foreign = CoveredCondition.objects.create(plan=other_plan, code="X1", name_zh="其他", name_en="Other")
    with pytest.raises(DomainError) as refused:
        file_claim(member, condition=foreign)
    assert refused.value.field == "condition"


def test_it_refuses_a_member_still_pending_review(
    enrol: Callable[..., Membership], file_claim: Callable[..., Claim]
) -> None:
    pending = enrol(on=JOIN_DAY, attested_score=None)  # no credit record: an admin must decide first
    assert pending.status == MembershipStatus.PENDING_REVIEW
    with pytest.raises(ClaimNotAllowed):
        file_claim(pending)


def test_it_refuses_a_second_claim_while_the_first_is_in_progress(
    claim: Claim, member: Membership, file_claim: Callable[..., Claim]
) -> None:
    with pytest.raises(ClaimNotAllowed):
        file_claim(member)
    assert Claim.objects.count() == 1


def test_it_refuses_a_second_claim_for_the_same_person_through_another_membership(
    plan: Plan,
    no_answers: dict[str, bool],
    make_id: Callable[..., str],
    file_claim: Callable[..., Claim],
    alice: User,
) -> None:
    number = make_id(date(1990, 5, 17), serial=41)

    def join(on: date) -> Membership:
        return membership_enrol(
            plan=plan,
            name="张三",
            id_number=number,
            health_answers=no_answers,
            account=alice,
            attested_score=700,
            on=on,
        )

    first = join(JOIN_DAY)
    file_claim(first)
    membership_exit(membership=first, by=alice, on=date(2025, 6, 4))
    rejoined = join(date(2025, 6, 4))
    with pytest.raises(ClaimNotAllowed):
        file_claim(rejoined, on=date(2025, 6, 5))


def test_a_withdrawn_claim_does_not_block_a_new_one(
    claim: Claim, member: Membership, file_claim: Callable[..., Claim], alice: User
) -> None:
    claim_withdraw(claim=claim, by=alice)
    assert file_claim(member).status == ClaimStatus.SUBMITTED


def test_a_rejected_claim_does_not_block_a_new_one(
    claim: Claim, member: Membership, file_claim: Callable[..., Claim], admin_user: User
) -> None:
    claim_reject(claim=claim, by=admin_user, reason="not_covered", note="Not one of the 28 conditions.")
    assert file_claim(member).status == ClaimStatus.SUBMITTED


def test_an_appealed_claim_blocks_a_new_one(
    claim: Claim, member: Membership, file_claim: Callable[..., Claim], admin_user: User
) -> None:
    claim_reject(claim=claim, by=admin_user, reason="not_covered", note="Not one of the 28 conditions.")
    Claim.objects.filter(pk=claim.pk).update(status=ClaimStatus.APPEALED)  # the jury's part
    with pytest.raises(ClaimNotAllowed):
        file_claim(member)


def test_it_refuses_a_hospital_name_longer_than_its_column(member: Membership, condition: CoveredCondition) -> None:
    with pytest.raises(DomainError) as refused:
        claim_file(
            member=member,
            by=None,
            kind="illness",
            condition=condition,
            diagnosed_on=DIAGNOSIS_DAY,
            hospital="医" * 201,
            description="An illness.",
            on=FILE_DAY,
        )
    assert refused.value.field == "hospital"


def test_a_payer_files_for_a_dependant(
    member: Membership, enrol: Callable[..., Membership], file_claim: Callable[..., Claim], alice: User
) -> None:
    child = enrol(birth_date=date(2015, 3, 3), payer=member, relationship="child", on=JOIN_DAY)
    claim = file_claim(child, by=alice)
    assert (claim.member, claim.filed_by) == (child, alice)
    assert ClaimTransition.objects.filter(claim=claim, action="file").count() == 1
