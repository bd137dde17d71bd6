"""Reads that compose the apps for the member's pages: a household with its coverage and its money.

The members app cannot read charges (settlement sits above it), so the pages that show both live here,
in the top layer, and call the selectors of each app. Every function reads a fixed number of queries,
however many members, charges or periods the household has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from django.core.paginator import Page, Paginator

from members.models import Membership, MembershipStatus, User
from members.selectors import household_for_account, membership_coverage_fen
from settlement.models import Charge, Period
from settlement.selectors import (
    ClaimCost,
    HouseholdSharing,
    MemberSharing,
    PayerStatement,
    PeriodExpected,
    claim_costs,
    household_charged_periods,
    household_charges_in,
    household_sharing,
    membership_shares_period,
    payer_statement,
    periods_claims_first,
    periods_expected,
    periods_upcoming,
)

PERIODS_PER_PAGE = 6  # three months of charges on a phone screen or two
CASES_PER_PERIOD = 3  # the rest are one tap away, on the public period report


def yuan_whole(fen: int) -> str:
    """300000 yuan as “300,000”; fen shown only when there are any (the coverage figures)."""
    whole, cents = divmod(fen, 100)
    return f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"


# --- the household page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdRow:
    membership: Membership
    coverage_yuan: str | None
    sharing: MemberSharing
    # While in the waiting period: the first day illness is covered, and how many days until then.
    illness_covered_from: date | None = None
    waiting_days_left: int | None = None


@dataclass(frozen=True)
class ChargeLine:
    """One member's charge of a period (or the most they will be charged, before the charge day)."""

    membership: Membership
    amount_fen: int
    share_fen: int
    # Which cap lowered the share, if one did: the operator's subsidy pays the difference.
    capped_by: Literal["per_claim", "annual", ""] = ""


@dataclass(frozen=True)
class UpcomingCharge:
    expected: PeriodExpected
    lines: list[ChargeLine]

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


@dataclass(frozen=True)
class HouseholdOverview:
    live_rows: list[HouseholdRow]
    ended_rows: list[HouseholdRow]
    payer: Membership | None  # the live payer, who adds family members
    statement: PayerStatement | None
    sharing: HouseholdSharing
    upcoming: list[UpcomingCharge]


@dataclass(frozen=True)
class _Household:
    memberships: list[Membership]
    payer_ids: list[int]
    statement: PayerStatement | None
    sharing: HouseholdSharing
    upcoming: list[UpcomingCharge]


def _household(*, account: User, on: date) -> _Household:
    memberships = list(household_for_account(account=account))
    payers = [m for m in memberships if m.is_payer]
    payer_ids = [m.pk for m in payers]
    # The statement is the current payer's: the live one, else the latest (a household that left may owe).
    current = next((m for m in reversed(payers) if m.is_live), payers[-1] if payers else None)
    sharing = household_sharing(payer_ids=payer_ids, year=on.year)
    plans = sorted({m.plan_id for m in memberships if m.is_live})
    periods = periods_upcoming(plan_ids=plans) if plans else []
    expected = periods_expected(periods=periods)
    upcoming = [_upcoming(expected[p.pk], memberships, sharing) for p in periods]
    return _Household(
        memberships=memberships,
        payer_ids=payer_ids,
        statement=payer_statement(payer=current, on=on) if current is not None else None,
        sharing=sharing,
        upcoming=[u for u in upcoming if u.lines],
    )


def _upcoming(expected: PeriodExpected, memberships: list[Membership], sharing: HouseholdSharing) -> UpcomingCharge:
    lines = []
    for m in memberships:  # one household's members, a handful
        if not membership_shares_period(membership=m, period=expected.period):
            continue
        in_year = sharing.of(m.pk).charged_in_year_fen
        amount = expected.charge_for(charged_in_year_fen=in_year)
        capped_by: Literal["per_claim", "annual", ""] = ""
        if expected.annual_cap_bites(charged_in_year_fen=in_year):
            capped_by = "annual"
        elif expected.capped:
            capped_by = "per_claim"
        lines.append(ChargeLine(membership=m, amount_fen=amount, share_fen=expected.most_fen, capped_by=capped_by))
    return UpcomingCharge(expected=expected, lines=lines)


