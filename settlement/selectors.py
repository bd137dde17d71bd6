"""Reads of settlement: what the calendar has due on a day, ledger balances, the sub-ledger's total."""

from __future__ import annotations

import calendar
import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from django.core.cache import cache
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, RowNumber
from django.http import Http404
from django.utils import timezone

from claims.models import Claim, ClaimStatus, ClaimTransition, Notice
from claims.selectors import PublicCase, public_case_of
from claims.services import notice_charge_date
from members.models import LIVE_STATUSES, Membership, Partner, PayoutTier, Plan
from members.selectors import plan_get_default
from settlement.models import (
    Account,
    Charge,
    JournalLine,
    MemberCount,
    Payment,
    Payout,
    Period,
    PeriodChunk,
    PeriodStatus,
    Refund,
)
from settlement.split import Figures, charge_for, period_figures


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


def _balance_sql() -> str:
    """payer_balance in SQL, for the outer membership row: Σ credits − Σ charges, null for a dependant."""
    membership = Membership._meta.db_table

    def total(model: type[Charge] | type[Payment] | type[Payout] | type[Refund], field: str) -> str:
        table = model._meta.db_table
        # Table and column names from the models, no input: nothing to inject.
        return f"COALESCE((SELECT SUM(t.{field}) FROM {table} t WHERE t.payer_id = {membership}.id), 0)"  # noqa: S608

    credits = " + ".join(total(model, field) for model, field in _CREDITS)
    return f"CASE WHEN {membership}.payer_id IS NULL THEN {credits} - {total(Charge, 'amount_fen')} END"


def memberships_with_balance(memberships: QuerySet[Membership]) -> QuerySet[Membership]:
    """`balance_fen` on each membership: payer_balance's Σ credits − Σ charges for payers, null for dependants.

    One correlated sum per table, each an index look-up on its payer column, so a page of members is
    still read in one query however long it is. A dependant's charges are billed to their payer, so
    only a payer has a balance. Written as SQL: built from ORM expressions, the four sums took longer to
    compile on every request (about 4 ms) than the database took to answer them.
    """
    return memberships.annotate(balance_fen=RawSQL(_balance_sql(), (), output_field=BigIntegerField()))  # noqa: S611


def charges_for_member(*, member: Membership) -> QuerySet[Charge]:
    """A payer's household's charges (every row billed to them), or a dependant's own; newest period first.

    Both read the (payer, period) index: a dependant's charges are billed to their payer.
    """
    charges = Charge.objects.filter(payer_id=member.payer_id or member.pk)
    if not member.is_payer:
        charges = charges.filter(member_id=member.pk)
    return charges.select_related("period").order_by("-period__charge_date", "-period_id", "member_id")


def payments_for_partner(*, partner: Partner, payer: int | None = None) -> QuerySet[Payment]:
    """The payments of the payers a partner enrolled, however they were recorded; newest first."""
    payments = Payment.objects.filter(payer__partner=partner)
    if payer is not None:
        payments = payments.filter(payer_id=payer)
    return payments.order_by("-received_at", "-pk")


def payment_for_partner(*, partner: Partner, payment_id: int) -> Payment:
    """Another partner's payment, or none at all: the same 404."""
    try:
        return payments_for_partner(partner=partner).get(pk=payment_id)
    except Payment.DoesNotExist as exc:
        raise Http404 from exc


def payment_by_reference(*, source: str, reference: str) -> Payment | None:
    return Payment.objects.filter(source=source, reference=reference.strip()).first()


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


def periods_with_claims() -> QuerySet[Period]:
    """Every period, newest first, each with its batch of claims (`notice.batch`) read in one more query
    for the whole page: the partner API shows the claims, anonymised, in the list as well."""
    batch = (
        Claim.objects.filter(status__in=PERIOD_CLAIM_STATUSES)
        .select_related("member__person", "condition", "notice")
        .order_by("pk")
    )
    return (
        periods_for_report()
        .select_related("plan", "notice")
        .prefetch_related(Prefetch("notice__claims", queryset=batch, to_attr="batch"))
    )


