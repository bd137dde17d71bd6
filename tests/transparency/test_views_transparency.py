"""The public charts of the plan over time: no login, drawn as SVG on the server, every chart's data also in a
table, figures from set-based reads, and the same few queries however many periods and claims there are."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from claims.models import Claim
from members.models import Plan
from settlement.models import Period
from settlement.selectors import _shape, transparency_figures
from settlement.services import member_counts_record
from tests.settlement.conftest import add_members, period_with_claims, settle_now

pytestmark = pytest.mark.django_db

TRANSPARENCY = reverse("settlement:transparency")
FIRST = date(2025, 6, 7)


def settle_periods(plan: Plan, count: int, *, claims_each: int = 1, first: date = FIRST) -> list[Period]:
    """`count` settled periods from `first` on (the 7th and the 21st), each with its member count."""
    periods = []
    notice = first
    for _ in range(count):
        member_counts_record(on=notice)
        periods.append(settle_now(period_with_claims(plan, payouts=[30_000_000] * claims_each, notice_date=notice)))
        notice = (
            notice.replace(day=21) if notice.day == 7 else (notice.replace(day=1) + timedelta(days=32)).replace(day=7)
        )
    return periods


@pytest.fixture
def history(plan: Plan) -> list[Period]:
    """Five members; two settled periods: ages 35 and 45 on two conditions, then one claim at 25."""
    add_members(plan, 5)
    first_condition, second_condition = plan.conditions.order_by("code")[:2]
    member_counts_record(on=FIRST)
    june = period_with_claims(plan, payouts=[30_000_000, 10_000_000], notice_date=FIRST)
    later = Claim.objects.filter(notice_id=june.pk).order_by("pk").last()
    assert later is not None
    Claim.objects.filter(pk=later.pk).update(age_at_diagnosis=45, condition=second_condition)
    first = settle_now(june)
    member_counts_record(on=date(2025, 6, 21))
    second_period = period_with_claims(plan, payouts=[30_000_000], notice_date=date(2025, 6, 21))
    Claim.objects.filter(notice_id=second_period.pk).update(age_at_diagnosis=25, condition=first_condition)
    return [first, settle_now(second_period)]


def test_it_needs_no_login(visitor: Client, history: list[Period]) -> None:
    response = visitor.get(TRANSPARENCY)
    assert response.status_code == 200
    assert "The plan over time" in response.content.decode()


def test_the_figures_come_from_the_periods_claims_and_counts(plan: Plan, history: list[Period]) -> None:
    figures = transparency_figures(plan=plan)
    assert [(p.notice_date, p.claims, p.sharers) for p in figures.periods] == [
        (date(2025, 6, 7), 2, 5),
        (date(2025, 6, 21), 1, 5),
    ]
    assert [p.max_charge_fen for p in figures.periods] == [20, 10]  # the per-claim cap, 0.10 yuan a claim
    assert [(b.low, b.high, b.claims, b.payouts_fen) for b in figures.age_bands] == [
        (20, 29, 1, 30_000_000),
        (30, 39, 1, 30_000_000),
        (40, 49, 1, 10_000_000),
    ]
    first, second = plan.conditions.order_by("code")[:2]
    assert [(c.code, c.claims, c.payouts_fen) for c in figures.conditions] == [
        (first.code, 2, 60_000_000),
        (second.code, 1, 10_000_000),
    ]
    assert [(m.day, m.covered) for m in figures.member_counts] == [(date(2025, 6, 7), 5), (date(2025, 6, 21), 5)]


def test_each_chart_is_an_accessible_svg_with_its_data_in_a_table(visitor: Client, history: list[Period]) -> None:
    html = visitor.get(TRANSPARENCY).content.decode()
    charts = re.findall(
        r'<svg class="chart-svg" viewBox="0 0 340 \d+" role="img" aria-labelledby="([\w-]+)-title \1-desc"', html
    )
    assert charts == ["members", "claims", "per-member", "age-bands", "conditions"]
    for key in charts:
        assert f'<title id="{key}-title">' in html and f'<desc id="{key}-desc">' in html
    assert html.count('<table class="data">') == 4
    assert "<script" not in html and "<style" not in html and "style=" not in html


def test_the_tables_give_the_exact_figures(visitor: Client, plan: Plan, history: list[Period]) -> None:
    html = visitor.get(TRANSPARENCY).content.decode()
    second_condition = plan.conditions.order_by("code")[1]
    for text in (
        f'<a href="{reverse("settlement:period", args=[history[0].pk])}">2025-06-07</a>',
        '<th scope="row" class="nowrap">40–49</th><td>1</td><td>100,000.00 yuan</td>',
        f'<th scope="row">{second_condition.name_en}</th><td>1</td><td>100,000.00 yuan</td>',
        "<td>0.20 yuan</td>",  # the most a member was charged in June's first period
        "Claims shared per period",
        "From 2025-06-07 to 2025-06-21: lowest 1, highest 2, latest 1.",
    ):
        assert text in html, text


def test_a_plan_with_no_history_yet_says_so(visitor: Client, plan: Plan) -> None:
    html = visitor.get(TRANSPARENCY).content.decode()
    assert "No period has been settled yet." in html
    assert "The first count of members is taken tonight." in html
    assert "No claim has been shared yet." in html


def test_it_is_linked_from_the_public_period_list(visitor: Client, plan: Plan) -> None:
    html = visitor.get(reverse("settlement:periods")).content.decode()
    assert TRANSPARENCY in html and reverse("settlement:rules") in html


def test_it_runs_the_same_few_queries_however_many_periods(
    visitor: Client, plan: Plan, django_assert_max_num_queries: Any
) -> None:
    add_members(plan, 3)
    settle_periods(plan, 2)
    with django_assert_max_num_queries(8) as few:
        assert visitor.get(TRANSPARENCY).status_code == 200
    cache.clear()
    settle_periods(plan, 4, claims_each=3, first=date(2025, 7, 7))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert visitor.get(TRANSPARENCY).status_code == 200


def test_the_figures_are_read_once_then_kept(
    visitor: Client, history: list[Period], django_assert_max_num_queries: Any
) -> None:
    visitor.get(TRANSPARENCY)
    with django_assert_max_num_queries(2):  # the plan (and the page header's plan name): the figures are kept
        assert visitor.get(TRANSPARENCY).status_code == 200


def test_the_cached_figures_key_names_the_shape_of_what_is_kept() -> None:
    """A release that adds a field to a kept dataclass reads its own cache entries, not older ones."""

    @dataclass(frozen=True)
    class Before:
        a: int

    @dataclass(frozen=True)
    class After:
        a: int
        b: int

    After.__qualname__ = Before.__qualname__
    assert _shape(Before) != _shape(After)
    assert _shape(Before) == _shape(Before) and len(_shape(Before)) == 12
