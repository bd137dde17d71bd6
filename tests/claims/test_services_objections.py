"""Objections: any member may object once to a published claim during its notice window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from claims.errors import ObjectionNotAllowed
from claims.models import Claim, ClaimStatus, Notice
from claims.services import notices_publish, objection_file
from members.errors import DomainError
from members.models import Membership, Plan, User
from members.services import membership_exit
from tests.claims.conftest import on_day

pytestmark = pytest.mark.django_db

NOTICE_DAY = date(2025, 6, 7)
CHARGE_DAY = date(2025, 6, 14)
NEXT_NOTICE_DAY = date(2025, 6, 21)
REASON = "I saw him at work yesterday, in good health."


@pytest.fixture
def notice(claim: Claim, approve: Callable[..., Claim], plan: Plan) -> Notice:
    """Alice's claim, approved on 5 June and published on 7 June."""
    approve(claim)
    with on_day(NOTICE_DAY, hour=0):
        published = notices_publish(plan=plan, on=NOTICE_DAY)
    assert published is not None
    return published


@pytest.fixture
def published(notice: Notice, claim: Claim) -> Claim:
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_NOTICE
    return claim


@pytest.fixture
def objector(enrol: Callable[..., Membership], charlie: User) -> User:
    """Charlie, a member of the plan with a household of his own."""
    enrol(account=charlie, birth_date=date(1985, 1, 1), on=date(2025, 2, 1))
    return charlie


def test_an_objection_sends_the_claim_back_to_investigation(published: Claim, objector: User) -> None:
    objection_file(claim=published, by=objector, reason=REASON, on=NOTICE_DAY)
    published.refresh_from_db()
    assert published.status == ClaimStatus.INVESTIGATING


def test_an_objection_takes_the_claim_out_of_the_batch(published: Claim, objector: User, notice: Notice) -> None:
    objection_file(claim=published, by=objector, reason=REASON, on=NOTICE_DAY)
    published.refresh_from_db()
    assert published.notice is None
    assert not notice.claims.exists()


def test_the_objection_keeps_its_notice_and_reason(published: Claim, objector: User, notice: Notice) -> None:
    objection = objection_file(claim=published, by=objector, reason=f"  {REASON} ", on=NOTICE_DAY)
    assert (objection.notice, objection.by, objection.reason) == (notice, objector, REASON)
    assert list(published.objections.all()) == [objection]


def test_the_objection_is_on_the_claims_timeline(published: Claim, objector: User) -> None:
    objection_file(claim=published, by=objector, reason=REASON, on=NOTICE_DAY)
    step = published.transitions.get(action="objection")
    assert (step.by, step.from_status, step.to_status, step.note) == (
        objector,
        ClaimStatus.IN_NOTICE,
        ClaimStatus.INVESTIGATING,
        REASON,
    )


def test_an_objection_clears_a_proposal_to_approve(published: Claim, objector: User) -> None:
    objection_file(claim=published, by=objector, reason=REASON, on=NOTICE_DAY)
    published.refresh_from_db()
    assert published.approval_proposed_by is None


def test_a_member_objects_to_a_claim_only_once(
    published: Claim, objector: User, approve: Callable[..., Claim], plan: Plan
) -> None:
    objection_file(claim=published, by=objector, reason=REASON, on=NOTICE_DAY)
    published.refresh_from_db()
    approve(published, on=date(2025, 6, 12))  # checked again and approved again
    with on_day(NEXT_NOTICE_DAY, hour=0):
        notices_publish(plan=plan, on=NEXT_NOTICE_DAY)
    with pytest.raises(ObjectionNotAllowed):
        objection_file(claim=published, by=objector, reason=REASON, on=NEXT_NOTICE_DAY)
    published.refresh_from_db()
    assert (published.status, published.objections.count()) == (ClaimStatus.IN_NOTICE, 1)


def test_a_second_objection_to_a_claim_already_back_in_investigation_is_refused(
    published: Claim, objector: User
) -> None:
    objection_file(claim=published, by=objector, reason=REASON, on=NOTICE_DAY)
    with pytest.raises(ObjectionNotAllowed):
        objection_file(claim=published, by=objector, reason="Again.", on=NOTICE_DAY)
    assert published.objections.count() == 1


def test_a_member_objects_on_the_day_before_the_charge_day(published: Claim, objector: User) -> None:
    objection_file(claim=published, by=objector, reason=REASON, on=date(2025, 6, 13))
    published.refresh_from_db()
    assert published.status == ClaimStatus.INVESTIGATING


def test_it_refuses_an_objection_on_the_charge_day(published: Claim, objector: User) -> None:
    with pytest.raises(ObjectionNotAllowed):
        objection_file(claim=published, by=objector, reason=REASON, on=CHARGE_DAY)
    published.refresh_from_db()
    assert (published.status, published.objections.count()) == (ClaimStatus.IN_NOTICE, 0)


def test_it_refuses_an_objection_from_someone_who_is_not_a_member(published: Claim, charlie: User) -> None:
    with pytest.raises(ObjectionNotAllowed):
        objection_file(claim=published, by=charlie, reason=REASON, on=NOTICE_DAY)
    assert published.objections.count() == 0


def test_it_refuses_an_objection_from_a_member_who_has_left(
    published: Claim, enrol: Callable[..., Membership], charlie: User
) -> None:
    former = enrol(account=charlie, birth_date=date(1985, 1, 1), on=date(2025, 2, 1))
    membership_exit(membership=former, by=charlie, on=date(2025, 6, 1))
    with pytest.raises(ObjectionNotAllowed):
        objection_file(claim=published, by=charlie, reason=REASON, on=NOTICE_DAY)


def test_it_refuses_an_objection_from_a_member_of_another_plan(
    published: Claim, no_answers: dict[str, bool], make_id: Callable[..., str], charlie: User
) -> None:
    from members.services import membership_enrol

    other = Plan.objects.create(code="other", name="Other plan")
    membership_enrol(
        plan=other,
        name="李四",
        id_number=make_id(date(1985, 1, 1), serial=71),
        health_answers={},
        account=charlie,
        attested_score=700,
        on=date(2025, 2, 1),
    )
    with pytest.raises(ObjectionNotAllowed):
        objection_file(claim=published, by=charlie, reason=REASON, on=NOTICE_DAY)


def test_it_refuses_an_objection_without_a_reason(published: Claim, objector: User) -> None:
    with pytest.raises(DomainError) as refused:
        objection_file(claim=published, by=objector, reason="   ", on=NOTICE_DAY)
    assert refused.value.field == "reason"
    assert published.objections.count() == 0


def test_it_refuses_an_objection_longer_than_2000_characters(published: Claim, objector: User) -> None:
    with pytest.raises(DomainError) as refused:
        objection_file(claim=published, by=objector, reason="x" * 2001, on=NOTICE_DAY)
    assert refused.value.field == "reason"


def test_it_refuses_an_objection_to_a_claim_not_in_notice(
    claim: Claim, approve: Callable[..., Claim], objector: User
) -> None:
    approved = approve(claim)
    with pytest.raises(ObjectionNotAllowed):
        objection_file(claim=approved, by=objector, reason=REASON, on=NOTICE_DAY)
    approved.refresh_from_db()
    assert approved.status == ClaimStatus.APPROVED