def period_with_claims(*, period_id: int) -> Period:
    try:
        return periods_with_claims().get(pk=period_id)
    except Period.DoesNotExist as exc:
        raise Http404 from exc


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


# --- a household's money, for the member's pages (portal): charges, what they shared, what they owe ------
#
# Everything a household is charged is billed to its payer, and every look-up below starts from the
# payer ids (the (payer, period) index). The query count never grows with the number of members, charges
# or periods: a page of periods is read with a fixed handful of queries.


@dataclass(frozen=True)
class PayerStatement:
    """What a payer's household was charged and credited, and the grace of the oldest charges still unpaid.

    Credits settle the oldest charges first (as arrears_after_grace reads them), so the unpaid amount is
    due by the grace of the oldest period not wholly covered; past that day the household is removed.
    """

    charged_fen: int
    credited_fen: int
    oldest_unpaid_charge_date: date | None
    pay_by: date | None
    on: date
    grace_days: int  # the plan's grace: unpaid charges may be paid until this many days before the next charge day

    @property
    def balance_fen(self) -> int:
        """Credits − charges: negative when the household owes, positive when in credit."""
        return self.credited_fen - self.charged_fen

    @property
    def arrears_fen(self) -> int:
        return max(0, self.charged_fen - self.credited_fen)

    @property
    def overdue(self) -> bool:
        return self.pay_by is not None and self.pay_by < self.on


def payer_statement(*, payer: Membership, on: date) -> PayerStatement:
    """The payer's balance and grace deadline, in four queries (charges by period, then each credit)."""
    by_period = list(
        Charge.objects.filter(payer=payer)
        .order_by("period__charge_date")
        .values("period__charge_date")
        .annotate(total=Sum("amount_fen"))
        .values_list("period__charge_date", "total")
    )
    credited = sum(_payer_sum(model.objects.filter(payer=payer), field) for model, field in _CREDITS)
    charged = 0
    oldest: date | None = None
    for charge_date, total in by_period:  # a period per fortnight the household was in, not members
        charged += int(total or 0)
        if oldest is None and charged > credited:
            oldest = charge_date
    pay_by = grace_last_day(plan=payer.plan, charge_date=oldest) if oldest is not None else None
    return PayerStatement(
        charged_fen=charged,
        credited_fen=credited,
        oldest_unpaid_charge_date=oldest,
        pay_by=pay_by,
        on=on,
        grace_days=payer.plan.grace_days_before_next_charge,
    )


@dataclass(frozen=True)
class MemberSharing:
    shared_fen: int  # Σ the member's charges
    claims_helped: int  # Σ the claims of the periods the member was charged for
    charged_in_year_fen: int  # charged in the periods of the year asked for (towards the annual cap)


@dataclass(frozen=True)
class HouseholdSharing:
    by_member: dict[int, MemberSharing]
    shared_fen: int
    # The claims of the periods anyone in the household was charged for, each period counted once.
    claims_helped: int

    def of(self, member_id: int) -> MemberSharing:
        return self.by_member.get(member_id, MemberSharing(0, 0, 0))


def household_sharing(*, payer_ids: list[int], year: int) -> HouseholdSharing:
    """What each member of the household has shared and how many claims that paid for: two queries."""
    if not payer_ids:
        return HouseholdSharing(by_member={}, shared_fen=0, claims_helped=0)
    charges = Charge.objects.filter(payer_id__in=payer_ids)
    rows = (
        charges.order_by()
        .values("member_id")
        .annotate(
            shared=Sum("amount_fen"),
            claims=Sum("period__claims_count"),
            in_year=Sum("amount_fen", filter=Q(period__charge_date__year=year)),
        )
        .values_list("member_id", "shared", "claims", "in_year")
    )
    by_member = {
        member: MemberSharing(int(shared or 0), int(claims or 0), int(in_year or 0))
        for member, shared, claims, in_year in rows
    }
    helped = Period.objects.filter(pk__in=charges.values("period_id")).aggregate(n=Sum("claims_count"))["n"]
    return HouseholdSharing(
        by_member=by_member, shared_fen=sum(s.shared_fen for s in by_member.values()), claims_helped=int(helped or 0)
    )


