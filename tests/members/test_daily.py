"""Status over time: the daily job (waiting → active, age-out) and administrators' status changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
import time_machine
from django.utils import translation

from members import tasks
from members.errors import AgeOutOfRange, DomainError, HasDependants, InvalidTransition
from members.models import CreditSource, Membership, MembershipStatus, Plan, Relationship, User
from members.services import DailyResult, membership_change_status, memberships_daily

JOIN_DAY = date(2026, 6, 1)
LAST_WAITING_DAY = date(2026, 8, 30)  # 90 days from the day after joining
BIRTH_60 = date(1966, 9, 10)  # joins at 59 on JOIN_DAY; 60th birthday 2026-09-10
BIRTHDAY_60 = date(2026, 9, 10)


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """Messages are matched in English; the site's default language is Chinese."""
    with translation.override("en"):
        yield


def status_of(membership: Membership) -> str:
    membership.refresh_from_db()
    return membership.status


@pytest.fixture
def member(enrol: Callable[..., Membership]) -> Membership:
    return enrol(on=JOIN_DAY)


@pytest.fixture
def elder(enrol: Callable[..., Membership]) -> Membership:
    return enrol(birth_date=BIRTH_60, on=JOIN_DAY)


# --- waiting → active ------------------------------------------------------------------------------


def test_it_keeps_a_member_waiting_on_the_last_day_of_the_waiting_period(member: Membership) -> None:
    assert member.waiting_period_ends == LAST_WAITING_DAY
    memberships_daily(on=LAST_WAITING_DAY)
    assert status_of(member) == MembershipStatus.WAITING


def test_it_activates_a_member_the_day_after_the_waiting_period(member: Membership) -> None:
    result = memberships_daily(on=LAST_WAITING_DAY + timedelta(days=1))
    assert status_of(member) == MembershipStatus.ACTIVE
    assert result == DailyResult(activated=1, aged_out=0)


def test_it_activates_a_member_the_job_missed_on_the_day(member: Membership) -> None:
    memberships_daily(on=LAST_WAITING_DAY + timedelta(days=5))
    assert status_of(member) == MembershipStatus.ACTIVE


def test_it_leaves_a_pending_review_member_alone_after_the_waiting_period(enrol: Callable[..., Membership]) -> None:
    pending = enrol(attested_score=None, on=JOIN_DAY)
    memberships_daily(on=LAST_WAITING_DAY + timedelta(days=1))
    assert status_of(pending) == MembershipStatus.PENDING_REVIEW


def test_it_records_the_activation_in_the_history(member: Membership) -> None:
    memberships_daily(on=LAST_WAITING_DAY + timedelta(days=1))
    last = member.history.latest()  # type: ignore[attr-defined]
    assert (last.status, last.history_change_reason) == (MembershipStatus.ACTIVE, "waiting_period_over")


# --- age-out ---------------------------------------------------------------------------------------


def test_it_keeps_a_member_covered_the_day_before_the_60th_birthday(elder: Membership) -> None:
    memberships_daily(on=BIRTHDAY_60 - timedelta(days=1))
    assert status_of(elder) == MembershipStatus.ACTIVE


def test_it_exits_a_member_on_the_60th_birthday(elder: Membership) -> None:
    result = memberships_daily(on=BIRTHDAY_60)
    elder.refresh_from_db()
    assert (elder.status, elder.status_reason, elder.ended_on) == (MembershipStatus.EXITED, "age_out", BIRTHDAY_60)
    assert result.aged_out == 1


def test_it_ends_coverage_on_the_birthday_when_the_job_runs_late(elder: Membership) -> None:
    memberships_daily(on=BIRTHDAY_60 + timedelta(days=3))
    elder.refresh_from_db()
    assert (elder.status, elder.ended_on) == (MembershipStatus.EXITED, BIRTHDAY_60)


def test_it_ages_out_a_member_still_in_the_waiting_period(enrol: Callable[..., Membership]) -> None:
    late_joiner = enrol(birth_date=date(1966, 7, 1), on=JOIN_DAY)
    memberships_daily(on=date(2026, 7, 1))
    assert status_of(late_joiner) == MembershipStatus.EXITED


def test_it_ages_out_a_member_pending_review(enrol: Callable[..., Membership]) -> None:
    pending = enrol(birth_date=date(1966, 7, 1), attested_score=None, on=JOIN_DAY)
    memberships_daily(on=date(2026, 7, 1))
    assert status_of(pending) == MembershipStatus.EXITED


