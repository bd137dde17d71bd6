"""Refunds: a membership ended by an illness diagnosed in its waiting period gets back the shares charged
for it, once, credited to its payer and borne by the operator."""

from __future__ import annotations

from datetime import date

import pytest

from members.models import Plan, User
from members.services import membership_end_for_waiting_period_illness, membership_exit
from settlement.models import Account, EntryKind, JournalEntry, Refund
from settlement.selectors import account_balance, payer_arrears, payer_balance
from settlement.services import money_jobs_run, payment_record, refunds_post
from tests.settlement.conftest import period_with_claims, settle_now
from tests.settlement.money import (
    CAP_FEN,
    PAYOUT_FEN,
    REMOVAL_DAY,
    assert_money_consistent,
    household,
    settle_period,
)

pytestmark = pytest.mark.django_db

ENDED = date(2025, 6, 30)  # after the second period's charge day (28 June)


def two_periods_settled(plan: Plan) -> None:
    settle_period(plan)
    settle_period(plan, notice_date=date(2025, 6, 21))


def test_the_shares_charged_so_far_are_refunded_to_the_payer(plan: Plan) -> None:
    home = household(plan, dependants=2)
    two_periods_settled(plan)
    ill = membership_end_for_waiting_period_illness(membership=home.dependants[0], by=None, on=ENDED)
    subsidy_before = account_balance(account=Account.OPERATOR_SUBSIDY)
    assert refunds_post(on=ENDED) == 2 * CAP_FEN
    refund = Refund.objects.get()
    assert (refund.membership, refund.payer, refund.amount_fen, refund.refunded_on) == (
        ill,
        home.payer,
        2 * CAP_FEN,
        ENDED,
    )
    # Six shares charged, two of them refunded: the household owes the other four.
    assert payer_balance(payer=home.payer) == -4 * CAP_FEN
    assert account_balance(account=Account.OPERATOR_SUBSIDY) == subsidy_before + 2 * CAP_FEN
    assert_money_consistent()


def test_a_refund_is_posted_against_the_operator_and_members_receivable(plan: Plan) -> None:
    home = household(plan, dependants=1)
    two_periods_settled(plan)
    membership_end_for_waiting_period_illness(membership=home.dependants[0], by=None, on=ENDED)
    refunds_post(on=ENDED)
    entry = JournalEntry.objects.get(kind=EntryKind.REFUNDS)
    assert sorted(entry.lines.values_list("account", "debit_fen", "credit_fen")) == [
        (Account.MEMBERS_RECEIVABLE, 0, 2 * CAP_FEN),
        (Account.OPERATOR_SUBSIDY, 2 * CAP_FEN, 0),
    ]
    assert Refund.objects.get().entry == entry


def test_refunds_are_posted_once_even_when_the_job_runs_twice(plan: Plan) -> None:
    home = household(plan, dependants=1)
    two_periods_settled(plan)
    membership_end_for_waiting_period_illness(membership=home.dependants[0], by=None, on=ENDED)
    assert refunds_post(on=ENDED) == 2 * CAP_FEN
    assert refunds_post(on=ENDED) == 0
    assert refunds_post(on=date(2025, 7, 1)) == 0
    assert Refund.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REFUNDS).count() == 1
    assert_money_consistent()


def test_a_paid_share_refunded_leaves_the_payer_in_credit(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=1)
    two_periods_settled(plan)
    payment_record(payer=home.payer, amount_fen=4 * CAP_FEN, reference="TX-1", by=admin_user)
    membership_end_for_waiting_period_illness(membership=home.dependants[0], by=None, on=ENDED)
    refunds_post(on=ENDED)
    assert payer_balance(payer=home.payer) == 2 * CAP_FEN
    assert_money_consistent()


def test_a_refund_waits_for_the_period_the_member_still_shared_in(plan: Plan) -> None:
    home = household(plan, dependants=1)
    period = period_with_claims(plan, payouts=[PAYOUT_FEN])
    # Ended after the notice day (7 June), before the charge day (14 June): still a sharer of the period.
    membership_end_for_waiting_period_illness(membership=home.dependants[0], by=None, on=date(2025, 6, 10))
    assert refunds_post(on=date(2025, 6, 10)) == 0
    assert not Refund.objects.exists()
    settle_now(period)
    assert refunds_post(on=date(2025, 6, 15)) == CAP_FEN
    assert_money_consistent()


def test_only_the_ill_members_shares_are_refunded(plan: Plan) -> None:
    home = household(plan, dependants=2)
    two_periods_settled(plan)
    membership_end_for_waiting_period_illness(membership=home.dependants[1], by=None, on=ENDED)
    refunds_post(on=ENDED)
    assert list(Refund.objects.values_list("membership_id", "amount_fen")) == [(home.dependants[1].pk, 2 * CAP_FEN)]


def test_a_member_who_left_of_their_own_accord_gets_no_refund(plan: Plan) -> None:
    home = household(plan, dependants=1)
    two_periods_settled(plan)
    membership_exit(membership=home.dependants[0], by=None, on=ENDED)
    assert refunds_post(on=ENDED) == 0
    assert not Refund.objects.exists()


def test_a_member_never_charged_is_marked_refunded_with_nothing_posted(plan: Plan) -> None:
    home = household(plan, dependants=1)
    membership_end_for_waiting_period_illness(membership=home.dependants[0], by=None, on=ENDED)
    assert refunds_post(on=ENDED) == 0
    assert list(Refund.objects.values_list("amount_fen", "entry")) == [(0, None)]
    assert not JournalEntry.objects.exists()
    assert refunds_post(on=ENDED) == 0
    assert Refund.objects.count() == 1


def test_a_refund_counts_before_the_removals_of_the_same_day(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=1)
    settle_period(plan)
    payment_record(payer=home.payer, amount_fen=CAP_FEN, reference="TX-1", by=admin_user)
    # The unpaid share is the ill dependant's: refunded on the removal day, before the removals.
    membership_end_for_waiting_period_illness(membership=home.dependants[0], by=None, on=date(2025, 6, 20))
    run = money_jobs_run(on=REMOVAL_DAY)
    assert (run.refunded_fen, run.removed_payers) == (CAP_FEN, [])
    assert payer_arrears(payer=home.payer) == 0
    assert_money_consistent()