def household_charged_periods(*, payer_ids: list[int]) -> QuerySet[Period]:
    """The settled periods the household was charged in, newest first (the charges page pages through them)."""
    charged = Charge.objects.filter(payer_id__in=payer_ids).values("period_id")
    return (
        Period.objects.filter(pk__in=charged, status=PeriodStatus.SETTLED)
        .select_related("plan")
        .order_by("-charge_date", "-pk")
    )


def household_charges_in(*, payer_ids: list[int], periods: list[Period]) -> list[Charge]:
    """The household's charge rows of the given periods (a page of them), with whom each is for."""
    return list(
        Charge.objects.filter(payer_id__in=payer_ids, period_id__in=[p.pk for p in periods])
        .select_related("member__person")
        .order_by("period_id", "member_id")
    )


def periods_claims_first(*, periods: list[Period], count: int) -> dict[int, list[Claim]]:
    """The first `count` claims of each period's batch, in one query however many claims a period has."""
    ranked = (
        Claim.objects.filter(notice_id__in=[p.pk for p in periods], status__in=PERIOD_CLAIM_STATUSES)
        .annotate(rank=Window(RowNumber(), partition_by=[F("notice_id")], order_by=F("pk").asc()))
        .filter(rank__lte=count)
        .select_related("member__person", "condition", "notice")
        .order_by("notice_id", "pk")
    )
    first: dict[int, list[Claim]] = {p.pk: [] for p in periods}
    for claim in ranked:
        first[claim.notice_id].append(claim)  # type: ignore[index]
    return first


def periods_upcoming(*, plan_ids: list[int]) -> list[Period]:
    """The periods of these plans not settled yet: opened on their notice day, charged on their charge day."""
    return list(
        Period.objects.filter(plan_id__in=plan_ids)
        .exclude(status=PeriodStatus.SETTLED)
        .select_related("plan")
        .order_by("charge_date", "pk")
    )


@dataclass(frozen=True)
class PeriodExpected:
    """A period's figures before the charge day (what the batch in notice will cost), or the fixed ones."""

    period: Period
    claims: int
    payouts_fen: int
    fee_fen: int
    total_fen: int
    sharers: int
    per_member_fen: int  # ⌊total ÷ sharers⌋
    per_member_cap_fen: int  # what the per-claim cap lets a member pay at most
    most_fen: int  # the most any member pays: one fen more than ⌊total ÷ sharers⌋ at most, then capped
    fixed: bool  # True once the charge day fixed the figures

    @property
    def extra_fen(self) -> int:
        """How many sharers pay one fen more than ⌊total ÷ sharers⌋."""
        return self.total_fen % self.sharers if self.sharers else 0

    @property
    def capped(self) -> bool:
        """Whether the per-claim cap lowers the charge: the operator then pays the rest."""
        return self.sharers > 0 and self.per_member_cap_fen < self.per_member_fen + (1 if self.extra_fen else 0)

    def charge_for(self, *, charged_in_year_fen: int) -> int:
        """The most a member pays this period, after what is left of the plan's annual cap."""
        room = max(0, self.period.plan.annual_cap_fen - charged_in_year_fen)
        return min(self.most_fen, room)

    def annual_cap_bites(self, *, charged_in_year_fen: int) -> bool:
        return self.charge_for(charged_in_year_fen=charged_in_year_fen) < self.most_fen


# The sharers of a period in notice are fixed by dates at 00:00 on its notice day: the nightly member
# count of that day has them (MemberCount.covered, as the admin dashboard reads them); only without that
# row are they counted with the split's own statement, once, and kept for a while, so a page view does
# not count the whole membership.
EXPECTED_SHARERS_SECONDS = 15 * 60
_ONE_CHUNK = 2**62