def household_overview(*, account: User, on: date) -> HouseholdOverview:
    household = _household(account=account, on=on)
    rows = [_row(m, household.sharing, on) for m in household.memberships]
    live = [row for row in rows if row.membership.is_live]
    return HouseholdOverview(
        live_rows=live,
        ended_rows=[row for row in rows if not row.membership.is_live],
        payer=next((row.membership for row in live if row.membership.is_payer), None),
        statement=household.statement,
        sharing=household.sharing,
        upcoming=household.upcoming,
    )


def _row(membership: Membership, sharing: HouseholdSharing, on: date) -> HouseholdRow:
    fen = membership_coverage_fen(membership=membership, on=on)
    row = HouseholdRow(
        membership=membership, coverage_yuan=None if fen is None else yuan_whole(fen), sharing=sharing.of(membership.pk)
    )
    if membership.status != MembershipStatus.WAITING:
        return row
    # waiting_period_ends is the last day of waiting: illness is covered from the day after.
    covered_from = membership.waiting_period_ends + timedelta(days=1)
    return HouseholdRow(
        membership=row.membership,
        coverage_yuan=row.coverage_yuan,
        sharing=row.sharing,
        illness_covered_from=covered_from,
        waiting_days_left=max(0, (covered_from - on).days),
    )


# --- the charges page -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChargedPeriod:
    period: Period
    figures: PeriodExpected  # the period's fixed figures, in the same shape as an upcoming period's
    lines: list[ChargeLine]
    costs: list[ClaimCost]  # the first few claims the period paid for, anonymised

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def more_claims(self) -> int:
        return max(0, self.period.claims_count - len(self.costs))


@dataclass(frozen=True)
class ChargesOverview:
    statement: PayerStatement | None
    sharing: HouseholdSharing
    upcoming: list[UpcomingCharge]
    page: Page[Period]
    periods: list[ChargedPeriod]


def household_charges(*, account: User, on: date, page_number: str | None, language: str | None) -> ChargesOverview:
    household = _household(account=account, on=on)
    paginator = Paginator(household_charged_periods(payer_ids=household.payer_ids), PERIODS_PER_PAGE)
    page = paginator.get_page(page_number)
    periods = list(page.object_list)
    charges = household_charges_in(payer_ids=household.payer_ids, periods=periods)
    first_claims = periods_claims_first(periods=periods, count=CASES_PER_PERIOD)
    members = {m.pk: m for m in household.memberships}
    figures = periods_expected(periods=periods)  # settled periods: read from their rows, no query
    charged = [
        ChargedPeriod(
            period=period,
            figures=figures[period.pk],
            lines=[_line(c, period, members) for c in charges if c.period_id == period.pk],
            costs=claim_costs(period=period, claims=first_claims[period.pk], language=language),
        )
        for period in periods
    ]
    return ChargesOverview(
        statement=household.statement,
        sharing=household.sharing,
        upcoming=household.upcoming,
        page=page,
        periods=charged,
    )


def _line(charge: Charge, period: Period, members: dict[int, Membership]) -> ChargeLine:
    room = period.per_member_cap_fen
    capped_by: Literal["per_claim", "annual", ""] = ""
    if charge.amount_fen < min(charge.share_fen, room):
        capped_by = "annual"
    elif charge.amount_fen < charge.share_fen:
        capped_by = "per_claim"
    return ChargeLine(
        membership=members.get(charge.member_id, charge.member),
        amount_fen=charge.amount_fen,
        share_fen=charge.share_fen,
        capped_by=capped_by,
    )