def test_it_ages_out_a_payer_even_with_dependants(enrol: Callable[..., Membership], elder: Membership) -> None:
    # Coverage ends on the 60th birthday whatever the household: the payer still pays for the family.
    child = enrol(birth_date=date(2000, 1, 1), payer=elder, relationship=Relationship.CHILD, on=JOIN_DAY)
    memberships_daily(on=BIRTHDAY_60)
    assert (status_of(elder), status_of(child)) == (MembershipStatus.EXITED, MembershipStatus.ACTIVE)


def test_it_ages_out_a_29_february_member_on_29_february_of_a_leap_year(enrol: Callable[..., Membership]) -> None:
    leapling = enrol(birth_date=date(1964, 2, 29), on=date(2023, 6, 1))
    memberships_daily(on=date(2024, 2, 28))
    assert status_of(leapling) == MembershipStatus.ACTIVE
    memberships_daily(on=date(2024, 2, 29))
    assert status_of(leapling) == MembershipStatus.EXITED


def test_it_does_not_age_out_a_1_march_birthday_on_29_february(plan: Plan, enrol: Callable[..., Membership]) -> None:
    # With an age-out at 65, 29 February 2028 looks back to 1963, a common year.
    plan.max_entry_age_years, plan.age_out_years = 64, 65
    plan.save()
    member = enrol(birth_date=date(1963, 3, 1), on=date(2027, 6, 1))
    memberships_daily(on=date(2028, 2, 29))
    assert status_of(member) == MembershipStatus.ACTIVE
    memberships_daily(on=date(2028, 3, 1))
    assert status_of(member) == MembershipStatus.EXITED


def test_it_records_the_age_out_with_its_reason_in_the_history(elder: Membership) -> None:
    memberships_daily(on=BIRTHDAY_60)
    last = elder.history.latest()  # type: ignore[attr-defined]
    assert (last.status, last.status_reason, last.history_change_reason) == (
        MembershipStatus.EXITED,
        "age_out",
        "age_out",
    )


def test_it_changes_nothing_more_when_run_twice_on_a_day(member: Membership, elder: Membership) -> None:
    first = memberships_daily(on=BIRTHDAY_60)
    history_rows = Membership.history.count()  # type: ignore[attr-defined]
    second = memberships_daily(on=BIRTHDAY_60)
    assert (first, second) == (DailyResult(activated=2, aged_out=1), DailyResult(activated=0, aged_out=0))
    assert Membership.history.count() == history_rows  # type: ignore[attr-defined]


def test_it_works_through_more_members_than_one_chunk(enrol: Callable[..., Membership]) -> None:
    members = [enrol(on=JOIN_DAY) for _ in range(5)]
    result = memberships_daily(on=LAST_WAITING_DAY + timedelta(days=1), chunk=2)
    assert result.activated == 5
    assert {status_of(m) for m in members} == {MembershipStatus.ACTIVE}


# --- the Celery task -------------------------------------------------------------------------------


@time_machine.travel(date(2026, 8, 31), tick=False)
def test_it_runs_the_task_and_returns_the_counts(member: Membership) -> None:
    result = tasks.memberships_daily.apply().get()
    assert result == {"activated": 1, "aged_out": 0}
    assert status_of(member) == MembershipStatus.ACTIVE


@time_machine.travel(date(2026, 8, 30), tick=False)
def test_it_runs_the_task_for_todays_beijing_date(member: Membership) -> None:
    assert tasks.memberships_daily() == {"activated": 0, "aged_out": 0}


# --- administrators' status changes ----------------------------------------------------------------


@pytest.fixture
def pending(enrol: Callable[..., Membership]) -> Membership:
    return enrol(attested_score=None, on=JOIN_DAY)


def test_it_approves_a_pending_member_into_the_waiting_period(pending: Membership, admin_user: User) -> None:
    approved = membership_change_status(
        membership=pending, status=MembershipStatus.WAITING, reason="checked by phone", by=admin_user, on=JOIN_DAY
    )
    assert (approved.status, approved.status_reason, approved.credit_source) == (
        MembershipStatus.WAITING,
        "checked by phone",
        CreditSource.ADMIN,
    )


def test_it_starts_the_waiting_period_on_the_day_of_approval(pending: Membership, admin_user: User) -> None:
    decision_day = date(2026, 6, 20)
    membership_change_status(
        membership=pending, status=MembershipStatus.WAITING, reason="ok", by=admin_user, on=decision_day
    )
    pending.refresh_from_db()
    assert (pending.joined_on, pending.waiting_period_ends) == (decision_day, decision_day + timedelta(days=90))