def period_expected_sharers(*, period: Period) -> int:
    from settlement import sql

    counted = MemberCount.objects.filter(plan_id=period.plan_id, day=period.notice_date).first()
    if counted is not None:
        return counted.covered
    # created_at makes the key unique to this period row, even where ids are reused (a test database).
    key = f"settlement:expected-sharers:{period.pk}:{period.notice_date}:{period.created_at.timestamp()}"
    sharers = cache.get(key)
    if sharers is None:
        counts = sql.sharers_by_chunk(plan=period.plan_id, notice_date=period.notice_date, size=_ONE_CHUNK)
        sharers = sum(n for _k, n in counts)
        cache.set(key, sharers, EXPECTED_SHARERS_SECONDS)
    return int(sharers)


def periods_expected(*, periods: list[Period]) -> dict[int, PeriodExpected]:
    """Each period's figures: fixed ones from the period's row, else computed as the charge day will.

    One query reads the payouts of every batch still in notice; the sharers come from
    period_expected_sharers. The result is an estimate only in that a claim objected to before the
    charge day leaves the batch (and lowers the figures).
    """
    open_ids = [p.pk for p in periods if p.status not in FIGURES_FIXED]
    payouts: dict[int, list[int]] = {pk: [] for pk in open_ids}
    if open_ids:
        rows = Claim.objects.filter(notice_id__in=open_ids, status__in=PERIOD_CLAIM_STATUSES).values_list(
            "notice_id", "payout_fen"
        )
        for notice_id, payout in rows.order_by("pk"):
            payouts[notice_id].append(payout or 0)
    expected = {}
    for period in periods:
        if period.status in FIGURES_FIXED:
            expected[period.pk] = PeriodExpected(
                period=period,
                claims=period.claims_count,
                payouts_fen=period.payouts_total_fen,
                fee_fen=period.fee_fen,
                total_fen=period.total_fen,
                sharers=period.sharers,
                per_member_fen=period.per_member_fen,
                per_member_cap_fen=period.per_member_cap_fen,
                most_fen=period.max_charge_fen,
                fixed=True,
            )
            continue
        figures = period_figures(
            payouts_fen=payouts[period.pk],
            rate=period.plan.management_fee_rate,
            sharers=period_expected_sharers(period=period) if payouts[period.pk] else 0,
            per_claim_cap_fen=period.plan.per_claim_cap_fen,
        )
        expected[period.pk] = PeriodExpected(
            period=period,
            claims=figures.claims,
            payouts_fen=figures.payouts_fen,
            fee_fen=figures.fee_fen,
            total_fen=figures.total_fen,
            sharers=figures.sharers,
            per_member_fen=figures.per_member_fen,
            per_member_cap_fen=figures.per_member_cap_fen,
            most_fen=figures.max_charge_fen,
            fixed=False,
        )
    return expected


def membership_shares_period(*, membership: Membership, period: Period) -> bool:
    """Whether the membership is one of the period's sharers: the split's own rule (settlement/sql.py),
    read from the dates of a membership already loaded."""
    return (
        membership.plan_id == period.plan_id
        and membership.joined_on < period.notice_date
        and (membership.ended_on is None or membership.ended_on >= period.notice_date)
        and membership.status != "pending_review"
    )


# --- transparency: the plan over time, for the public charts and the admin dashboard -------------------
# Everything below reads the periods' own rows, the claims (a few thousand a period) and the daily member
# counts (one row a day): never the memberships or the charges, whose rows grow with the members.

PERIODS_CHARTED = 24  # a year of periods
MEMBER_COUNT_POINTS = 24
AGE_BAND_YEARS = 10
TRANSPARENCY_CACHE_SECONDS = 10 * 60
LEDGER_CHECKS_CACHE_SECONDS = 5 * 60
# The claims whose payout is final: their batch was shared on a charge day.
SHARED_CLAIM_STATUSES = (ClaimStatus.SHARED, ClaimStatus.PAID)


