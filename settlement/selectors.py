"""Reads of settlement: what the calendar has due on a day, ledger balances, the sub-ledger's total."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from claims.models import Claim, ClaimStatus, Notice
from claims.selectors import PublicCase, public_case_of
from claims.services import notice_charge_date
from members.models import LIVE_STATUSES, Membership, Plan
from settlement.models import (
    Account,
    Charge,
    JournalLine,
    Payment,
    Payout,
    Period,
    PeriodChunk,
    PeriodStatus,
    Refund,
)


def period_dates_for_notice_day(*, plan: Plan, on: date) -> tuple[date, date] | None:
    """(notice date, charge date) when `on` is one of the plan's notice days (the 7th → 14th, 21st → 28th)."""
    charge_date = notice_charge_date(plan=plan, notice_date=on)
    return (on, charge_date) if charge_date is not None else None


@dataclass(frozen=True)
class PeriodsDue:
    """The jobs of one day: plans whose notice day it is, notices whose charge day it is, and periods
    whose settlement started on an earlier day and has not finished (a worker died): all run again."""

    notice_plans: list[Plan] = field(default_factory=list)
    charge_notices: list[Notice] = field(default_factory=list)
    unfinished: list[Period] = field(default_factory=list)


def periods_due(*, on: date) -> PeriodsDue:
    plans = [plan for plan in Plan.objects.order_by("pk") if period_dates_for_notice_day(plan=plan, on=on)]
    notices = list(Notice.objects.filter(charge_date=on).select_related("plan").order_by("plan_id"))
    unfinished = list(Period.objects.filter(status=PeriodStatus.SETTLING, charge_date__lt=on).order_by("charge_date"))
    return PeriodsDue(notice_plans=plans, charge_notices=notices, unfinished=unfinished)


def account_balance(*, account: str) -> int:
    """Debits − credits of one account, in fen."""
    sums = JournalLine.objects.filter(account=account).aggregate(debits=Sum("debit_fen"), credits=Sum("credit_fen"))
    return (sums["debits"] or 0) - (sums["credits"] or 0)


def ledger_unbalanced_entries() -> list[int]:
    """Ids of journal entries whose debits and credits differ: always empty."""
    return list(
        JournalLine.objects.values("entry_id")
        .annotate(debits=Sum("debit_fen"), credits=Sum("credit_fen"))
        .filter(~Q(debits=F("credits")))
        .values_list("entry_id", flat=True)
    )


def members_receivable_subledger() -> int:
    """What the members owe, from the sub-ledger, in fen: Σ charges − Σ payments − Σ arrears settled from
    payouts − Σ refunds. The members-receivable control account always equals it."""
    charged = Charge.objects.aggregate(total=Sum("amount_fen"))["total"] or 0
    paid = Payment.objects.aggregate(total=Sum("amount_fen"))["total"] or 0
    deducted = Payout.objects.aggregate(total=Sum("arrears_deducted_fen"))["total"] or 0
    refunded = Refund.objects.aggregate(total=Sum("amount_fen"))["total"] or 0
    return charged - paid - deducted - refunded


def members_receivable_matches_subledger() -> bool:
    return account_balance(account=Account.MEMBERS_RECEIVABLE) == members_receivable_subledger()


# --- payers: what a household owes, and the grace -----------------------------------------------------

# A household's charges are billed to its payer (the charge row's payer column); what settles them is
# credited to the same payer: payments, arrears deducted from a payout, refunds.
_CREDITS: tuple[tuple[type[Payment] | type[Payout] | type[Refund], str], ...] = (
    (Payment, "amount_fen"),
    (Payout, "arrears_deducted_fen"),
    (Refund, "amount_fen"),
)


def _payer_sum(rows: QuerySet[Charge] | QuerySet[Payment] | QuerySet[Payout] | QuerySet[Refund], field: str) -> int:
    return int(rows.aggregate(total=Sum(field))["total"] or 0)


