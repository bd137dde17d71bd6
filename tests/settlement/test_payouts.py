"""Payouts: a shared claim is paid minus its household's arrears, which the payout settles; the claimant's
membership ends `paid_out` and the rest of the household stays covered."""

from __future__ import annotations

from datetime import date

import pytest

from claims.models import Claim, ClaimStatus
from members.models import MembershipStatus, Plan, User
from settlement.errors import ClaimNotPayable
from settlement.models import Account, EntryKind, JournalEntry, Payout
from settlement.selectors import account_balance, payer_arrears, payer_balance
from settlement.services import households_remove_for_non_payment, payment_record, payout_disburse
from tests.settlement.conftest import period_with_claims
from tests.settlement.money import (
    CAP_FEN,
    PAYOUT_FEN,
    REMOVAL_DAY,
    Household,
    assert_money_consistent,
    household,
    settle_period,
)

pytestmark = pytest.mark.django_db

PAID_ON = date(2025, 6, 20)  # in the grace of the period charged on 14 June


def shared_claim_of(plan: Plan, home: Household, *, claimant_index: int = 1) -> Claim:
    """The household is charged for the period in which a claim of one of its members is shared."""
    period = settle_period(plan, claimant=home.members[claimant_index])
    return Claim.objects.get(notice_id=period.pk, member=home.members[claimant_index])


def test_a_payout_during_the_grace_is_paid_minus_the_households_arrears(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    claim = shared_claim_of(plan, home)
    assert payer_arrears(payer=home.payer) == 3 * CAP_FEN
    payout = payout_disburse(claim=claim, by=admin_user, on=PAID_ON)
    assert (payout.gross_fen, payout.arrears_deducted_fen, payout.net_fen) == (
        PAYOUT_FEN,
        3 * CAP_FEN,
        PAYOUT_FEN - 3 * CAP_FEN,
    )
    assert (payout.payer, payout.paid_on, payout.paid_by) == (home.payer, PAID_ON, admin_user)
    assert payer_balance(payer=home.payer) == 0
    assert_money_consistent()


def test_the_deduction_is_what_is_still_unpaid(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    claim = shared_claim_of(plan, home)
    payment_record(payer=home.payer, amount_fen=CAP_FEN + 1, reference="TX-1", by=admin_user)
    payout = payout_disburse(claim=claim, by=admin_user, on=PAID_ON)
    assert payout.arrears_deducted_fen == 2 * CAP_FEN - 1
    assert payer_balance(payer=home.payer) == 0
    assert_money_consistent()


def test_a_household_without_arrears_receives_the_whole_payout(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    claim = shared_claim_of(plan, home)
    payment_record(payer=home.payer, amount_fen=3 * CAP_FEN, reference="TX-1", by=admin_user)
    payout = payout_disburse(claim=claim, by=admin_user, on=PAID_ON)
    assert (payout.arrears_deducted_fen, payout.net_fen) == (0, PAYOUT_FEN)
    assert_money_consistent()


def test_a_payout_is_posted_against_claims_payable_cash_and_the_arrears_settled(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    claim = shared_claim_of(plan, home)
    payout_disburse(claim=claim, by=admin_user, on=PAID_ON)
    entry = JournalEntry.objects.get(key=f"payout-{claim.pk}")
    assert entry.kind == EntryKind.DISBURSEMENT
    assert sorted(entry.lines.values_list("account", "debit_fen", "credit_fen")) == [
        (Account.CASH, 0, PAYOUT_FEN - 3 * CAP_FEN),
        (Account.CLAIMS_PAYABLE, PAYOUT_FEN, 0),
        (Account.MEMBERS_RECEIVABLE, 0, 3 * CAP_FEN),
    ]
    assert_money_consistent()


def test_the_claim_is_paid_and_the_claimant_paid_out_while_the_family_stays_covered(
    plan: Plan, admin_user: User
) -> None:
    home = household(plan, dependants=2)
    claim = shared_claim_of(plan, home, claimant_index=1)
    payout_disburse(claim=claim, by=admin_user, on=PAID_ON)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert claim.transitions.filter(action="mark_paid", by=admin_user).count() == 1
    for member in home.members:
        member.refresh_from_db()
    claimant = home.members[1]
    assert (claimant.status, claimant.ended_on) == (MembershipStatus.PAID_OUT, PAID_ON)
    assert {m.status for m in home.members if m != claimant} == {MembershipStatus.ACTIVE}


def test_a_paid_out_payer_keeps_paying_for_the_family(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=1)
    claim = shared_claim_of(plan, home, claimant_index=0)
    payout_disburse(claim=claim, by=admin_user, on=PAID_ON)
    home.payer.refresh_from_db()
    home.dependants[0].refresh_from_db()
    assert (home.payer.status, home.dependants[0].status) == (MembershipStatus.PAID_OUT, MembershipStatus.ACTIVE)
    # The dependant is charged in the next period, to the paid-out payer.
    settle_period(plan, notice_date=date(2025, 6, 21))
    assert payer_arrears(payer=home.payer) == CAP_FEN
    assert_money_consistent()


def test_arrears_settled_by_a_payout_keep_the_household_after_the_grace(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    payout_disburse(claim=shared_claim_of(plan, home), by=admin_user, on=PAID_ON)
    assert households_remove_for_non_payment(on=REMOVAL_DAY) == []


def test_disbursing_twice_pays_once(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    claim = shared_claim_of(plan, home)
    first = payout_disburse(claim=claim, by=admin_user, on=PAID_ON)
    assert payout_disburse(claim=claim, by=admin_user, on=PAID_ON) == first
    assert Payout.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).count() == 1
    assert_money_consistent()


def test_a_claim_not_yet_shared_cannot_be_paid_out(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=0)
    period = period_with_claims(plan, payouts=[PAYOUT_FEN], claimant=home.payer)
    claim = Claim.objects.get(notice_id=period.pk)
    with pytest.raises(ClaimNotPayable):
        payout_disburse(claim=claim, by=admin_user, on=PAID_ON)
    claim.refresh_from_db()
    home.payer.refresh_from_db()
    assert (claim.status, home.payer.status) == (ClaimStatus.IN_NOTICE, MembershipStatus.ACTIVE)
    assert not Payout.objects.exists() and not JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).exists()


def test_all_payouts_owed_are_paid_from_claims_payable(plan: Plan, admin_user: User) -> None:
    home = household(plan, dependants=2)
    period = settle_period(plan, claimant=home.dependants[0], claims=2)
    for claim in Claim.objects.filter(notice_id=period.pk):
        payout_disburse(claim=claim, by=admin_user, on=PAID_ON)
    assert account_balance(account=Account.CLAIMS_PAYABLE) == 0
    assert_money_consistent()
