"""The administrators' dashboard: staff only; members by status over time, claims waiting with their age, the
coming charges computed with the settlement's own arithmetic (and equal to what it then charges), and the
ledger's checks in green or red."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims.models import ClaimStatus, ClaimTransition
from members.models import Plan, User
from settlement.ledger import credit, debit, journal_post
from settlement.models import Account, EntryKind, JournalEntry, JournalLine, Period
from settlement.selectors import ExpectedPeriod, claims_waiting, coming_periods_expected
from settlement.services import member_counts_record, period_open
from tests.settlement.conftest import add_members, period_with_claims, settle_now
from tests.transparency.conftest import add_claims, days_before

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin-dashboard")
NOTICE = date(2025, 6, 7)
BEFORE_NOTICE = date(2025, 6, 5)


# --- who may see it ------------------------------------------------------------------------------------


def test_staff_see_it(staff_client: Client, plan: Plan) -> None:
    response = staff_client.get(DASHBOARD)
    assert response.status_code == 200
    assert "Ledger checks" in response.content.decode()


def test_anonymous_visitors_are_sent_to_the_admin_login(visitor: Client, plan: Plan) -> None:
    response = visitor.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_member_who_is_not_staff_is_sent_to_the_admin_login(plan: Plan, alice: User) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_is_linked_from_the_admin_index(staff_client: Client, plan: Plan) -> None:
    assert f'href="{DASHBOARD}"' in staff_client.get(reverse("admin:index")).content.decode()


# --- the coming charges: what settlement will charge ----------------------------------------------------


def assert_settles_as_expected(expected: ExpectedPeriod, period: Period) -> None:
    assert expected.figures is not None
    assert (expected.notice_date, expected.charge_date) == (period.notice_date, period.charge_date)
    assert expected.claims == period.claims_count
    assert expected.sharers == period.sharers
    assert expected.figures.payouts_fen == period.payouts_total_fen
    assert expected.figures.fee_fen == period.fee_fen
    assert expected.figures.total_fen == period.total_fen
    assert expected.figures.per_member_fen == period.per_member_fen
    assert expected.figures.max_charge_fen == period.max_charge_fen
    assert expected.subsidy_fen == period.operator_subsidy_fen


@pytest.mark.parametrize(
    ("caps", "payouts"),
    [
        pytest.param(None, [30_000_000, 10_000_000], id="the per-claim cap bites"),
        pytest.param(10**12, [1_000, 250], id="no cap, 6 extra fen"),
    ],
)
def test_the_next_periods_expected_figures_are_what_settlement_charges(
    plan: Plan, caps: int | None, payouts: list[int]
) -> None:
    if caps is not None:
        plan.per_claim_cap_fen = plan.annual_cap_fen = caps
        plan.save()
    add_members(plan, 7)
    add_claims(plan, payouts=payouts)
    member_counts_record(on=BEFORE_NOTICE)  # last night's count, as on the day the dashboard is read
    (expected,) = coming_periods_expected(plan=plan, on=BEFORE_NOTICE)
    assert not expected.published
    period = period_open(plan=plan, on=NOTICE)
    assert period is not None
    assert_settles_as_expected(expected, settle_now(period))


def test_the_period_in_notice_and_the_next_one_are_both_expected(plan: Plan) -> None:
    add_members(plan, 5)
    member_counts_record(on=NOTICE)
    in_notice = period_with_claims(plan, payouts=[30_000_000, 30_000_000], notice_date=NOTICE)
    add_claims(plan, payouts=[10_000_000])  # approved since: waiting for the 21st
    current, following = coming_periods_expected(plan=plan, on=date(2025, 6, 10))
    assert current.published and not following.published
    assert following.notice_date == date(2025, 6, 21)
    assert_settles_as_expected(current, settle_now(in_notice))
    period = period_open(plan=plan, on=date(2025, 6, 21))
    assert period is not None
    assert_settles_as_expected(following, settle_now(period))


def test_without_a_member_count_there_are_no_expected_figures(plan: Plan) -> None:
    add_claims(plan, payouts=[30_000_000])
    (expected,) = coming_periods_expected(plan=plan, on=BEFORE_NOTICE)
    assert (expected.claims, expected.payouts_fen, expected.figures) == (1, 30_000_000, None)


def test_the_page_shows_the_coming_charge(staff_client: Client, plan: Plan) -> None:
    add_members(plan, 4)
    add_claims(plan, payouts=[1_000])
    member_counts_record(on=timezone.localdate())
    html = staff_client.get(DASHBOARD).content.decode()
    # 10.00 yuan + 0.80 fee over 4 sharers: 2.70 each, capped at 0.10; the operator bears 10.40.
    for text in ("10.80 yuan", "2.70 yuan", "0.10 yuan", "10.40 yuan", "Next notice day"):
        assert text in html, text


# --- claims waiting ---------------------------------------------------------------------------------------


def test_claims_waiting_are_counted_per_status_with_their_oldest_and_median_age(plan: Plan) -> None:
    today = date(2025, 6, 20)
    add_claims(
        plan,
        payouts=[None, None, None],
        status=ClaimStatus.SUBMITTED,
        filed_at=[days_before(today, 10), days_before(today, 4), days_before(today, 2)],
    )
    add_claims(
        plan,
        payouts=[None, None],
        status=ClaimStatus.INVESTIGATING,
        filed_at=[days_before(today, 7), days_before(today, 2)],
    )
    add_claims(plan, payouts=[None], status=ClaimStatus.WITHDRAWN, filed_at=[days_before(today, 30)])
    rows = {row.status: row for row in claims_waiting(on=today)}
    assert set(rows) == {"submitted", "investigating"}
    assert (rows["submitted"].count, rows["submitted"].oldest_days, rows["submitted"].median_days) == (3, 10, 4)
    assert (rows["investigating"].count, rows["investigating"].oldest_days, rows["investigating"].median_days) == (
        2,
        7,
        4.5,
    )


def test_a_claims_age_counts_from_when_it_entered_its_status_not_from_filing(plan: Plan) -> None:
    """Filed three weeks ago, investigated for two days: it has waited 2 days for its investigator."""
    today = date(2025, 6, 20)
    filed = days_before(today, 21)
    (claim,) = add_claims(plan, payouts=[None], status=ClaimStatus.INVESTIGATING, filed_at=[filed])
    (other,) = add_claims(plan, payouts=[None], status=ClaimStatus.INVESTIGATING, filed_at=[filed])
    for moved, entered in ((claim, days_before(today, 2)), (other, days_before(today, 6))):
        with time_machine.travel(filed, tick=False):
            ClaimTransition.objects.create(claim=moved, to_status=ClaimStatus.SUBMITTED, action="file")
        with time_machine.travel(entered, tick=False):
            ClaimTransition.objects.create(
                claim=moved, from_status=ClaimStatus.SUBMITTED, to_status=ClaimStatus.INVESTIGATING, action="start"
            )
    (row,) = claims_waiting(on=today)
    assert (row.status, row.count, row.oldest_days, row.median_days) == ("investigating", 2, 6, 4)
    # A step that keeps the status (an approval proposed for a second admin) does not restart the count.
    with time_machine.travel(days_before(today, 1), tick=False):
        ClaimTransition.objects.create(
            claim=other,
            from_status=ClaimStatus.INVESTIGATING,
            to_status=ClaimStatus.INVESTIGATING,
            action="propose_approval",
        )
    (row,) = claims_waiting(on=today)
    assert (row.oldest_days, row.median_days) == (6, 4)


def test_the_page_shows_the_claims_waiting(staff_client: Client, plan: Plan) -> None:
    today = timezone.localdate()
    add_claims(plan, payouts=[None, None], status=ClaimStatus.SUBMITTED, filed_at=[days_before(today, 9)] * 2)
    html = staff_client.get(DASHBOARD).content.decode()
    assert "<td>2</td><td>9</td><td>9</td>" in html


# --- the ledger's checks ---------------------------------------------------------------------------------


def test_a_consistent_ledger_is_green(staff_client: Client, plan: Plan) -> None:
    add_members(plan, 3)
    settle_now(period_with_claims(plan, payouts=[1_000]))
    html = staff_client.get(DASHBOARD).content.decode()
    assert html.count('<span class="check ok">OK</span>') == 2
    assert 'class="check bad"' not in html


def test_an_unbalanced_entry_is_red(staff_client: Client, plan: Plan) -> None:
    entry = JournalEntry.objects.create(key="broken", kind=EntryKind.PAYMENT)
    JournalLine.objects.create(entry=entry, account=Account.CASH, debit_fen=100)
    html = staff_client.get(DASHBOARD).content.decode()
    assert '<span class="check bad">1 entry unbalanced</span>' in html
    assert f"Unbalanced entries: {entry.pk}" in html


def test_a_receivable_that_differs_from_the_sub_ledger_is_red(staff_client: Client, plan: Plan) -> None:
    journal_post(
        key="stray", kind=EntryKind.PAYMENT, lines=[debit(Account.MEMBERS_RECEIVABLE, 500), credit(Account.CASH, 500)]
    )
    html = staff_client.get(DASHBOARD).content.decode()
    assert '<span class="check bad">Mismatch</span>' in html
    assert "5.00 yuan" in html


# --- members over time, and the cost of the page ------------------------------------------------------------


def test_the_members_by_status_come_from_the_daily_counts(staff_client: Client, plan: Plan) -> None:
    add_members(plan, 3)
    member_counts_record(on=timezone.localdate())
    html = staff_client.get(DASHBOARD).content.decode()
    assert 'aria-labelledby="dashboard-members-title dashboard-members-desc"' in html
    assert f'<th scope="row" class="nowrap">{timezone.localdate():%Y-%m-%d}</th><td>0</td><td>0</td><td>3</td>' in html


def test_it_runs_the_same_few_queries_however_many_claims_and_periods(
    staff_client: Client, plan: Plan, django_assert_max_num_queries: Any
) -> None:
    today = timezone.localdate()
    add_members(plan, 3)
    member_counts_record(on=today)
    add_claims(plan, payouts=[None], status=ClaimStatus.SUBMITTED, filed_at=[days_before(today, 3)])
    with django_assert_max_num_queries(20) as few:
        assert staff_client.get(DASHBOARD).status_code == 200
    settle_now(period_with_claims(plan, payouts=[1_000] * 5, notice_date=date(2025, 6, 7)))
    settle_now(period_with_claims(plan, payouts=[1_000] * 5, notice_date=date(2025, 6, 21)))
    period_with_claims(plan, payouts=[1_000] * 5, notice_date=date(2025, 7, 7))
    add_claims(plan, payouts=[None] * 20, status=ClaimStatus.INVESTIGATING, filed_at=[days_before(today, 5)] * 20)
    add_claims(plan, payouts=[1_000] * 20)
    for day in (date(2025, 6, 7), date(2025, 6, 21), date(2025, 7, 7)):
        member_counts_record(on=day)
    from django.core.cache import cache

    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert staff_client.get(DASHBOARD).status_code == 200