def payer_balance(*, payer: Membership) -> int:
    """Σ credits − Σ charges of the payer's household, in fen: negative when they owe, positive in credit."""
    credits = sum(_payer_sum(model.objects.filter(payer=payer), field) for model, field in _CREDITS)
    return credits - _payer_sum(Charge.objects.filter(payer=payer), "amount_fen")


def payer_arrears(*, payer: Membership) -> int:
    """The household's unpaid charges, in fen (0 when paid up or in credit)."""
    return max(0, -payer_balance(payer=payer))


def next_charge_date(*, plan: Plan, after: date) -> date:
    """The plan's first charge day after `after` (the 14th → the 28th, the 28th → the next month's 14th)."""
    days = sorted({plan.first_charge_day, plan.second_charge_day})
    for month_start in (after.replace(day=1), (after.replace(day=1) + timedelta(days=32)).replace(day=1)):
        last = calendar.monthrange(month_start.year, month_start.month)[1]
        for day in days:
            candidate = month_start.replace(day=min(day, last))
            if candidate > after:
                return candidate
    raise ValueError(f"no charge day after {after}")  # unreachable: next month always has one


def grace_last_day(*, plan: Plan, charge_date: date) -> date:
    """The last day a period's charges may be paid: the plan's grace days before the next charge day."""
    return next_charge_date(plan=plan, after=charge_date) - timedelta(days=plan.grace_days_before_next_charge)


@dataclass(frozen=True)
class ArrearsDue:
    """Periods whose grace ended before the day and whose payers have not been checked yet, and the
    payers (ids) of those periods still in arrears whose household has someone left to remove."""

    periods: list[int]
    payers: list[int]


