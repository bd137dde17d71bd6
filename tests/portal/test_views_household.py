"""The household page: each member's coverage and waiting-period countdown, what the household has shared
and how many people that helped, what it owes and by when, the next charge, and the way out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from members.models import Membership, Plan
from members.services import membership_exit
from settlement.services import payment_record
from tests.portal.conftest import Home, in_notice, settled, travel

pytestmark = pytest.mark.django_db

URL = reverse("members:household")


def test_it_shows_what_the_household_has_shared_and_how_many_people_that_helped(
    alice_client: Client, plan: Plan, home: Home
) -> None:
    settled(plan, notice_date=date(2025, 5, 21), payouts=[30_000_000, 30_000_000])
    settled(plan, notice_date=date(2025, 6, 7))
    response = alice_client.get(URL)
    sharing = response.context["overview"].sharing
    # Three members × (2 claims × 0.10 + 1 claim × 0.10 yuan), and the three claims of those periods.
    assert (sharing.shared_fen, sharing.claims_helped) == (90, 3)
    html = response.content.decode()
    assert "0.90 yuan" in html
    assert "People helped" in html


def test_it_counts_for_each_member_only_the_periods_they_shared(
    alice_client: Client, plan: Plan, home: Home, enrol: Callable[..., Membership]
) -> None:
    settled(plan, notice_date=date(2025, 5, 21), payouts=[30_000_000, 30_000_000])
    # Joined after the 21 May notice day: shares only the 7 June period.
    parent = enrol(name="王建国", payer=home.payer, relationship="parent", on=date(2025, 5, 25))
    settled(plan, notice_date=date(2025, 6, 7))
    rows = {row.membership.pk: row.sharing for row in alice_client.get(URL).context["live_rows"]}
    assert (rows[home.child.pk].shared_fen, rows[home.child.pk].claims_helped) == (30, 3)
    assert (rows[parent.pk].shared_fen, rows[parent.pk].claims_helped) == (10, 1)


def test_it_counts_the_people_a_period_helped_once_for_the_whole_household(
    alice_client: Client, plan: Plan, home: Home
) -> None:
    settled(plan, notice_date=date(2025, 6, 7), payouts=[30_000_000] * 4)
    assert alice_client.get(URL).context["overview"].sharing.claims_helped == 4


def test_it_counts_down_the_days_of_the_waiting_period(
    alice_client: Client, home: Home, enrol: Callable[..., Membership]
) -> None:
    # Joined 1 June: the waiting period's last day is 30 August, illness covered from 31 August.
    enrol(name="王建国", payer=home.payer, relationship="parent", on=date(2025, 6, 1), birth_date=date(1970, 1, 1))
    response = alice_client.get(URL)
    row = next(r for r in response.context["live_rows"] if r.membership.person.name == "王建国")
    assert (row.illness_covered_from, row.waiting_days_left) == (date(2025, 8, 31), 72)
    assert "72 days to go." in response.content.decode()


def test_it_counts_one_day_to_go_on_the_last_day_of_waiting(
    alice_client: Client, home: Home, enrol: Callable[..., Membership]
) -> None:
    parent = enrol(
        name="王建国", payer=home.payer, relationship="parent", on=date(2025, 3, 22), birth_date=date(1970, 1, 1)
    )
    assert parent.waiting_period_ends == date(2025, 6, 20)  # today
    assert "1 day to go." in alice_client.get(URL).content.decode()


def test_it_asks_to_pay_what_is_owed_by_the_last_day_of_grace(alice_client: Client, plan: Plan, home: Home) -> None:
    settled(plan, notice_date=date(2025, 6, 7))  # charged 14 June, 0.10 yuan each
    response = alice_client.get(URL)
    statement = response.context["overview"].statement
    assert (statement.arrears_fen, statement.pay_by, statement.overdue) == (30, date(2025, 6, 26), False)
    html = response.content.decode()
    assert "Please pay 0.30 yuan by 2025-06-26." in html
    assert "everyone in your household is removed from the plan" in html


def test_it_says_when_the_grace_has_passed(alice_client: Client, plan: Plan, home: Home) -> None:
    settled(plan, notice_date=date(2025, 6, 7))
    with travel(date(2025, 6, 27)):
        html = alice_client.get(URL).content.decode()
    assert "0.30 yuan was due by 2025-06-26 and is still unpaid." in html


def test_it_says_nothing_is_owed_once_paid(alice_client: Client, plan: Plan, home: Home) -> None:
    settled(plan, notice_date=date(2025, 6, 7))
    payment_record(payer=home.payer, amount_fen=30, reference="pay-1", by=None)
    response = alice_client.get(URL)
    assert response.context["overview"].statement.arrears_fen == 0
    assert "Nothing to pay: every charge is paid." in response.content.decode()


def test_it_shows_the_next_charge_as_soon_as_the_notice_day_opens_the_period(
    alice_client: Client, plan: Plan, home: Home
) -> None:
    assert "Next charge" not in alice_client.get(URL).content.decode()
    with travel(date(2025, 6, 21)):
        in_notice(plan, notice_date=date(2025, 6, 21))
        html = alice_client.get(URL).content.decode()
    # One 300,000-yuan claim over the household's three sharers: each pays the 0.10-yuan cap.
    assert "Next charge: 2025-06-28" in html
    assert "at most 0.30 yuan" in html


def test_it_links_every_member_to_their_exit_page(alice_client: Client, home: Home) -> None:
    html = alice_client.get(URL).content.decode()
    for member in home.members:
        assert reverse("members:exit", args=[member.pk]) in html


def test_the_exit_link_leads_to_a_page_that_says_what_leaving_means(alice_client: Client, home: Home) -> None:
    html = alice_client.get(reverse("members:exit", args=[home.payer.pk])).content.decode()
    assert "Shares already charged are not refunded" in html
    assert "a new 90-day waiting period starts" in html
    assert "the family members they pay for must exit first" in html


def test_it_keeps_showing_what_a_household_that_left_still_owes(alice_client: Client, plan: Plan, home: Home) -> None:
    settled(plan, notice_date=date(2025, 6, 7))
    for member in (home.child, home.spouse, home.payer):
        membership_exit(membership=member, by=None)
    html = alice_client.get(URL).content.decode()
    assert "Please pay 0.30 yuan by 2025-06-26." in html
