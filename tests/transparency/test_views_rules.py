"""The rules page: public, in plain words, every number read from the plan rather than written in the page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from members.models import Plan

pytestmark = pytest.mark.django_db

RULES = reverse("settlement:rules")


def test_it_needs_no_login(visitor: Client, plan: Plan) -> None:
    response = visitor.get(RULES)
    assert response.status_code == 200
    assert "The rules in plain words" in response.content.decode()


def test_it_says_the_default_plans_numbers(visitor: Client, plan: Plan) -> None:
    html = visitor.get(RULES).content.decode()
    for text in (
        "from 30 days old up to 59 years old",
        "a credit score of at least 650",
        "waiting period of 90 days",
        "turns 60",
        "300,000.00 yuan",
        "100,000.00 yuan",
        "The management fee is 8% of the period's payouts.",
        "more than 0.10 yuan for one claim, nor more than 188.00 yuan in a calendar year",
        "On days 7 and 21 of each month",
        "On days 14 and 28",
        "within 180 days of the diagnosis",
        "until 2 days before the next charge day",
        "With at least 1000 votes",
        "28 covered conditions",
        "You can leave at any time, free",
        "a new waiting period starts",
    ):
        assert text in html, text


def test_it_follows_the_plan_when_an_administrator_changes_it(visitor: Client, plan: Plan) -> None:
    plan.min_age_days = 60
    plan.max_entry_age_years = 55
    plan.waiting_period_days = 30
    plan.management_fee_rate = Decimal("0.0750")
    plan.per_claim_cap_fen = 20
    plan.annual_cap_fen = 15_000
    plan.credit_min_score = 600
    plan.save()
    tier = plan.payout_tiers.order_by("from_age").first()
    assert tier is not None
    tier.amount_fen = 25_000_000
    tier.save()
    html = visitor.get(RULES).content.decode()
    for text in (
        "from 60 days old up to 55 years old",
        "waiting period of 30 days",
        "is 7.5% of the",
        "more than 0.20 yuan for one claim, nor more than 150.00 yuan",
        "at least 600",
        "250,000.00 yuan",
    ):
        assert text in html, text
    assert "300,000.00 yuan" not in html


def test_it_is_in_chinese_by_default(plan: Plan) -> None:
    response = Client().get(RULES)
    assert response.status_code == 200
    assert 'lang="zh-Hans"' in response.content.decode()


def test_it_answers_404_when_no_plan_exists(visitor: Client, db: Any) -> None:
    assert visitor.get(RULES).status_code == 404


def test_it_refuses_anything_but_get(visitor: Client, plan: Plan) -> None:
    assert visitor.post(RULES).status_code == 405


def test_it_runs_a_fixed_number_of_queries(visitor: Client, plan: Plan, django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(6):
        assert visitor.get(RULES).status_code == 200
