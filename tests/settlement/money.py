"""The money tests' shared pieces: a household charged for one period, and the ledger's invariants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Sum

from members.models import Membership, Plan
from settlement import selectors
from settlement.models import Account, Charge, Payment, Payout, Period, Refund
from tests.settlement.conftest import add_members, assert_ledger_consistent, period_with_claims, settle_now

# The first period of the tests: notice on 7 June, charge on 14 June; the next charge day is 28 June, so
# the grace runs to 26 June and the household is removed on 27 June.
NOTICE = date(2025, 6, 7)
CHARGE = date(2025, 6, 14)
LAST_GRACE_DAY = date(2025, 6, 26)
REMOVAL_DAY = date(2025, 6, 27)
# A 300,000-yuan payout: every sharer is charged the per-claim cap, 0.10 yuan.
PAYOUT_FEN = 30_000_000
CAP_FEN = 10


@dataclass(frozen=True)
class Household:
    payer: Membership
    dependants: list[Membership]

    @property
    def members(self) -> list[Membership]:
        return [self.payer, *self.dependants]


def household(plan: Plan, dependants: int = 2) -> Household:
    payer = add_members(plan, 1)[0]
    return Household(payer=payer, dependants=add_members(plan, dependants, payer=payer) if dependants else [])


def settle_period(
    plan: Plan, *, notice_date: date = NOTICE, claimant: Membership | None = None, claims: int = 1
) -> Period:
    """A period with `claims` claims of 300,000 yuan, settled: every sharer is charged 10 fen per claim."""
    return settle_now(
        period_with_claims(plan, payouts=[PAYOUT_FEN] * claims, notice_date=notice_date, claimant=claimant)
    )


def _total(rows: object, field: str) -> int:
    return int(rows.aggregate(total=Sum(field))["total"] or 0)  # type: ignore[attr-defined]


def assert_money_consistent() -> None:
    """Every entry balanced, each settled period's fund at zero, and the control accounts equal to their rows.

    members_receivable = Σ charges − Σ payments − Σ arrears deducted from payouts − Σ refunds, computed
    here from the rows themselves rather than through the selector under test; cash = Σ payments − Σ paid.
    """
    assert_ledger_consistent()
    charged = _total(Charge.objects, "amount_fen")
    paid = _total(Payment.objects, "amount_fen")
    deducted = _total(Payout.objects, "arrears_deducted_fen")
    refunded = _total(Refund.objects, "amount_fen")
    receivable = selectors.account_balance(account=Account.MEMBERS_RECEIVABLE)
    assert receivable == charged - paid - deducted - refunded
    assert selectors.account_balance(account=Account.CASH) == paid - _total(Payout.objects, "net_fen")
