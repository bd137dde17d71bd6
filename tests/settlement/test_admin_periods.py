"""The periods in admin: the list, the read-only period page with its figures and anonymised claims, the
settlement progress, the button that runs the period's jobs, and who may do what."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.models import Claim
from members.models import Plan, User
from settlement.models import Period, PeriodChunk, PeriodStatus
from settlement.services import period_settle_chunk, period_settle_start
from tests.settlement.conftest import add_members, period_with_claims, settle_now

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:settlement_period_changelist")


def page_url(period: Period) -> str:
    return reverse("admin:settlement_period_change", args=[period.pk])


def run_jobs_url(period: Period) -> str:
    return reverse("admin:settlement_period_run_jobs", args=[period.pk])


def logged_in(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def staff(admin_user: User) -> Client:
    return logged_in(admin_user)


@pytest.fixture
def bob(db: Any) -> User:
    """Bob is staff who may read periods but not run their jobs."""
    user = User.objects.create_user(username="bob", password="bob-pass-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_period"))
    return user


def name_claimant(period: Period, name: str) -> Claim:
    claim = Claim.objects.filter(notice_id=period.pk).order_by("pk").first()
    assert claim is not None
    claim.member.person.name = name
    claim.member.person.save(update_fields=["name"])
    return claim


# --- who may see it and act ---------------------------------------------------------------------------


def test_it_sends_members_to_the_admin_login(alice: User, settled: Period) -> None:
    client = logged_in(alice)
    for url in (CHANGELIST, page_url(settled)):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
    assert client.post(run_jobs_url(settled)).status_code == 302


def test_it_lets_staff_without_the_change_permission_read_but_not_run_jobs(bob: User, big_caps: Plan) -> None:
    period = period_with_claims(big_caps, payouts=[1_000])
    client = logged_in(bob)
    html = client.get(page_url(period)).content.decode()
    assert "Run the jobs due for this period" not in html
    assert client.post(run_jobs_url(period)).status_code == 403
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.IN_NOTICE


def test_it_runs_jobs_only_on_a_post(staff: Client, big_caps: Plan) -> None:
    period = period_with_claims(big_caps, payouts=[1_000])
    assert staff.get(run_jobs_url(period)).status_code == 405


def test_it_offers_no_add_edit_or_delete(staff: Client, settled: Period) -> None:
    html = staff.get(page_url(settled)).content.decode()
    assert 'name="_save"' not in html
    assert staff.get(reverse("admin:settlement_period_add")).status_code == 403
    assert staff.get(reverse("admin:settlement_period_delete", args=[settled.pk])).status_code == 403


# --- the list -------------------------------------------------------------------------------------------


def test_the_list_shows_dates_status_sharers_total_per_member_and_subsidy(staff: Client, settled: Period) -> None:
    html = staff.get(CHANGELIST).content.decode()
    for column, value in {
        "notice_date": "June 7, 2025",
        "charge_date": "June 14, 2025",
        "status": "settled",
        "sharers": "7",
        "total": "13.50",
        "per_member": "1.92",
        "subsidy": "0.00",
    }.items():
        assert re.search(rf'class="field-{column}[^"]*">(<a [^>]*>)?{re.escape(value)}<', html), column


def test_the_list_and_the_page_take_the_same_number_of_queries_for_one_claim_or_five(
    staff: Client, big_caps: Plan
) -> None:
    add_members(big_caps, 3)
    one = settle_now(period_with_claims(big_caps, payouts=[1_000]))

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(url).status_code == 200
        return len(queries)

    list_with_one, page_with_one = count(CHANGELIST), count(page_url(one))
    five = settle_now(period_with_claims(big_caps, payouts=[1_000] * 5, notice_date=date(2025, 6, 21)))
    assert five.claims_count == 5
    assert count(CHANGELIST) == list_with_one
    assert count(page_url(five)) == page_with_one


# --- the period page ------------------------------------------------------------------------------------


def test_the_page_shows_every_figure_of_the_period(staff: Client, settled: Period) -> None:
    chunks = PeriodChunk.objects.filter(period=settled).count()
    html = staff.get(page_url(settled)).content.decode()
    for text in (
        "June 7, 2025",  # notice date
        "June 14, 2025",  # charge date
        "12.50",  # payouts
        "1.00",  # fee
        "13.50",  # total
        "1.92 (6 sharers pay 0.01 more each)",  # ⌊13.50 / 7⌋ and the extra fen
        "1.93",  # the largest charge
        f"Chunks done: {chunks} of {chunks}",  # member ids are cut into chunks of 4
        "charge rows written: 7",
        "charged so far: 13.50 yuan",
    ):
        assert text in html, text


def test_the_page_shows_each_claims_cost_per_member_to_four_places(staff: Client, settled: Period) -> None:
    html = staff.get(page_url(settled)).content.decode()
    assert "1.5429" in html  # 10.00 yuan × 1.08 / 7
    assert "0.3857" in html  # 2.50 yuan × 1.08 / 7


def test_the_page_shows_the_claims_anonymised(staff: Client, settled: Period) -> None:
    claim = name_claimant(settled, "欧阳娜娜")
    html = staff.get(page_url(settled)).content.decode()
    assert "欧***" in html
    assert "欧阳娜娜" not in html
    assert claim.member.person.id_number_masked not in html
    assert "Beijing" in html and "35" in html and claim.condition.name_en in html


def test_the_page_marks_a_claim_whose_cost_is_above_the_per_claim_cap(staff: Client, plan: Plan) -> None:
    add_members(plan, 3)
    period = settle_now(period_with_claims(plan, payouts=[1_000]))  # 3.60 yuan a member, capped at 0.10
    html = staff.get(page_url(period)).content.decode()
    assert "3.6000 *" in html
    assert "Above the per-claim cap" in html


def test_the_page_shows_the_progress_and_refreshes_while_the_period_settles(staff: Client, big_caps: Plan) -> None:
    add_members(big_caps, 7)
    period = period_settle_start(period=period_with_claims(big_caps, payouts=[1_000]), chunk_size=4)
    first = PeriodChunk.objects.filter(period=period).order_by("lo").first()
    assert first is not None
    period_settle_chunk(period_id=period.pk, lo=first.lo, hi=first.hi)
    html = staff.get(page_url(period)).content.decode()
    assert f"Chunks done: 1 of {PeriodChunk.objects.filter(period=period).count()}" in html
    assert f"charge rows written: {first.sharers}" in html
    assert '<meta http-equiv="refresh" content="5">' in html


def test_the_page_of_a_settled_period_does_not_refresh(staff: Client, settled: Period) -> None:
    assert 'http-equiv="refresh"' not in staff.get(page_url(settled)).content.decode()


# --- running the jobs -----------------------------------------------------------------------------------


@time_machine.travel("2025-06-20 10:00 +0800", tick=False)
def test_running_the_jobs_settles_a_period_whose_charge_day_has_come(
    staff: Client, big_caps: Plan, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    add_members(big_caps, 7)
    period = period_with_claims(big_caps, payouts=[1_000, 250])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(run_jobs_url(period), follow=True)
    assert response.status_code == 200
    assert any("Ran the jobs of 2025-06-14" in m for m in messages_of(response))
    period.refresh_from_db()
    assert period.status == PeriodStatus.SETTLED
    assert period.total_fen == 1_350 and period.sharers == 7


@time_machine.travel("2025-06-10 10:00 +0800", tick=False)
def test_running_the_jobs_before_the_charge_day_changes_nothing_and_says_when(staff: Client, big_caps: Plan) -> None:
    add_members(big_caps, 7)
    period = period_with_claims(big_caps, payouts=[1_000])
    response = staff.post(run_jobs_url(period), follow=True)
    assert messages_of(response) == [
        "Nothing is due yet for period 2025-06-07 → 2025-06-14: its next jobs run on 2025-06-14."
    ]
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.IN_NOTICE


def test_running_the_jobs_of_a_settled_period_says_there_is_nothing_left(staff: Client, settled: Period) -> None:
    response = staff.post(run_jobs_url(settled), follow=True)
    assert messages_of(response) == ["Period 2025-06-07 → 2025-06-14 is settled: no job is left to run."]


@time_machine.travel("2025-06-30 10:00 +0800", tick=False)
def test_running_the_jobs_while_an_earlier_period_is_unsettled_shows_the_error(staff: Client, big_caps: Plan) -> None:
    add_members(big_caps, 3)
    period_with_claims(big_caps, payouts=[1_000], notice_date=date(2025, 6, 7))
    # The period of the 7th was never settled (its charge day's jobs did not run): the 21st's must wait.
    later = period_with_claims(big_caps, payouts=[1_000], notice_date=date(2025, 6, 21))
    response = staff.post(run_jobs_url(later), follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [
        "Period 2025-06-21 → 2025-06-28: An earlier period of the plan is not settled yet; settle it first."
    ]
    assert Period.objects.get(pk=later.pk).status == PeriodStatus.IN_NOTICE


@time_machine.travel("2025-06-20 10:00 +0800", tick=False)
def test_the_list_action_runs_the_jobs_of_the_selected_periods(
    staff: Client, big_caps: Plan, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    add_members(big_caps, 7)
    period = period_with_claims(big_caps, payouts=[1_000])
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(CHANGELIST, {"action": "run_jobs_action", "_selected_action": [period.pk]})
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.SETTLED