def plan_for_public() -> Plan:
    """The plan the public pages describe (the product runs one); a site with no plan yet answers 404."""
    try:
        return plan_get_default()
    except Plan.DoesNotExist as exc:
        raise Http404 from exc


@dataclass(frozen=True)
class PlanRules:
    """The plan's numbers as the rules page says them; every one of them a field of the plan."""

    plan: Plan
    fee_percent: Decimal
    conditions: list[str]
    questions: list[str]
    tiers: list[PayoutTier]


def plan_rules(*, plan: Plan, language: str | None) -> PlanRules:
    conditions = plan.conditions.order_by("code")
    return PlanRules(
        plan=plan,
        fee_percent=_percent(plan.management_fee_rate),
        conditions=[condition.name(language) for condition in conditions],
        questions=[question.text(language) for question in plan.health_questions.all()],
        tiers=list(plan.payout_tiers.order_by("from_age")),
    )


def _percent(rate: Decimal) -> Decimal:
    """0.0800 → 8, 0.0750 → 7.5: the rate as people say it."""
    percent = rate * 100
    return percent.quantize(Decimal(1)) if percent == percent.to_integral_value() else percent.normalize()


@dataclass(frozen=True)
class PeriodPoint:
    period_id: int
    notice_date: date
    claims: int
    sharers: int
    payouts_fen: int
    total_fen: int
    per_member_fen: int
    max_charge_fen: int


@dataclass(frozen=True)
class MemberCountPoint:
    day: date
    pending_review: int
    waiting: int
    active: int
    exited: int
    removed: int
    paid_out: int
    expelled: int

    @property
    def covered(self) -> int:
        return self.waiting + self.active

    @property
    def left(self) -> int:
        """Left the plan without a payout: exited, removed for non-payment or expelled."""
        return self.exited + self.removed + self.expelled


@dataclass(frozen=True)
class AgeBand:
    low: int
    high: int
    claims: int
    payouts_fen: int


@dataclass(frozen=True)
class ConditionTotal:
    code: str
    name_zh: str
    name_en: str
    claims: int
    payouts_fen: int

    def name(self, language: str | None) -> str:
        return self.name_en if (language or "").startswith("en") else self.name_zh


@dataclass(frozen=True)
class TransparencyFigures:
    periods: list[PeriodPoint]  # the last PERIODS_CHARTED settled periods, oldest first
    member_counts: list[MemberCountPoint]  # at most MEMBER_COUNT_POINTS days, oldest first, the latest included
    age_bands: list[AgeBand]
    conditions: list[ConditionTotal]  # most paid first


_Kept = TypeVar("_Kept")


def _shape(*classes: type) -> str:
    """A short digest of the dataclasses' names and fields: part of a cache key, so that a release that
    changes what is kept never reads an older release's entries."""
    described = ";".join(f"{c.__qualname__}({','.join(f.name for f in dataclass_fields(c))})" for c in classes)
    return hashlib.sha256(described.encode()).hexdigest()[:12]


def _kept(key: str, build: Callable[[], _Kept], seconds: int) -> _Kept:
    """A computed value kept in the cache; an entry that no longer unpickles is read as a miss."""
    try:
        found: _Kept | None = cache.get(key)
    except (AttributeError, ImportError, TypeError, ValueError, pickle.UnpicklingError):
        found = None
    if found is None:
        found = build()
        cache.set(key, found, seconds)
    return found


_TRANSPARENCY_SHAPE = _shape(TransparencyFigures, PeriodPoint, MemberCountPoint, AgeBand, ConditionTotal)


def transparency_figures(*, plan: Plan) -> TransparencyFigures:
    """The public charts' figures, kept in the cache for ten minutes: they change once a day at most, and a
    popular page should not run its aggregates over the claims for every visitor."""
    return _kept(
        f"settlement:transparency:{plan.pk}:{_TRANSPARENCY_SHAPE}",
        lambda: TransparencyFigures(
            periods=settled_periods_charted(plan=plan),
            member_counts=member_counts_over_time(plan=plan),
            age_bands=payouts_by_age_band(plan=plan),
            conditions=payouts_by_condition(plan=plan),
        ),
        TRANSPARENCY_CACHE_SECONDS,
    )