def test_it_refuses_to_approve_someone_who_turned_60_during_review(
    enrol: Callable[..., Membership], admin_user: User
) -> None:
    pending = enrol(birth_date=date(1966, 6, 15), attested_score=None, on=JOIN_DAY)
    with pytest.raises(AgeOutOfRange):
        membership_change_status(
            membership=pending, status=MembershipStatus.WAITING, reason="ok", by=admin_user, on=date(2026, 6, 15)
        )


def test_it_rejects_a_pending_member_by_exiting_them(pending: Membership, admin_user: User) -> None:
    rejected = membership_change_status(
        membership=pending, status=MembershipStatus.EXITED, reason="no credit", by=admin_user, on=JOIN_DAY
    )
    assert (rejected.status, rejected.ended_on) == (MembershipStatus.EXITED, JOIN_DAY)


@pytest.mark.parametrize("target", [MembershipStatus.EXITED, MembershipStatus.REMOVED, MembershipStatus.EXPELLED])
def test_it_allows_ending_a_covered_membership(member: Membership, admin_user: User, target: str) -> None:
    changed = membership_change_status(membership=member, status=target, reason="r", by=admin_user, on=JOIN_DAY)
    assert (changed.status, changed.ended_on) == (target, JOIN_DAY)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (MembershipStatus.WAITING, MembershipStatus.ACTIVE),  # only the waiting period makes a member active
        (MembershipStatus.ACTIVE, MembershipStatus.WAITING),
        (MembershipStatus.WAITING, MembershipStatus.PENDING_REVIEW),
        (MembershipStatus.WAITING, MembershipStatus.PAID_OUT),  # only a paid claim does that
        (MembershipStatus.EXITED, MembershipStatus.WAITING),  # a leaver rejoins with a new membership
        (MembershipStatus.EXITED, MembershipStatus.ACTIVE),
        (MembershipStatus.REMOVED, MembershipStatus.ACTIVE),
        (MembershipStatus.PAID_OUT, MembershipStatus.ACTIVE),
        (MembershipStatus.EXPELLED, MembershipStatus.WAITING),
    ],
)
def test_it_refuses_a_transition_outside_the_rules(
    member: Membership, admin_user: User, start: str, target: str
) -> None:
    Membership.objects.filter(pk=member.pk).update(status=start)
    with pytest.raises(InvalidTransition) as caught:
        membership_change_status(membership=member, status=target, reason="r", by=admin_user, on=JOIN_DAY)
    assert caught.value.code == "invalid_transition"
    assert status_of(member) == start


def test_it_needs_a_reason_for_a_status_change(member: Membership, admin_user: User) -> None:
    with pytest.raises(DomainError) as caught:
        membership_change_status(membership=member, status=MembershipStatus.EXITED, reason="  ", by=admin_user)
    assert caught.value.field == "reason"
    assert status_of(member) == MembershipStatus.WAITING


def test_it_refuses_a_reason_longer_than_the_history_keeps(member: Membership, admin_user: User) -> None:
    with pytest.raises(DomainError) as caught:
        membership_change_status(membership=member, status=MembershipStatus.EXITED, reason="x" * 101, by=admin_user)
    assert caught.value.field == "reason"


def test_it_keeps_a_reason_of_the_longest_length_allowed(member: Membership, admin_user: User) -> None:
    reason = "x" * 100
    membership_change_status(membership=member, status=MembershipStatus.EXITED, reason=reason, by=admin_user)
    assert member.history.latest().history_change_reason == reason  # type: ignore[attr-defined]


def test_it_refuses_a_status_that_does_not_exist(member: Membership, admin_user: User) -> None:
    with pytest.raises(DomainError) as caught:
        membership_change_status(membership=member, status="holiday", reason="r", by=admin_user)
    assert caught.value.field == "status"


def test_it_refuses_to_end_a_payer_with_live_dependants(
    enrol: Callable[..., Membership], member: Membership, admin_user: User
) -> None:
    enrol(birth_date=date(2018, 3, 3), payer=member, relationship=Relationship.CHILD, on=JOIN_DAY)
    with pytest.raises(HasDependants):
        membership_change_status(membership=member, status=MembershipStatus.EXPELLED, reason="r", by=admin_user)


def test_it_records_who_changed_the_status_and_why(member: Membership, admin_user: User) -> None:
    membership_change_status(
        membership=member, status=MembershipStatus.REMOVED, reason="fraudulent ID", by=admin_user, on=JOIN_DAY
    )
    last = member.history.latest()  # type: ignore[attr-defined]
    assert (last.status, last.history_user_id, last.history_change_reason) == (
        MembershipStatus.REMOVED,
        admin_user.pk,
        "fraudulent ID",
    )
