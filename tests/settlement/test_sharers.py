"""Who shares a period: the members covered at 00:00 (Beijing) on the notice day, read from their dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from members.models import Membership, MembershipStatus, Plan, User
from members.services import membership_change_status, membership_exit
from settlement.models import Charge, Period
from tests.settlement.conftest import charges_of, period_with_claims, settle_now

pytestmark = pytest.mark.django_db

NOTICE_DAY = date(2025, 6, 7)
DAY_BEFORE = date(2025, 6, 6)
DAY_AFTER = date(2025, 6, 8)


def settled(plan: Plan) -> Period:
    return settle_now(period_with_claims(plan, payouts=[30_000_000], notice_date=NOTICE_DAY))


def sharer_ids(plan: Plan) -> set[int]:
    return set(charges_of(settled(plan)))


def test_a_member_who_joined_the_day_before_the_notice_day_shares(plan: Plan, enrol: Callable[..., Membership]) -> None:
    member = enrol(on=DAY_BEFORE)
    assert sharer_ids(plan) == {member.pk}


def test_a_member_who_joined_on_the_notice_day_does_not_share(plan: Plan, enrol: Callable[..., Membership]) -> None:
    before = enrol(on=DAY_BEFORE)
    enrol(on=NOTICE_DAY)
    assert sharer_ids(plan) == {before.pk}


def test_a_member_in_the_waiting_period_shares(plan: Plan, enrol: Callable[..., Membership]) -> None:
    member = enrol(on=date(2025, 5, 1))
    assert member.status == MembershipStatus.WAITING
    assert sharer_ids(plan) == {member.pk}


def test_a_member_who_exited_the_day_before_the_notice_day_does_not_share(
    plan: Plan, enrol: Callable[..., Membership]
) -> None:
    stays = enrol(on=date(2025, 1, 1))
    leaves = enrol(on=date(2025, 1, 1))
    membership_exit(membership=leaves, by=None, on=DAY_BEFORE)
    assert sharer_ids(plan) == {stays.pk}


@pytest.mark.parametrize("exit_day", [NOTICE_DAY, DAY_AFTER, date(2025, 6, 14)])
def test_a_member_who_exits_on_or_after_the_notice_day_still_owes_the_period(
    plan: Plan, enrol: Callable[..., Membership], exit_day: date
) -> None:
    leaves = enrol(on=date(2025, 1, 1))
    membership_exit(membership=leaves, by=None, on=exit_day)
    assert sharer_ids(plan) == {leaves.pk}


def test_a_member_pending_review_does_not_share(plan: Plan, enrol: Callable[..., Membership]) -> None:
    covered = enrol(on=date(2025, 1, 1))
    pending = enrol(on=date(2025, 1, 1), attested_score=None)
    assert pending.status == MembershipStatus.PENDING_REVIEW
    assert sharer_ids(plan) == {covered.pk}


def test_a_member_refused_at_review_after_the_notice_day_never_shares(
    plan: Plan, enrol: Callable[..., Membership], admin_user: User
) -> None:
    covered = enrol(on=date(2025, 1, 1))
    pending = enrol(on=date(2025, 1, 1), attested_score=None)
    membership_change_status(
        membership=pending, status=MembershipStatus.EXITED, reason="no credit", by=admin_user, on=DAY_AFTER
    )
    assert sharer_ids(plan) == {covered.pk}


def test_a_member_approved_at_review_after_the_notice_day_shares_from_the_next_period(
    plan: Plan, enrol: Callable[..., Membership], admin_user: User
) -> None:
    covered = enrol(on=date(2025, 1, 1))
    pending = enrol(on=date(2025, 1, 1), attested_score=None)
    membership_change_status(
        membership=pending, status=MembershipStatus.WAITING, reason="checked", by=admin_user, on=DAY_AFTER
    )
    assert sharer_ids(plan) == {covered.pk}


def test_a_member_of_another_plan_does_not_share(plan: Plan, enrol: Callable[..., Membership]) -> None:
    member = enrol(on=date(2025, 1, 1))
    other = Plan.objects.create(code="other", name="another plan")
    Membership.objects.filter(pk=member.pk).update(plan=other)
    mine = enrol(on=date(2025, 1, 1))
    assert sharer_ids(plan) == {mine.pk}


def test_the_dependants_charges_go_to_their_payer(plan: Plan, enrol: Callable[..., Membership]) -> None:
    payer = enrol(on=date(2025, 1, 1))
    child = enrol(on=date(2025, 1, 1), payer=payer, relationship="child", birth_date=date(2015, 3, 3))
    spouse = enrol(on=date(2025, 1, 1), payer=payer, relationship="spouse", birth_date=date(1991, 3, 3))
    period = settled(plan)
    payers = dict(Charge.objects.filter(period=period).values_list("member_id", "payer_id"))
    assert payers == {payer.pk: payer.pk, child.pk: payer.pk, spouse.pk: payer.pk}


def test_the_sharers_count_is_fixed_on_the_period(plan: Plan, enrol: Callable[..., Membership]) -> None:
    for _ in range(3):
        enrol(on=date(2025, 1, 1))
    enrol(on=NOTICE_DAY)
    assert settled(plan).sharers == 3