def settled_periods_charted(*, plan: Plan, most: int = PERIODS_CHARTED) -> list[PeriodPoint]:
    """The last `most` settled periods, oldest first, from the periods' own figures (one row each)."""
    rows = (
        Period.objects.filter(plan=plan, status=PeriodStatus.SETTLED)
        .order_by("-notice_date")
        .values_list(
            "pk",
            "notice_date",
            "claims_count",
            "sharers",
            "payouts_total_fen",
            "total_fen",
            "per_member_fen",
            "max_charge_fen",
        )[:most]
    )
    return [PeriodPoint(*row) for row in reversed(rows)]


def member_counts_over_time(*, plan: Plan, most: int = MEMBER_COUNT_POINTS) -> list[MemberCountPoint]:
    """The daily member counts, thinned to `most` evenly spread days (the first and the latest kept)."""
    rows = list(
        MemberCount.objects.filter(plan=plan)
        .order_by("day")
        .values_list("day", "pending_review", "waiting", "active", "exited", "removed", "paid_out", "expelled")
    )
    if len(rows) > most > 1:
        rows = [rows[round(i * (len(rows) - 1) / (most - 1))] for i in range(most)]
    return [MemberCountPoint(*row) for row in rows]


def payouts_by_age_band(*, plan: Plan) -> list[AgeBand]:
    """Shared claims and their payouts by ten-year band of the age at diagnosis: one GROUP BY."""
    rows = (
        Claim.objects.filter(notice__plan=plan, status__in=SHARED_CLAIM_STATUSES)
        .annotate(band=F("age_at_diagnosis") / AGE_BAND_YEARS)
        .values("band")
        .annotate(claims=Count("pk"), payouts=Sum("payout_fen"))
        .order_by("band")
    )
    return [
        AgeBand(
            low=row["band"] * AGE_BAND_YEARS,
            high=row["band"] * AGE_BAND_YEARS + AGE_BAND_YEARS - 1,
            claims=row["claims"],
            payouts_fen=row["payouts"] or 0,
        )
        for row in rows
        if row["band"] is not None
    ]


def payouts_by_condition(*, plan: Plan) -> list[ConditionTotal]:
    """Shared claims and their payouts by covered condition, most paid first: one GROUP BY."""
    rows = (
        Claim.objects.filter(notice__plan=plan, status__in=SHARED_CLAIM_STATUSES)
        .values("condition__code", "condition__name_zh", "condition__name_en")
        .annotate(claims=Count("pk"), payouts=Sum("payout_fen"))
        .order_by("-payouts", "condition__code")
    )
    return [
        ConditionTotal(
            code=row["condition__code"],
            name_zh=row["condition__name_zh"],
            name_en=row["condition__name_en"],
            claims=row["claims"],
            payouts_fen=row["payouts"] or 0,
        )
        for row in rows
    ]


# --- the admin dashboard -------------------------------------------------------------------------------

# Claims someone is waiting on: an administrator, the notice day, the charge day or the payout.
WAITING_CLAIM_STATUSES = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.INVESTIGATING,
    ClaimStatus.APPEALED,
    ClaimStatus.APPROVED,
    ClaimStatus.IN_NOTICE,
    ClaimStatus.SHARED,
)


@dataclass(frozen=True)
class ClaimsWaiting:
    status: str
    count: int
    oldest_days: int  # days the longest-waiting of them has been in this status
    median_days: float

    @property
    def label(self) -> str:
        return str(ClaimStatus(self.status).label)


