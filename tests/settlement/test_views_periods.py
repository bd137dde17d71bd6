"""The public period report: open to anyone, every figure of each period, and its claims anonymised."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.models import Claim
from members.models import Plan
from settlement.models import Period
from tests.settlement.conftest import add_members, period_with_claims, settle_now

pytestmark = pytest.mark.django_db

PERIODS = reverse("settlement:periods")


def report_url(period: Period) -> str:
    return reverse("settlement:period", args=[period.pk])


@pytest.fixture
def visitor() -> Client:
    """Anyone, not logged in, reading in English."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def test_the_list_needs_no_login_and_links_each_period(visitor: Client, settled: Period) -> None:
    response = visitor.get(PERIODS)
    assert response.status_code == 200
    html = response.content.decode()
    assert report_url(settled) in html
    assert "Period of 2025-06-07" in html and "13.50 yuan" in html and "1.93 yuan" in html


def test_the_list_says_when_no_period_has_been_opened(visitor: Client, db: None) -> None:
    assert "No period has been opened yet." in visitor.get(PERIODS).content.decode()


def test_the_report_needs_no_login_and_shows_every_figure(visitor: Client, settled: Period) -> None:
    response = visitor.get(report_url(settled))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "2025-06-07",  # notice date
        "2025-06-14",  # charge date
        "<dd>7</dd>",  # sharers
        "12.50 yuan",  # payouts
        "1.00 yuan",  # fee
        "13.50 yuan",  # total
        "1.92 yuan",  # per member
        "1.93 yuan",  # the most a member is charged
        "0.00 yuan",  # subsidy
        "6 sharers pay 0.01 yuan more each",
    ):
        assert text in html, text


def test_the_report_shows_each_claims_cost_per_member(visitor: Client, settled: Period) -> None:
    html = visitor.get(report_url(settled)).content.decode()
    assert "1.5429 yuan" in html  # 10.00 yuan × 1.08 / 7
    assert "0.3857 yuan" in html  # 2.50 yuan × 1.08 / 7


def test_the_report_shows_only_the_anonymised_claim(visitor: Client, settled: Period) -> None:
    claim = Claim.objects.filter(notice_id=settled.pk).order_by("pk").first()
    assert claim is not None
    person = claim.member.person
    person.name = "欧阳娜娜"
    person.save(update_fields=["name"])
    html = visitor.get(report_url(settled)).content.decode()
    assert "欧***" in html
    for secret in ("欧阳娜娜", person.id_number_masked, claim.hospital, person.birth_date.isoformat()):
        assert secret not in html, secret


def test_the_report_says_when_the_caps_hold_the_charges_below_the_share(visitor: Client, plan: Plan) -> None:
    add_members(plan, 3)
    period = settle_now(period_with_claims(plan, payouts=[1_000]))  # 3.60 yuan a member, capped at 0.10
    html = visitor.get(report_url(period)).content.decode()
    assert "3.6000 yuan" in html
    assert "The caps apply: a member pays at most 0.10 yuan for each claim" in html
    assert "Above the per-claim cap: each member pays 0.10 yuan for this claim" in html


def test_the_report_of_a_period_in_notice_says_the_figures_come_on_the_charge_day(
    visitor: Client, big_caps: Plan
) -> None:
    period = period_with_claims(big_caps, payouts=[1_000])
    html = visitor.get(report_url(period)).content.decode()
    assert "The figures are fixed on the charge day" in html
    assert "10.00 yuan" in html  # the claim's payout is already public


def test_the_report_of_a_period_without_claims_says_nothing_is_charged(visitor: Client, big_caps: Plan) -> None:
    add_members(big_caps, 3)
    period = settle_now(period_with_claims(big_caps, payouts=[]))
    assert "No claims in this period: nothing is charged." in visitor.get(report_url(period)).content.decode()


def test_an_unknown_period_is_not_found(visitor: Client, db: None) -> None:
    assert visitor.get(reverse("settlement:period", args=[999])).status_code == 404


def test_the_report_is_in_chinese_by_default(settled: Period) -> None:
    html = Client().get(report_url(settled)).content.decode()
    assert "每人" in html or "人均" in html


def test_the_list_and_the_report_take_the_same_number_of_queries_for_one_claim_or_five(
    visitor: Client, big_caps: Plan
) -> None:
    add_members(big_caps, 3)
    one = settle_now(period_with_claims(big_caps, payouts=[1_000]))

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert visitor.get(url).status_code == 200
        return len(queries)

    list_with_one, report_with_one = count(PERIODS), count(report_url(one))
    five = settle_now(period_with_claims(big_caps, payouts=[1_000] * 5, notice_date=date(2025, 6, 21)))
    assert count(PERIODS) == list_with_one
    assert count(report_url(five)) == report_with_one
