"""Reads of settlement: what the calendar has due on a day, ledger balances, the sub-ledger's total."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import F, Q, Sum

from claims.models import Notice
from claims.services import notice_charge_date
from members.models import Plan
from settlement.models import Account, Charge, JournalLine, Period, PeriodStatus


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
    """Σ charges − Σ payments of every member, in fen (payments arrive with the payments work)."""
    return Charge.objects.aggregate(total=Sum("amount_fen"))["total"] or 0


def members_receivable_matches_subledger() -> bool:
    return account_balance(account=Account.MEMBERS_RECEIVABLE) == members_receivable_subledger()