def claims_waiting(*, on: date) -> list[ClaimsWaiting]:
    """Per status, the claims waiting and how long they have been in it (oldest, median): two queries.

    A claim entered its status at its latest timeline row to that status (a claim with no timeline, as
    some made by tests and imports, counts from its filing). The median comes from the database too: a
    window numbers each status's claims by that time and only the middle one or two rows come back,
    however many claims are waiting.
    """
    entered = Coalesce(
        Subquery(
            ClaimTransition.objects.filter(claim=OuterRef("pk"), to_status=OuterRef("status"))
            # A step that keeps the status (an approval proposed, an appeal escalated) does not restart it.
            .exclude(from_status=F("to_status"))
            .order_by("-at", "-pk")
            .values("at")[:1]
        ),
        F("filed_at"),
    )
    waiting = Claim.objects.filter(status__in=WAITING_CLAIM_STATUSES).annotate(entered=entered).order_by()
    counts = {
        row["status"]: row
        for row in waiting.values("status").annotate(count=Count("pk"), oldest=Min("entered")).order_by("status")
    }
    numbered = waiting.annotate(
        row=Window(RowNumber(), partition_by=[F("status")], order_by=[F("entered").asc(), F("pk").asc()]),
        of=Window(Count("pk"), partition_by=[F("status")]),
    )
    # The middle row of an odd count, the two middle rows of an even one: (n + 1) / 2 ≤ row ≤ n / 2 + 1.
    middle = numbered.filter(row__gte=(F("of") + 1) / 2, row__lte=F("of") / 2 + 1).values_list("status", "entered")
    middles: dict[str, list[int]] = {}
    for status, entered_at in middle:
        middles.setdefault(status, []).append(_days_since(entered_at, on))
    return [
        ClaimsWaiting(
            status=status,
            count=counts[status]["count"],
            oldest_days=_days_since(counts[status]["oldest"], on),
            median_days=sum(middles.get(status, [0])) / max(len(middles.get(status, [])), 1),
        )
        for status in WAITING_CLAIM_STATUSES
        if status in counts
    ]


def _days_since(moment: datetime, on: date) -> int:
    return max(0, (on - timezone.localdate(moment)).days)


@dataclass(frozen=True)
class ExpectedPeriod:
    """What a coming charge day should charge, with the settlement's own arithmetic (settlement/split.py).

    The batch is the claims of the period in notice or, for the next notice day, the claims approved and
    waiting for it; the sharers are the latest daily member count (covered at 00:00 that day), so members
    who join or leave before the notice day move the figures a little. None where no count exists yet.
    """

    notice_date: date
    charge_date: date
    published: bool  # the batch is in its public notice (else: approved claims waiting for the notice day)
    claims: int
    payouts_fen: int
    sharers: int | None
    counted_on: date | None
    figures: Figures | None
    subsidy_fen: int | None
    annual_cap_may_apply: bool


def coming_periods_expected(*, plan: Plan, on: date) -> list[ExpectedPeriod]:
    """The period in notice (if any) and the next notice day's period, as settlement would charge them now."""
    in_notice = list(
        Period.objects.filter(plan=plan, status__in=(PeriodStatus.OPEN, PeriodStatus.IN_NOTICE)).order_by("notice_date")
    )
    payouts: dict[int | None, list[int]] = {period.pk: [] for period in in_notice}
    payouts[None] = []
    claims = Claim.objects.filter(member__plan=plan).filter(
        Q(status=ClaimStatus.APPROVED, notice__isnull=True)
        | Q(status=ClaimStatus.IN_NOTICE, notice_id__in=[period.pk for period in in_notice])
    )
    for notice_id, payout in claims.order_by("pk").values_list("notice_id", "payout_fen"):
        payouts[notice_id].append(payout or 0)
    next_notice = _next_notice_day(plan=plan, after=max([on, *(p.notice_date for p in in_notice)]))
    batches = [(p.notice_date, p.charge_date, True, payouts[p.pk]) for p in in_notice] + [
        (*next_notice, False, payouts[None])
    ]
    counts = _member_counts_for(plan=plan, days=[p.notice_date for p in in_notice], on=on)
    charged_this_year = dict(
        Period.objects.filter(plan=plan, status__in=FIGURES_FIXED, charge_date__year__in={b[1].year for b in batches})
        .order_by()
        .values_list("charge_date__year")
        .annotate(most=Sum("max_charge_fen"))
    )
    expected = []
    for notice_date, charge_date, published, batch in batches:
        count = counts.get(notice_date) or counts.get(None)
        sharers = count.covered if count is not None else None
        figures = (
            period_figures(
                payouts_fen=batch,
                rate=plan.management_fee_rate,
                sharers=sharers,
                per_claim_cap_fen=plan.per_claim_cap_fen,
            )
            if sharers is not None
            else None
        )
        most_so_far = charged_this_year.get(charge_date.year, 0)
        if figures is not None:
            charged_this_year[charge_date.year] = most_so_far + figures.max_charge_fen
        expected.append(
            ExpectedPeriod(
                notice_date=notice_date,
                charge_date=charge_date,
                published=published,
                claims=len(batch),
                payouts_fen=sum(batch),
                sharers=sharers,
                counted_on=count.day if count is not None else None,
                figures=figures,
                subsidy_fen=_expected_subsidy(figures) if figures is not None else None,
                annual_cap_may_apply=figures is not None and most_so_far + figures.max_charge_fen > plan.annual_cap_fen,
            )
        )
    return expected