def arrears_after_grace(*, on: date) -> ArrearsDue:
    """The payers to remove on `on`: one query over the payers charged in the periods whose grace just ended.

    A payer is in arrears after the grace when their charges of every period whose grace has ended
    exceed everything credited to them (credits settle the oldest charges first). Charges of a period
    still in its grace do not count yet. Only payers charged in a period not yet checked are read: the
    others were checked when their own last period's grace ended, and credits only lower what they owe.
    """
    settled = Period.objects.filter(status=PeriodStatus.SETTLED).select_related("plan")
    in_grace: list[int] = []
    due: list[int] = []
    for period in settled.order_by("charge_date"):  # a couple of dozen periods a year, not members
        if grace_last_day(plan=period.plan, charge_date=period.charge_date) >= on:
            in_grace.append(period.pk)
        elif period.arrears_checked_on is None:
            due.append(period.pk)
    if not due:
        return ArrearsDue(periods=[], payers=[])
    owed = Subquery(
        Charge.objects.filter(payer_id=OuterRef("pk"))
        .exclude(period_id__in=in_grace)
        .order_by()
        .values("payer_id")
        .annotate(total=Sum("amount_fen"))
        .values("total")
    )
    credits = [
        Coalesce(
            Subquery(
                model.objects.filter(payer_id=OuterRef("pk"))
                .order_by()
                .values("payer_id")
                .annotate(total=Sum(field))
                .values("total")
            ),
            0,
        )
        for model, field in _CREDITS
    ]
    household_left = Membership.objects.filter(
        Q(pk=OuterRef("pk")) | Q(payer_id=OuterRef("pk")), status__in=LIVE_STATUSES
    )
    payers = (
        Membership.objects.filter(pk__in=Charge.objects.filter(period_id__in=due).values("payer_id"))
        .annotate(owed=Coalesce(owed, 0), credited=credits[0] + credits[1] + credits[2])
        .filter(owed__gt=F("credited"))
        .filter(Exists(household_left))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return ArrearsDue(periods=due, payers=list(payers))


# --- the period report: the admin's period page and the public report read the same figures -------------

# A period's batch: the claims published in its notice and not objected to since (an objection clears the
# claim's notice), whether still in notice, shared on the charge day or paid out.
PERIOD_CLAIM_STATUSES = (ClaimStatus.IN_NOTICE, ClaimStatus.SHARED, ClaimStatus.PAID)
FIGURES_FIXED = (PeriodStatus.SETTLING, PeriodStatus.SETTLED)
_FOUR_PLACES = Decimal("0.0001")


def periods_for_report() -> QuerySet[Period]:
    """Every period, newest first; its figures are on its own row, so the list never reads claims or charges."""
    return Period.objects.order_by("-notice_date", "-pk")


def period_for_report(*, period_id: int) -> Period:
    try:
        return Period.objects.select_related("plan").get(pk=period_id)
    except Period.DoesNotExist as exc:
        raise Http404 from exc


def period_claims(*, period: Period) -> QuerySet[Claim]:
    """The claims of the period's batch, with what their anonymised form needs, in one query."""
    return (
        Claim.objects.filter(notice_id=period.pk, status__in=PERIOD_CLAIM_STATUSES)
        .select_related("member__person", "condition", "notice")
        .order_by("pk")
    )


@dataclass(frozen=True)
class ClaimCost:
    """A claim as the public sees it, and what it costs each sharer."""

    case: PublicCase
    # The payout plus its part of the fee (payout × fee rate), divided by the sharers, in yuan to four
    # decimal places; None until the sharers are fixed on the charge day.
    per_member_yuan: Decimal | None
    # The per-claim cap holds each member's charge below that cost: the operator's subsidy pays the rest.
    capped: bool

    @property
    def per_member_text(self) -> str:
        """“15,428.5714”, grouped like the yuan amounts beside it whatever the page's language."""
        return f"{self.per_member_yuan:,}" if self.per_member_yuan is not None else ""


def claim_costs(*, period: Period, claims: list[Claim], language: str | None) -> list[ClaimCost]:
    plan = period.plan
    fixed = period.status in FIGURES_FIXED and period.sharers > 0
    costs = []
    for claim in claims:
        exact = _per_member_fen(claim.payout_fen or 0, plan.management_fee_rate, period.sharers) if fixed else None
        costs.append(
            ClaimCost(
                case=public_case_of(claim=claim, language=language),
                per_member_yuan=(exact / 100).quantize(_FOUR_PLACES, ROUND_HALF_UP) if exact is not None else None,
                capped=exact is not None and exact > plan.per_claim_cap_fen,
            )
        )
    return costs


def _per_member_fen(payout_fen: int, rate: Decimal, sharers: int) -> Decimal:
    return Decimal(payout_fen) * (1 + rate) / sharers


@dataclass(frozen=True)
class PeriodProgress:
    chunks_done: int
    chunks_total: int
    rows_written: int
    charged_fen: int


def period_progress(*, period: Period) -> PeriodProgress:
    """Read from the chunks' done markers, written in the same transaction as their charges: one small
    aggregate over N / chunk size rows, never a count of the charge table."""
    marks = PeriodChunk.objects.filter(period_id=period.pk).aggregate(
        total=Count("pk"),
        done=Count("pk", filter=Q(done_at__isnull=False)),
        rows=Sum("rows"),
        charged=Sum("sum_fen"),
    )
    return PeriodProgress(
        chunks_done=marks["done"],
        chunks_total=marks["total"],
        rows_written=marks["rows"] or 0,
        charged_fen=marks["charged"] or 0,
    )


def period_next_job_day(*, period: Period) -> date | None:
    """The day whose jobs move the period on: its notice day while open, its charge day while in notice or
    settling (a settlement stopped half-way resumes with that day's jobs); None once settled."""
    if period.status == PeriodStatus.OPEN:
        return period.notice_date
    if period.status in (PeriodStatus.IN_NOTICE, PeriodStatus.SETTLING):
        return period.charge_date
    return None
