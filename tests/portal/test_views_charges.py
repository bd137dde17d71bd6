"""The charges page: every charge of the household with its period, the claims it paid for (anonymised)
and its arithmetic, the caps where they changed the figure, the next charge before its charge day, and
what the household owes by when."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from members.models import Membership, Plan, User
from settlement.models import Period
from tests.portal.conftest import PAYOUT_FEN, Home, in_notice, settled, travel
from tests.settlement.conftest import add_members

pytestmark = pytest.mark.django_db

URL = reverse("portal:charges")


def test_it_sends_visitors_who_are_not_logged_in_to_the_login_page(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('members:login')}?next={URL}"


def test_it_says_when_nothing_has_been_charged_yet(alice_client: Client, home: Home) -> None:
    assert "Your household has not been charged yet." in alice_client.get(URL).content.decode()


def test_it_shows_each_members_charge_and_the_households_total_per_period(
    alice_client: Client, plan: Plan, home: Home
) -> None:
    settled(plan, notice_date=date(2025, 5, 21), payouts=[PAYOUT_FEN, PAYOUT_FEN])
    settled(plan, notice_date=date(2025, 6, 7))
    overview = alice_client.get(URL).context["overview"]
    # Newest first; each member pays the 0.10-yuan cap per claim.
    assert [(p.period.charge_date, p.total_fen) for p in overview.periods] == [
        (date(2025, 6, 14), 30),
        (date(2025, 5, 28), 60),
    ]
    assert {line.membership.person.name: line.amount_fen for line in overview.periods[1].lines} == {
        "王芳": 20,
        "李强": 20,
        "李小宝": 20,
    }


def test_it_works_out_the_total_divided_by_the_sharers(alice_client: Client, big_caps: Plan, home: Home) -> None:
    add_members(big_caps, 4)
    # Claims of 10.00 and 2.50 yuan plus the 8% fee: 13.50 yuan over 7 sharers, 1.92 each and 6 fen over.
    settled(big_caps, notice_date=date(2025, 6, 7), payouts=[1_000, 250])
    html = alice_client.get(URL).content.decode()
    assert "2 claims: payouts 12.50 yuan + management fee 1.00 yuan" in html
    assert "13.50 yuan ÷ 7 members = 1.92 yuan each" in html
    assert "some members pay 0.01 yuan more" in html
    assert "Capped at" not in html


def test_it_shows_the_per_claim_cap_when_it_lowered_the_charge(alice_client: Client, plan: Plan, home: Home) -> None:
    settled(plan, notice_date=date(2025, 6, 7))
    html = alice_client.get(URL).content.decode()
    # 300,000 + 24,000 yuan over 3 sharers, capped at 0.10 yuan for the one claim.
    assert "324,000.00 yuan ÷ 3 members = 108,000.00 yuan each" in html
    assert "Capped at 0.10 yuan per claim: at most 0.10 yuan each. The operator pays the rest." in html


def test_it_shows_the_yearly_cap_on_the_charges_it_lowered(alice_client: Client, plan: Plan, home: Home) -> None:
    plan.annual_cap_fen = 15
    plan.save()
    settled(plan, notice_date=date(2025, 5, 21))
    settled(plan, notice_date=date(2025, 6, 7))  # 0.10 yuan more would pass 0.15: each pays 0.05
    response = alice_client.get(URL)
    latest = response.context["overview"].periods[0]
    assert {(line.amount_fen, line.capped_by) for line in latest.lines} == {(5, "annual")}
    assert "Lowered by the yearly cap: nobody pays more than 0.15 yuan in a calendar year." in (
        response.content.decode()
    )


def test_it_lists_the_claims_a_charge_paid_for_anonymised_with_the_period_report(
    alice_client: Client, plan: Plan, home: Home
) -> None:
    period = settled(plan, notice_date=date(2025, 6, 7), payouts=[PAYOUT_FEN] * 5)
    claimants = list(period.notice.claims.order_by("pk").values_list("member__person__name", flat=True))
    html = alice_client.get(URL).content.decode()
    for name in claimants:
        assert name not in html
    assert html.count(f"{claimants[0][0]}*") >= 3  # the first three, masked as the notice shows them
    assert "and 2 more" in html
    assert reverse("settlement:period", args=[period.pk]) in html


def test_it_shows_the_upcoming_charge_before_the_charge_day(alice_client: Client, plan: Plan, home: Home) -> None:
    with travel(date(2025, 6, 21)):
        period = in_notice(plan, notice_date=date(2025, 6, 21), payouts=[PAYOUT_FEN, PAYOUT_FEN])
        response = alice_client.get(URL)
    upcoming = response.context["overview"].upcoming
    assert [u.expected.period.pk for u in upcoming] == [period.pk]
    assert (upcoming[0].expected.sharers, upcoming[0].expected.most_fen, upcoming[0].total_fen) == (3, 20, 60)
    html = response.content.decode()
    assert "Next charge: 2025-06-28" in html
    assert "at most 0.60 yuan" in html
    assert "The figures are fixed on the charge day." in html


def test_the_upcoming_charge_follows_the_yearly_cap(alice_client: Client, plan: Plan, home: Home) -> None:
    plan.annual_cap_fen = 15
    plan.save()
    settled(plan, notice_date=date(2025, 6, 7))
    with travel(date(2025, 6, 21)):
        in_notice(plan, notice_date=date(2025, 6, 21))
        upcoming = alice_client.get(URL).context["overview"].upcoming
    assert {(line.amount_fen, line.capped_by) for line in upcoming[0].lines} == {(5, "annual")}


def test_the_upcoming_charge_leaves_out_members_who_joined_on_or_after_the_notice_day(
    alice_client: Client, plan: Plan, home: Home, enrol: Callable[..., Membership]
) -> None:
    with travel(date(2025, 6, 21)):
        enrol(name="王建国", payer=home.payer, relationship="parent", birth_date=date(1970, 1, 1))
        in_notice(plan, notice_date=date(2025, 6, 21))
        upcoming = alice_client.get(URL).context["overview"].upcoming
    assert {line.membership.person.name for line in upcoming[0].lines} == {"王芳", "李强", "李小宝"}


def test_it_pages_through_the_periods(alice_client: Client, plan: Plan, home: Home) -> None:
    first = date(2025, 1, 7)
    for n in range(8):
        settled(plan, notice_date=first + timedelta(days=14 * n))
    assert len(alice_client.get(URL).context["overview"].periods) == 6
    assert len(alice_client.get(URL, {"page": 2}).context["overview"].periods) == 2
    assert alice_client.get(URL, {"page": "nonsense"}).status_code == 200


def test_it_does_not_show_another_households_charges(
    alice_client: Client, plan: Plan, home: Home, enrol: Callable[..., Membership], charlie: User
) -> None:
    enrol(name="赵六", account=charlie, on=date(2025, 1, 2))
    settled(plan, notice_date=date(2025, 6, 7))
    response = alice_client.get(URL)
    assert "赵六" not in response.content.decode()
    assert Period.objects.get().sharers == 4
    [period] = response.context["overview"].periods
    assert [line.membership.person.name for line in period.lines] == ["王芳", "李强", "李小宝"]