def _next_notice_day(*, plan: Plan, after: date) -> tuple[date, date]:
    """The plan's first notice day after `after`, and its charge day."""
    for offset in range(1, 63):
        day = after + timedelta(days=offset)
        dates = period_dates_for_notice_day(plan=plan, on=day)
        if dates is not None:
            return dates
    raise ValueError(f"the plan has no notice day after {after}")  # unreachable: every month has two


def _member_counts_for(*, plan: Plan, days: list[date], on: date) -> dict[date | None, MemberCount]:
    """The daily counts of the given days, and (under None) the latest count up to `on`: one query."""
    latest = MemberCount.objects.filter(plan=plan, day__lte=on).order_by("-day").values("pk")[:1]
    rows = MemberCount.objects.filter(Q(plan=plan, day__in=days) | Q(pk__in=Subquery(latest))).order_by("day")
    found: dict[date | None, MemberCount] = {}
    for row in rows:
        found[row.day] = row
        if row.day <= on:
            found[None] = row
    return found


def _expected_subsidy(figures: Figures) -> int:
    """The total less what the sharers are charged: ⌊T/N⌋ for most, one fen more for T mod N, each at most
    the period's cap (the annual cap, which only a few members may reach, is left out)."""
    if not figures.sharers or not figures.total_fen:
        return 0
    base, extra = divmod(figures.total_fen, figures.sharers)
    cap = figures.per_member_cap_fen
    charged = (figures.sharers - extra) * charge_for(
        share_fen=base, period_cap_fen=cap, annual_cap_fen=None, charged_this_year_fen=0
    ) + extra * charge_for(share_fen=base + 1, period_cap_fen=cap, annual_cap_fen=None, charged_this_year_fen=0)
    return figures.total_fen - charged


@dataclass(frozen=True)
class LedgerChecks:
    unbalanced_entries: list[int]
    receivable_fen: int
    receivable_matches: bool
    checked_at: datetime

    @property
    def balanced(self) -> bool:
        return not self.unbalanced_entries


def ledger_checks() -> LedgerChecks:
    """The ledger's invariants for the dashboard, kept five minutes: the sub-ledger's total reads every
    charge row, which at scale takes long enough that a page should not run it on every load."""
    return _kept(
        f"settlement:ledger-checks:{_shape(LedgerChecks)}",
        lambda: LedgerChecks(
            unbalanced_entries=ledger_unbalanced_entries(),
            receivable_fen=account_balance(account=Account.MEMBERS_RECEIVABLE),
            receivable_matches=members_receivable_matches_subledger(),
            checked_at=timezone.now(),
        ),
        LEDGER_CHECKS_CACHE_SECONDS,
    )
