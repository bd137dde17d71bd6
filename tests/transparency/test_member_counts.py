"""The daily member counts: every state at 00:00 on a day from the memberships' dates, written by the daily
money job, and on a notice day exactly the number of sharers the settlement then charges."""

from __future__ import annotations

from datetime import date

import pytest

from members.models import MembershipStatus, Plan
from settlement.models import MemberCount
from settlement.services import member_counts_record, money_jobs_run
from tests.settlement.conftest import add_members, period_with_claims, settle_now

pytestmark = pytest.mark.django_db

NOTICE = date(2025, 6, 7)


@pytest.fixture
def mixed(plan: Plan) -> Plan:
    """Members in every state on 7 June 2025."""
    add_members(plan, 3, joined_on=date(2025, 1, 1))  # active
    add_members(plan, 1, joined_on=date(2025, 1, 1), status=MembershipStatus.EXITED, ended_on=NOTICE)  # owes
    add_members(plan, 2, joined_on=date(2025, 5, 1), status=MembershipStatus.WAITING)  # waiting to 30 July
    add_members(plan, 1, joined_on=date(2025, 5, 1), status=MembershipStatus.PENDING_REVIEW)
    add_members(plan, 1, joined_on=NOTICE, status=MembershipStatus.WAITING)  # joined after 00:00
    add_members(plan, 1, joined_on=date(2025, 1, 1), status=MembershipStatus.EXITED, ended_on=date(2025, 6, 1))
    add_members(plan, 1, joined_on=date(2025, 1, 1), status=MembershipStatus.REMOVED, ended_on=date(2025, 3, 1))
    add_members(plan, 1, joined_on=date(2025, 1, 1), status=MembershipStatus.PAID_OUT, ended_on=date(2025, 4, 1))
    # Declined at review: ended the day it began, never covered, in no count.
    add_members(plan, 1, joined_on=date(2025, 5, 2), status=MembershipStatus.EXITED, ended_on=date(2025, 5, 2))
    return plan


def test_it_counts_each_state_at_midnight_from_the_dates(mixed: Plan) -> None:
    (row,) = member_counts_record(on=NOTICE)
    assert (row.pending_review, row.waiting, row.active) == (1, 2, 4)
    assert (row.exited, row.removed, row.paid_out, row.expelled) == (1, 1, 1, 0)
    assert row.covered == 6


def test_the_covered_count_of_a_notice_day_is_the_periods_sharers(mixed: Plan) -> None:
    (row,) = member_counts_record(on=NOTICE)
    period = settle_now(period_with_claims(mixed, payouts=[1_000], notice_date=NOTICE))
    assert period.sharers == row.covered == 6


def test_a_past_day_is_counted_as_it_was_then(mixed: Plan) -> None:
    (row,) = member_counts_record(on=date(2025, 3, 1))
    # Joined on 1 January, waiting until 1 April: the removal of 1 March counts as covered on that day.
    assert (row.waiting, row.active, row.removed, row.exited) == (7, 0, 0, 0)


def test_the_daily_money_job_records_the_days_counts_once(mixed: Plan) -> None:
    money_jobs_run(on=NOTICE)
    money_jobs_run(on=NOTICE)
    assert MemberCount.objects.filter(plan=mixed, day=NOTICE).count() == 1
    assert MemberCount.objects.get(plan=mixed, day=NOTICE).covered == 6
