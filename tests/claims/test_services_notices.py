"""Notice days: on the 7th and 21st the approved claims not yet published go into public notice together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from claims.models import Claim, ClaimStatus, Notice
from claims.services import notices_publish
from members.models import Membership, Plan
from tests.claims.conftest import JOIN_DAY, on_day

pytestmark = pytest.mark.django_db

FIRST_NOTICE = date(2025, 6, 7)
SECOND_NOTICE = date(2025, 6, 21)


@pytest.fixture
def approved(claim: Claim, approve: Callable[..., Claim]) -> Claim:
    """Alice's claim, approved on 5 June."""
    return approve(claim)


def publish(plan: Plan, on: date, hour: int = 0) -> Notice | None:
    with on_day(on, hour=hour):
        return notices_publish(plan=plan, on=on)


def test_it_publishes_nothing_on_a_day_that_is_not_a_notice_day(approved: Claim, plan: Plan) -> None:
    assert publish(plan, date(2025, 6, 8)) is None
    assert publish(plan, date(2025, 6, 14)) is None
    approved.refresh_from_db()
    assert (approved.status, Notice.objects.count()) == (ClaimStatus.APPROVED, 0)


def test_it_puts_an_approved_claim_into_notice_on_the_7th(approved: Claim, plan: Plan) -> None:
    notice = publish(plan, FIRST_NOTICE)
    approved.refresh_from_db()
    assert (approved.status, approved.notice) == (ClaimStatus.IN_NOTICE, notice)


def test_the_notice_of_the_7th_is_charged_on_the_14th(approved: Claim, plan: Plan) -> None:
    notice = publish(plan, FIRST_NOTICE)
    assert notice is not None
    assert (notice.notice_date, notice.charge_date) == (FIRST_NOTICE, date(2025, 6, 14))


def test_the_notice_of_the_21st_is_charged_on_the_28th(approved: Claim, plan: Plan) -> None:
    notice = publish(plan, SECOND_NOTICE)
    assert notice is not None
    assert (notice.notice_date, notice.charge_date) == (SECOND_NOTICE, date(2025, 6, 28))


def test_it_publishes_every_approved_claim_together(
    approved: Claim,
    plan: Plan,
    enrol: Callable[..., Membership],
    file_claim: Callable[..., Claim],
    approve: Callable[..., Claim],
) -> None:
    other = approve(file_claim(enrol(birth_date=date(1970, 2, 2), on=JOIN_DAY)))
    notice = publish(plan, FIRST_NOTICE)
    assert notice is not None
    assert set(notice.claims.values_list("pk", flat=True)) == {approved.pk, other.pk}


def test_it_leaves_claims_that_are_not_approved_alone(investigating: Claim, plan: Plan) -> None:
    publish(plan, FIRST_NOTICE)
    investigating.refresh_from_db()
    assert (investigating.status, investigating.notice) == (ClaimStatus.INVESTIGATING, None)


def test_publishing_twice_gives_the_same_notice_and_one_transition(approved: Claim, plan: Plan) -> None:
    first = publish(plan, FIRST_NOTICE)
    again = publish(plan, FIRST_NOTICE, hour=9)
    assert first == again
    assert Notice.objects.count() == 1
    assert approved.transitions.filter(action="publish").count() == 1


def test_a_claim_approved_on_the_notice_day_waits_for_the_next_notice(
    approved: Claim,
    plan: Plan,
    enrol: Callable[..., Membership],
    file_claim: Callable[..., Claim],
    approve: Callable[..., Claim],
) -> None:
    first = publish(plan, FIRST_NOTICE)
    late = approve(file_claim(enrol(birth_date=date(1970, 2, 2), on=JOIN_DAY)), on=FIRST_NOTICE)
    publish(plan, FIRST_NOTICE, hour=18)  # a second run the same day must not grow a published batch
    late.refresh_from_db()
    assert (late.status, late.notice) == (ClaimStatus.APPROVED, None)
    second = publish(plan, SECOND_NOTICE)
    late.refresh_from_db()
    assert (late.status, late.notice) == (ClaimStatus.IN_NOTICE, second)
    assert list(Claim.objects.filter(notice=first)) == [approved]


def test_a_claim_approved_after_a_notice_goes_into_the_next_one(
    approved: Claim,
    plan: Plan,
    enrol: Callable[..., Membership],
    file_claim: Callable[..., Claim],
    approve: Callable[..., Claim],
) -> None:
    publish(plan, FIRST_NOTICE)
    later = approve(file_claim(enrol(birth_date=date(1970, 2, 2), on=JOIN_DAY)), on=date(2025, 6, 10))
    second = publish(plan, SECOND_NOTICE)
    later.refresh_from_db()
    assert (later.status, later.notice) == (ClaimStatus.IN_NOTICE, second)
