"""The grace and removal for non-payment: unpaid charges may be paid until 2 days before the next charge
day; the day after, the payer's whole household is removed (`removed`, `non_payment`)."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from members.models import MembershipStatus, Plan, User
from members.services import membership_mark_paid_out
from settlement import tasks
from settlement.models import Charge
from settlement.selectors import arrears_after_grace, grace_last_day, next_charge_date
from settlement.services import households_remove_for_non_payment, payment_record
from tests.settlement.conftest import add_members, period_with_claims, settle_now
from tests.settlement.money import (
    CAP_FEN,
    LAST_GRACE_DAY,
    PAYOUT_FEN,
    REMOVAL_DAY,
    Household,
    assert_money_consistent,
    household,
    settle_period,
)

pytestmark = pytest.mark.django_db


def statuses(home: Household) -> set[tuple[str, str]]:
    for member in home.members:
        member.refresh_from_db()
    return {(m.status, m.status_reason) for m in home.members}


@pytest.mark.parametrize(
    ("charge_date", "next_charge", "last_grace_day"),
    [
        (date(2025, 6, 14), date(2025, 6, 28), date(2025, 6, 26)),
        (date(2025, 6, 28), date(2025, 7, 14), date(2025, 7, 12)),
        (date(2025, 12, 28), date(2026, 1, 14), date(2026, 1, 12)),
    ],
)
def test_the_grace_ends_two_days_before_the_next_charge_day(
    plan: Plan, charge_date: date, next_charge: date, last_grace_day: date
) -> None:
    assert next_charge_date(plan=plan, after=charge_date) == next_charge
    assert grace_last_day(plan=plan, charge_date=charge_date) == last_grace_day


def test_the_grace_follows_the_plans_days(plan: Plan) -> None:
    plan.second_charge_day = 31
    plan.grace_days_before_next_charge = 5
    # February has no 31st: its last day is the charge day.
    assert next_charge_date(plan=plan, after=date(2025, 2, 14)) == date(2025, 2, 28)
    assert grace_last_day(plan=plan, charge_date=date(2025, 1, 31)) == date(2025, 2, 9)


def test_a_payment_on_the_last_grace_day_keeps_the_household(plan: Plan, admin_user: User) -> None:
    home = household(plan)
    settle_period(plan)
    with time_machine.travel(f"{LAST_GRACE_DAY} 23:59 +0800", tick=False):
        payment_record(payer=home.payer, amount_fen=3 * CAP_FEN, reference="TX-1", by=admin_user)
    assert households_remove_for_non_payment(on=REMOVAL_DAY) == []
    assert statuses(home) == {(MembershipStatus.ACTIVE, "")}
    assert_money_consistent()


def test_nobody_is_removed_on_the_last_grace_day(plan: Plan) -> None:
    home = household(plan)
    settle_period(plan)
    assert households_remove_for_non_payment(on=LAST_GRACE_DAY) == []
    assert statuses(home) == {(MembershipStatus.ACTIVE, "")}


def test_a_household_still_in_arrears_the_day_after_the_grace_is_removed(plan: Plan) -> None:
    home = household(plan)
    settle_period(plan)
    assert households_remove_for_non_payment(on=REMOVAL_DAY) == [home.payer.pk]
    assert statuses(home) == {(MembershipStatus.REMOVED, "non_payment")}
    assert {m.ended_on for m in home.members} == {REMOVAL_DAY}
    assert home.payer.history.first().history_change_reason == "non_payment"  # type: ignore[attr-defined]
    assert_money_consistent()


def test_a_dependant_of_a_removed_payer_is_removed_too(plan: Plan) -> None:
    home = household(plan, dependants=1)
    settle_period(plan)
    households_remove_for_non_payment(on=REMOVAL_DAY)
    dependant = home.dependants[0]
    dependant.refresh_from_db()
    assert (dependant.status, dependant.status_reason, dependant.ended_on) == (
        MembershipStatus.REMOVED,
        "non_payment",
        REMOVAL_DAY,
    )


def test_a_single_fen_unpaid_is_arrears(plan: Plan, admin_user: User) -> None:
    home = household(plan)
    settle_period(plan)
    payment_record(payer=home.payer, amount_fen=3 * CAP_FEN - 1, reference="TX-1", by=admin_user)
    assert households_remove_for_non_payment(on=REMOVAL_DAY) == [home.payer.pk]


def test_only_the_households_in_arrears_are_removed(plan: Plan, admin_user: User) -> None:
    paying, owing = household(plan), household(plan)
    settle_period(plan)
    payment_record(payer=paying.payer, amount_fen=3 * CAP_FEN, reference="TX-1", by=admin_user)
    assert households_remove_for_non_payment(on=REMOVAL_DAY) == [owing.payer.pk]
    assert statuses(paying) == {(MembershipStatus.ACTIVE, "")}
    assert statuses(owing) == {(MembershipStatus.REMOVED, "non_payment")}


def test_running_the_job_again_removes_nobody_more_and_reads_the_period_once(plan: Plan) -> None:
    household(plan)
    period = settle_period(plan)
    households_remove_for_non_payment(on=REMOVAL_DAY)
    period.refresh_from_db()
    assert period.arrears_checked_on == REMOVAL_DAY
    assert households_remove_for_non_payment(on=REMOVAL_DAY) == []
    assert arrears_after_grace(on=date(2025, 6, 30)).periods == []


def test_charges_of_a_period_still_in_its_grace_do_not_count(plan: Plan, admin_user: User) -> None:
    home = household(plan)
    settle_period(plan)
    payment_record(payer=home.payer, amount_fen=3 * CAP_FEN, reference="TX-1", by=admin_user)
    # The second period (charged on 28 June, grace to 12 July) is unpaid on the removal day of the first.
    settle_period(plan, notice_date=date(2025, 6, 21))
    assert households_remove_for_non_payment(on=REMOVAL_DAY) == []
    assert households_remove_for_non_payment(on=date(2025, 7, 12)) == []
    assert households_remove_for_non_payment(on=date(2025, 7, 13)) == [home.payer.pk]


def test_a_household_removed_after_a_notice_day_still_owes_that_period(plan: Plan) -> None:
    home = household(plan)
    settle_period(plan)
    # The next period's notice day (21 June) came before the removal (27 June): they were covered at its
    # cut-off, so its charge day (28 June), after the removal, charges them.
    period_two = period_with_claims(plan, payouts=[PAYOUT_FEN], notice_date=date(2025, 6, 21))
    households_remove_for_non_payment(on=REMOVAL_DAY)
    settle_now(period_two)
    assert Charge.objects.filter(period=period_two, payer=home.payer).count() == 3
    # The one after (notice 7 July) no longer counts them.
    period_three = settle_period(plan, notice_date=date(2025, 7, 7))
    assert not Charge.objects.filter(period=period_three, payer=home.payer).exists()
    assert_money_consistent()


def test_a_paid_out_payers_dependants_are_removed_and_the_payer_stays_paid_out(plan: Plan) -> None:
    home = household(plan, dependants=1)
    settle_period(plan)
    membership_mark_paid_out(membership=home.payer, by=None, on=date(2025, 6, 20))
    assert households_remove_for_non_payment(on=REMOVAL_DAY) == [home.payer.pk]
    assert statuses(home) == {(MembershipStatus.PAID_OUT, "paid_out"), (MembershipStatus.REMOVED, "non_payment")}


def test_a_household_already_gone_is_not_counted(plan: Plan) -> None:
    payer = add_members(plan, 1)[0]
    settle_period(plan)
    payer.status = MembershipStatus.EXITED
    payer.save()
    assert households_remove_for_non_payment(on=REMOVAL_DAY) == []


@time_machine.travel(f"{REMOVAL_DAY} 00:30 +0800", tick=False)
def test_the_daily_task_removes_the_households_past_their_grace(plan: Plan) -> None:
    home = household(plan)
    settle_period(plan)
    assert tasks.money_jobs_due.delay().get() == {"refunded_fen": 0, "removed_payers": [home.payer.pk]}
    assert statuses(home) == {(MembershipStatus.REMOVED, "non_payment")}
