"""The sharing calendar: notice on the 7th and 21st, charge on the 14th and 28th; the command and beat run it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.schedules import crontab
from django.core.management import CommandError, call_command
from django.utils import timezone

from claims.models import Claim, ClaimStatus, Notice
from members.models import Membership, Plan
from mutualaid.celery import app
from settlement.models import Charge, Period, PeriodStatus
from settlement.services import period_jobs_run
from settlement.tasks import period_jobs_due
from tests.settlement.conftest import add_members, assert_ledger_consistent

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
Capture = Callable[..., AbstractContextManager[Any]]


@pytest.fixture
def approved(plan: Plan) -> Claim:
    """A claim approved on 5 June 2025, for a member outside the sharers."""
    claimant = add_members(plan, 1, joined_on=date(2025, 1, 1))[0]
    condition = plan.conditions.order_by("code").first()
    assert condition is not None
    return Claim.objects.create(
        member=claimant,
        person_id=claimant.person_id,
        kind="illness",
        condition=condition,
        diagnosed_on=date(2025, 5, 1),
        hospital="北京协和医院",
        description="—",
        status=ClaimStatus.APPROVED,
        payout_fen=10_000_000,
        age_at_diagnosis=35,
        decided_at=datetime(2025, 6, 5, 10, tzinfo=BEIJING),
    )


@pytest.fixture
def sharers(plan: Plan) -> list[Membership]:
    return add_members(plan, 6, joined_on=date(2025, 1, 1))


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks: Capture) -> Callable[[date], Any]:
    """The day's jobs, with the tasks they queue run in-process once each transaction commits."""

    def run(on: date) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return period_jobs_run(on=on)

    return run


PAIRS = [(date(2025, 6, 7), date(2025, 6, 14)), (date(2025, 6, 21), date(2025, 6, 28))]
OTHER_DAYS = [date(2025, 6, 6), date(2025, 6, 8), date(2025, 6, 13), date(2025, 6, 15), date(2025, 7, 1)]


@pytest.mark.parametrize(("notice_day", "charge_day"), PAIRS)
def test_the_notice_day_opens_the_period_and_its_charge_day_settles_it(
    approved: Claim, sharers: list[Membership], run_jobs: Callable[[date], Any], notice_day: date, charge_day: date
) -> None:
    opened = run_jobs(notice_day)
    period = Period.objects.get()
    approved.refresh_from_db()
    assert opened.opened == [period.pk] and period.status == PeriodStatus.IN_NOTICE
    assert (period.notice_date, period.charge_date, approved.status) == (notice_day, charge_day, ClaimStatus.IN_NOTICE)

    settling = run_jobs(charge_day)
    period.refresh_from_db()
    approved.refresh_from_db()
    assert settling.settling == [period.pk]
    assert (period.status, approved.status) == (PeriodStatus.SETTLED, ClaimStatus.SHARED)
    assert Charge.objects.filter(period=period).count() == 7  # the six and the claimant
    assert_ledger_consistent()


@pytest.mark.parametrize("day", OTHER_DAYS)
def test_other_days_run_nothing(approved: Claim, run_jobs: Callable[[date], Any], day: date) -> None:
    run = run_jobs(day)
    assert (run.opened, run.settling, run.resumed) == ([], [], [])
    assert not Notice.objects.exists() and not Period.objects.exists()


def test_running_a_day_twice_runs_its_jobs_once(
    approved: Claim, sharers: list[Membership], run_jobs: Callable[[date], Any]
) -> None:
    run_jobs(date(2025, 6, 7))
    run_jobs(date(2025, 6, 7))
    run_jobs(date(2025, 6, 14))
    rows = list(Charge.objects.order_by("pk").values_list("pk", "amount_fen"))
    run_jobs(date(2025, 6, 14))
    assert Period.objects.count() == 1
    assert list(Charge.objects.order_by("pk").values_list("pk", "amount_fen")) == rows
    assert approved.transitions.filter(action="share").count() == 1


def test_the_next_day_resumes_a_settlement_a_killed_worker_left_unfinished(
    approved: Claim, sharers: list[Membership], run_jobs: Callable[[date], Any]
) -> None:
    run_jobs(date(2025, 6, 7))
    period_jobs_run(on=date(2025, 6, 14))  # queued work never runs: the transaction never commits here
    period = Period.objects.get()
    assert period.status == PeriodStatus.SETTLING and not Charge.objects.exists()
    run = run_jobs(date(2025, 6, 15))
    period.refresh_from_db()
    assert run.resumed == [period.pk] and period.status == PeriodStatus.SETTLED
    assert Charge.objects.count() == 7


def test_the_command_runs_the_jobs_of_the_date_given(
    approved: Claim, sharers: list[Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("period_close", "--on", "2025-06-07", stdout=out)
        call_command("period_close", "--on", "2025-06-14", stdout=out)
    period = Period.objects.get()
    assert period.status == PeriodStatus.SETTLED
    assert f"opened [{period.pk}]" in out.getvalue() and f"settling [{period.pk}]" in out.getvalue()


def test_the_command_refuses_a_date_it_cannot_read(db: None) -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("period_close", "--on", "14/06/2025")


def test_the_command_defaults_to_today_in_beijing(approved: Claim) -> None:
    out = StringIO()
    # 00:20 on 7 June in Beijing is still 6 June in UTC.
    with time_machine.travel(datetime(2025, 6, 7, 0, 20, tzinfo=BEIJING), tick=False):
        call_command("period_close", stdout=out)
    assert out.getvalue().startswith("2025-06-07: opened [")


def test_beat_runs_the_period_jobs_daily_after_the_notices_are_published() -> None:
    entries = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert entries["settlement.tasks.period_jobs_due"] == crontab(hour=0, minute=15)


def test_the_beat_task_runs_todays_jobs(approved: Claim) -> None:
    with time_machine.travel(datetime(2025, 6, 7, 0, 15, tzinfo=BEIJING), tick=False):
        assert timezone.localdate() == date(2025, 6, 7)
        result = period_jobs_due()
    assert result["opened"] == [Period.objects.get().pk]
