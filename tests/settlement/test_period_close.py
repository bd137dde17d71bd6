"""`manage.py period_close --on DATE` runs the day's jobs as beat does: the period jobs, then the money
jobs (waiting-period refunds, removals for non-payment), and says what it did."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from members.models import MembershipStatus, Plan
from members.services import membership_end_for_waiting_period_illness
from settlement.models import Refund
from tests.settlement.money import (
    CAP_FEN,
    LAST_GRACE_DAY,
    REMOVAL_DAY,
    assert_money_consistent,
    household,
    settle_period,
)

pytestmark = pytest.mark.django_db


def period_close(on: date) -> str:
    out = StringIO()
    call_command("period_close", "--on", on.isoformat(), stdout=out)
    return out.getvalue()


def test_period_close_removes_a_household_in_arrears_the_day_after_its_grace(plan: Plan) -> None:
    home = household(plan, dependants=1)
    settle_period(plan)
    assert "removed for non-payment the households of payers none" in period_close(LAST_GRACE_DAY)
    out = period_close(REMOVAL_DAY)
    assert f"{REMOVAL_DAY.isoformat()}: refunded 0.00 yuan" in out
    assert f"payers [{home.payer.pk}]" in out
    for member in home.members:
        member.refresh_from_db()
    assert {(m.status, m.status_reason) for m in home.members} == {(MembershipStatus.REMOVED, "non_payment")}
    assert_money_consistent()


def test_period_close_posts_the_refunds_due(plan: Plan) -> None:
    home = household(plan, dependants=1)
    settle_period(plan)
    settle_period(plan, notice_date=date(2025, 6, 21))
    ended = date(2025, 6, 30)
    membership_end_for_waiting_period_illness(membership=home.dependants[0], by=None, on=ended)
    out = period_close(ended)
    refund = Refund.objects.get()
    assert (refund.payer, refund.amount_fen, refund.refunded_on) == (home.payer, 2 * CAP_FEN, ended)
    assert f"refunded {2 * CAP_FEN / 100:.2f} yuan" in out
    assert_money_consistent()


def test_period_close_run_twice_on_the_same_day_does_nothing_more(plan: Plan) -> None:
    home = household(plan, dependants=1)
    settle_period(plan)
    period_close(REMOVAL_DAY)
    out = period_close(REMOVAL_DAY)
    assert "refunded 0.00 yuan" in out and "payers none" in out
    home.payer.refresh_from_db()
    assert home.payer.status == MembershipStatus.REMOVED
    assert_money_consistent()
