"""Payments: recorded once per reference, posted cash against members receivable, settling the household."""

from __future__ import annotations

import pytest

from members.errors import DomainError
from members.models import Plan, User
from settlement.errors import NotAPayer, PaymentReferenceConflict
from settlement.models import Account, EntryKind, JournalEntry, Payment
from settlement.selectors import account_balance, members_receivable_subledger, payer_arrears, payer_balance
from settlement.services import payment_record
from tests.settlement.money import CAP_FEN, assert_money_consistent, household, settle_period

pytestmark = pytest.mark.django_db


def test_a_household_owes_the_charges_of_all_its_members_to_its_payer(plan: Plan) -> None:
    home = household(plan, dependants=2)
    settle_period(plan)
    assert payer_balance(payer=home.payer) == -3 * CAP_FEN
    assert payer_arrears(payer=home.payer) == 3 * CAP_FEN
    assert_money_consistent()


def test_a_payment_settles_the_households_charges(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    settle_period(plan)
    payment_record(payer=home.payer, amount_fen=3 * CAP_FEN, reference="TX-1", by=admin_user)
    assert payer_balance(payer=home.payer) == 0
    assert payer_arrears(payer=home.payer) == 0
    assert members_receivable_subledger() == 0
    assert_money_consistent()


def test_a_payment_is_posted_as_cash_received_against_members_receivable(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=0)
    payment = payment_record(payer=home.payer, amount_fen=500, reference="TX-1", by=admin_user)
    entry = JournalEntry.objects.get(key=f"payment-{payment.pk}")
    assert entry.kind == EntryKind.PAYMENT
    assert sorted(entry.lines.values_list("account", "debit_fen", "credit_fen")) == [
        (Account.CASH, 500, 0),
        (Account.MEMBERS_RECEIVABLE, 0, 500),
    ]
    assert payment.recorded_by == admin_user and payment.received_at is not None
    assert_money_consistent()


def test_the_same_reference_twice_records_one_payment(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=0)
    first = payment_record(payer=home.payer, amount_fen=500, reference="TX-1", by=admin_user)
    again = payment_record(payer=home.payer, amount_fen=500, reference=" TX-1 ", by=None)
    assert again == first
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert account_balance(account=Account.CASH) == 500
    assert_money_consistent()


def test_the_same_reference_for_another_amount_or_payer_is_refused(plan: Plan, admin_user: User) -> None:
    home, other = household(plan, dependants=0), household(plan, dependants=0)
    payment_record(payer=home.payer, amount_fen=500, reference="TX-1", by=admin_user)
    with pytest.raises(PaymentReferenceConflict):
        payment_record(payer=home.payer, amount_fen=501, reference="TX-1", by=admin_user)
    with pytest.raises(PaymentReferenceConflict):
        payment_record(payer=other.payer, amount_fen=500, reference="TX-1", by=admin_user)
    assert Payment.objects.count() == 1
    assert_money_consistent()


def test_the_same_reference_from_another_source_is_another_payment(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=0)
    payment_record(payer=home.payer, amount_fen=500, reference="TX-1", by=admin_user)
    payment_record(payer=home.payer, amount_fen=500, reference="TX-1", by=None, source="partner-7")
    assert Payment.objects.count() == 2
    assert payer_balance(payer=home.payer) == 1_000
    assert_money_consistent()


def test_a_part_payment_leaves_the_rest_in_arrears(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    settle_period(plan)
    payment_record(payer=home.payer, amount_fen=CAP_FEN, reference="TX-1", by=admin_user)
    assert payer_arrears(payer=home.payer) == 2 * CAP_FEN
    assert_money_consistent()


def test_an_overpayment_leaves_the_payer_in_credit(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    settle_period(plan)
    payment_record(payer=home.payer, amount_fen=100, reference="TX-1", by=admin_user)
    assert payer_balance(payer=home.payer) == 100 - 3 * CAP_FEN
    assert payer_arrears(payer=home.payer) == 0
    assert_money_consistent()


def test_a_family_member_cannot_pay_for_the_household(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=1)
    with pytest.raises(NotAPayer):
        payment_record(payer=home.dependants[0], amount_fen=500, reference="TX-1", by=admin_user)
    assert not Payment.objects.exists()


@pytest.mark.parametrize("amount", [0, -1])
def test_a_payment_of_nothing_or_less_is_refused(plan: Plan, admin_user: User, amount: int) -> None:
    home = household(plan, dependants=0)
    with pytest.raises(DomainError) as raised:
        payment_record(payer=home.payer, amount_fen=amount, reference="TX-1", by=admin_user)
    assert raised.value.field == "amount_fen"
    assert not Payment.objects.exists() and not JournalEntry.objects.exists()


def test_a_payment_without_a_reference_is_refused(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=0)
    with pytest.raises(DomainError) as raised:
        payment_record(payer=home.payer, amount_fen=500, reference="  ", by=admin_user)
    assert raised.value.field == "reference"
