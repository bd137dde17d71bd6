"""Writes of settlement: opening a period on its notice day, and settling it on its charge day.

The settlement of a period runs in three steps, each its own transaction and each safe to run again:
1. `period_settle_start` (on the charge day): the batch becomes final (claims `shared`), the figures are
   fixed (payouts, fee, total, sharers N, caps, rotation), the member-id range is cut into chunks, each
   with the number of sharers below it, and the payouts and fee are posted. The period is `settling`.
2. `period_settle_chunk`, one per chunk and on any worker: one INSERT … SELECT writes the chunk's
   charges, and in the same transaction its done marker (rows, Σ fen) and its ledger entry. A chunk
   already done is left alone, so a duplicate task or a re-run after a killed worker adds nothing.
3. `period_settle_finish`, queued by whichever chunk completes the set: checks that the rows and sums
   add up (N rows, Σ charges + subsidy = total, to the fen), posts the subsidy and marks it `settled`.
Nothing here loops over members; Python touches claims (a few thousand) and chunks (N / 50,000).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from itertools import accumulate

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim, ClaimStatus, Notice
from claims.services import claim_mark_paid, claims_share_notice, notices_publish
from members.errors import DomainError
from members.models import Membership, Plan, User
from members.services import WAITING_PERIOD_ILLNESS, household_remove_for_non_payment, membership_mark_paid_out
from settlement import sql
from settlement.errors import (
    ClaimNotPayable,
    EarlierPeriodOpen,
    NotAPayer,
    PaymentReferenceConflict,
    SettlementMismatch,
)
from settlement.ledger import credit, debit, journal_post
from settlement.models import (
    ADMIN_SOURCE,
    Account,
    Charge,
    EntryKind,
    MemberCount,
    Payment,
    Payout,
    Period,
    PeriodChunk,
    PeriodStatus,
    Refund,
)
from settlement.selectors import arrears_after_grace, payer_arrears, periods_due
from settlement.signals import period_opened_send, period_settled_send
from settlement.split import Figures, period_figures

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 50_000


def chunk_size_setting() -> int:
    """Member ids per chunk (SETTLEMENT_CHUNK_SIZE): about a second of PostgreSQL's work each."""
    return int(getattr(settings, "SETTLEMENT_CHUNK_SIZE", DEFAULT_CHUNK_SIZE))


# --- the calendar -----------------------------------------------------------------------------------


def period_open(*, plan: Plan, on: date, by: User | None = None) -> Period | None:
    """The notice-day job: publish the approved claims and open the period (in notice); else None.

    Safe to run twice, or after the claims app's own notice job: both find the same notice.
    """
    notice = notices_publish(plan=plan, on=on, by=by)
    if notice is None:
        return None
    period, created = _period_for_notice(notice)
    if created:
        # The charge is published once, when the period first opens: a second run, even one at the same
        # moment (get_or_create creates the row once), tells nobody again.
        period_opened_send(period_id=period.pk)
    return period


def _period_for_notice(notice: Notice) -> tuple[Period, bool]:
    return Period.objects.get_or_create(
        notice=notice,
        defaults={
            "plan_id": notice.plan_id,
            "notice_date": notice.notice_date,
            "charge_date": notice.charge_date,
            "status": PeriodStatus.IN_NOTICE,
        },
    )


@dataclass(frozen=True)
class JobsRun:
    opened: list[int] = field(default_factory=list)
    settling: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)


def period_jobs_run(*, on: date, chunk_size: int | None = None) -> JobsRun:
    """Run the jobs due on `on` (what beat runs daily and `period_close --on` runs by hand).

    Notice day: open the period. Charge day: settle the period (the split runs on the workers).
    Any day: resume a settlement that started earlier and never finished, e.g. after a worker was killed.
    """
    due = periods_due(on=on)
    opened = [p.pk for p in (period_open(plan=plan, on=on) for plan in due.notice_plans) if p is not None]
    settling = [
        period_settle_start(period=_period_for_notice(notice)[0], chunk_size=chunk_size).pk
        for notice in due.charge_notices
    ]
    resumed = [period_settle_start(period=period).pk for period in due.unfinished]
    return JobsRun(opened=opened, settling=settling, resumed=resumed)


# --- step 1: the start --------------------------------------------------------------------------------


def period_settle_start(*, period: Period, chunk_size: int | None = None, by: User | None = None) -> Period:
    """Fix the period's figures and queue its chunks; on a period already settling, queue what is not done.

    The figures are computed once (the first run moves the period out of `in_notice` under a row lock);
    any later run only queues the chunks still missing, or the finish.
    """
    with transaction.atomic():
        # no_key: the chunks' charges and entries reference the period (a key-share lock each), and
        # updating its figures must not wait for them, nor they for it; of=self: plan and notice are read.
        locked = (
            Period.objects.select_for_update(no_key=True, of=("self",))
            .select_related("plan", "notice")
            .get(pk=period.pk)
        )
        if locked.status in (PeriodStatus.OPEN, PeriodStatus.IN_NOTICE):
            _fix_figures(locked, chunk_size=chunk_size or chunk_size_setting(), by=by)
        if locked.status == PeriodStatus.SETTLING:
            _queue_remaining(locked)
    period.refresh_from_db()  # the caller's copy, brought up to date
    return locked


def _fix_figures(period: Period, *, chunk_size: int, by: User | None) -> None:
    earlier = Period.objects.filter(plan=period.plan, charge_date__lt=period.charge_date).exclude(
        status=PeriodStatus.SETTLED
    )
    if earlier.exists():
        raise EarlierPeriodOpen()
    claims_share_notice(notice=period.notice, by=by)
    payouts = list(
        Claim.objects.filter(notice=period.notice, status=ClaimStatus.SHARED)
        .order_by("pk")
        .values_list("payout_fen", flat=True)
    )
    counts = sql.sharers_by_chunk(plan=period.plan_id, notice_date=period.notice_date, size=chunk_size)
    figures = period_figures(
        payouts_fen=[p or 0 for p in payouts],
        rate=period.plan.management_fee_rate,
        sharers=sum(n for _k, n in counts),
        per_claim_cap_fen=period.plan.per_claim_cap_fen,
    )
    _set_figures(period, figures, chunk_size=chunk_size)
    if figures.total_fen and figures.sharers:
        # No claims, nothing to charge: a period without claims writes no charge rows.
        before = [0, *accumulate(n for _k, n in counts)]
        PeriodChunk.objects.bulk_create(
            PeriodChunk(period=period, lo=k * chunk_size, hi=(k + 1) * chunk_size, sharers_before=before[i], sharers=n)
            for i, (k, n) in enumerate(counts)
        )
    _post_period_start(period)
    logger.info("period %s settling: %s sharers, total %s fen", period.pk, figures.sharers, figures.total_fen)


def _set_figures(period: Period, figures: Figures, *, chunk_size: int) -> None:
    previous = (
        Period.objects.filter(plan=period.plan, charge_date__lt=period.charge_date).order_by("-charge_date").first()
    )
    # The extra fen start where the previous period's stopped, so they move round the membership.
    period.rotation = previous.rotation + previous.extra_fen if previous is not None else 0
    period.claims_count = figures.claims
    period.sharers = figures.sharers
    period.payouts_total_fen = figures.payouts_fen
    period.fee_fen = figures.fee_fen
    period.total_fen = figures.total_fen
    period.per_member_fen = figures.per_member_fen
    period.per_member_cap_fen = figures.per_member_cap_fen
    period.max_charge_fen = figures.max_charge_fen
    period.annual_cap_applies, period.annual_cap_periods = _annual_cap(period, figures)
    period.chunk_size = chunk_size
    period.status = PeriodStatus.SETTLING
    period.save()


def _annual_cap(period: Period, figures: Figures) -> tuple[bool, list[int]]:
    """Whether the annual cap can bite this period, and the earlier periods of the charge year to read for it.

    Each member paid at most each earlier period's largest charge, so while those plus this period's
    largest charge stay within the cap, no member's charges need to be looked up at all.
    """
    same_year = Period.objects.filter(
        plan=period.plan, charge_date__year=period.charge_date.year, charge_date__lt=period.charge_date
    )
    most_so_far = same_year.aggregate(most=Sum("max_charge_fen"))["most"] or 0
    if most_so_far + figures.max_charge_fen <= period.plan.annual_cap_fen:
        return False, []
    return True, sorted(same_year.filter(max_charge_fen__gt=0).values_list("pk", flat=True))


def _post_period_start(period: Period) -> None:
    journal_post(
        key=f"period-{period.pk}-payouts",
        kind=EntryKind.PAYOUTS,
        period=period,
        lines=[
            debit(Account.MUTUAL_FUND, period.payouts_total_fen),
            credit(Account.CLAIMS_PAYABLE, period.payouts_total_fen),
        ],
    )
    journal_post(
        key=f"period-{period.pk}-fee",
        kind=EntryKind.FEE,
        period=period,
        lines=[debit(Account.MUTUAL_FUND, period.fee_fen), credit(Account.FEE_INCOME, period.fee_fen)],
    )


def _queue_remaining(period: Period) -> None:
    from settlement.tasks import settle_chunk, settle_finish

    pending = list(period.chunks.filter(done_at__isnull=True).values_list("lo", "hi"))
    period_id = period.pk
    if not pending:
        transaction.on_commit(lambda: settle_finish.delay(period_id))
        return
    for lo, hi in pending:
        transaction.on_commit(partial(settle_chunk.delay, period_id, lo, hi))


# --- step 2: a chunk ------------------------------------------------------------------------------------


def period_settle_chunk(*, period_id: int, lo: int, hi: int) -> bool:
    """Write one chunk's charges, its done marker and its ledger entry; False when it was already done."""
    with transaction.atomic():
        # The marker's row lock: two workers given the same chunk run it one after the other, and the
        # second finds it done.
        chunk = PeriodChunk.objects.select_for_update().select_related("period").get(period_id=period_id, lo=lo)
        if chunk.hi != hi:
            raise SettlementMismatch(f"period {period_id}: the chunk at {lo} ends at {chunk.hi}, not {hi}")
        if chunk.done_at is not None:
            return False
        period = chunk.period
        if period.status != PeriodStatus.SETTLING:
            raise SettlementMismatch(f"period {period_id} is {period.status}, not settling")
        sql.insert_chunk(_chunk_split(period, chunk))
        totals = sql.chunk_totals(period=period_id, lo=lo, hi=hi)
        if totals.rows != chunk.sharers:
            # A membership's dates changed since the start: the positions would be wrong, so stop loudly.
            raise SettlementMismatch(f"period {period_id}, chunk {lo}: {totals.rows} rows for {chunk.sharers} sharers")
        chunk.rows, chunk.sum_fen, chunk.capped_fen = totals.rows, totals.sum_fen, totals.capped_fen
        chunk.done_at = timezone.now()
        chunk.save(update_fields=["rows", "sum_fen", "capped_fen", "done_at"])
        journal_post(
            key=f"period-{period_id}-chunk-{lo}",
            kind=EntryKind.CHARGES,
            period=period,
            lines=[debit(Account.MEMBERS_RECEIVABLE, totals.sum_fen), credit(Account.MUTUAL_FUND, totals.sum_fen)],
        )
        transaction.on_commit(lambda: _finish_when_complete(period_id))
    return True


def _chunk_split(period: Period, chunk: PeriodChunk) -> sql.ChunkSplit:
    return sql.ChunkSplit(
        period=period.pk,
        plan=period.plan_id,
        notice_date=period.notice_date,
        lo=chunk.lo,
        hi=chunk.hi,
        sharers_before=chunk.sharers_before,
        sharers=period.sharers,
        total_fen=period.total_fen,
        rotation=period.rotation,
        period_cap_fen=period.per_member_cap_fen,
        annual_cap_fen=period.plan.annual_cap_fen if period.annual_cap_applies else None,
        annual_cap_periods=tuple(period.annual_cap_periods),
    )


def _finish_when_complete(period_id: int) -> None:
    """After a chunk commits: the last one sees every other chunk's commit, and queues the finish.

    Two chunks finishing together may both queue it; the finish is idempotent. If this process dies
    before queuing, the next day's jobs (or `period_close`) resume the period and queue it then.
    """
    from settlement.tasks import settle_finish

    if not PeriodChunk.objects.filter(period_id=period_id, done_at__isnull=True).exists():
        settle_finish.delay(period_id)


# --- step 3: the finish ---------------------------------------------------------------------------------


def period_settle_finish(*, period_id: int) -> Period:
    """Check the split adds up to the fen, post the subsidy and mark the period settled; safe to run again.

    While chunks are still missing it does nothing (the last chunk queues it again).
    """
    with transaction.atomic():
        period = Period.objects.select_for_update(no_key=True).get(pk=period_id)
        if period.status != PeriodStatus.SETTLING:
            return period
        markers = period.chunks.aggregate(
            pending=Count("pk", filter=Q(done_at__isnull=True)),
            rows=Sum("rows"),
            charged=Sum("sum_fen"),
            capped=Sum("capped_fen"),
        )
        if markers["pending"]:
            return period
        _check_totals(period, rows=markers["rows"] or 0, charged=markers["charged"] or 0, capped=markers["capped"] or 0)
        subsidy = period.total_fen - (markers["charged"] or 0)
        journal_post(
            key=f"period-{period.pk}-subsidy",
            kind=EntryKind.SUBSIDY,
            period=period,
            lines=[debit(Account.OPERATOR_SUBSIDY, subsidy), credit(Account.MUTUAL_FUND, subsidy)],
        )
        period.operator_subsidy_fen = subsidy
        period.status = PeriodStatus.SETTLED
        period.settled_at = timezone.now()
        period.save(update_fields=["operator_subsidy_fen", "status", "settled_at"])
        period_settled_send(period_id=period.pk)
    logger.info("period %s settled: subsidy %s fen", period_id, subsidy)
    return period


def _check_totals(period: Period, *, rows: int, charged: int, capped: int) -> None:
    """The markers against the figures, and the charge table itself against the markers."""
    table = period.charges.aggregate(rows=Count("pk"), charged=Sum("amount_fen"))
    expected_rows = period.sharers if period.total_fen and period.sharers else 0
    problems = []
    if rows != expected_rows or (table["rows"] or 0) != rows:
        problems.append(f"{table['rows']} charge rows, markers {rows}, sharers {expected_rows}")
    if (table["charged"] or 0) != charged:
        problems.append(f"charges sum to {table['charged']}, markers {charged}")
    if period.sharers and charged + capped != period.total_fen:
        problems.append(f"charged {charged} + capped {capped} ≠ total {period.total_fen}")
    if problems:
        raise SettlementMismatch(f"period {period.pk}: " + "; ".join(problems))


# --- money in: payments ---------------------------------------------------------------------------------


def _lock_payer(payer: Membership) -> Membership:
    """The payer's row lock: payments, payouts and removals change what a household owes one at a time."""
    return Membership.objects.select_for_update().get(pk=payer.pk)


def payment_record(
    *,
    payer: Membership,
    amount_fen: int,
    reference: str,
    by: User | None,
    received_at: datetime | None = None,
    source: str = ADMIN_SOURCE,
) -> Payment:
    """Record money received from a payer, once: the same reference again returns the payment already recorded.

    Posts Dr cash / Cr members_receivable. The reference is unique per source, so a partner (or an
    administrator) who sends the same payment twice, or retries after a timeout, records it once; the
    same reference for another payer or amount is refused rather than guessed at.
    """
    reference = reference.strip()
    if not reference:
        raise DomainError(_("Give the payment's reference."), field="reference")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise DomainError(_("A payment is a positive amount."), field="amount_fen")
    if not payer.is_payer:
        raise NotAPayer()
    with transaction.atomic():
        _lock_payer(payer)
        existing = Payment.objects.filter(source=source, reference=reference).first()
        if existing is not None:
            return _same_payment(existing, payer=payer, amount_fen=amount_fen)
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    payer=payer,
                    amount_fen=amount_fen,
                    source=source,
                    reference=reference,
                    received_at=received_at or timezone.now(),
                    recorded_by=by,
                )
        except IntegrityError:
            # The same reference recorded for another payer at this very moment (a different row lock).
            return _same_payment(
                Payment.objects.get(source=source, reference=reference), payer=payer, amount_fen=amount_fen
            )
        journal_post(
            key=f"payment-{payment.pk}",
            kind=EntryKind.PAYMENT,
            lines=[debit(Account.CASH, amount_fen), credit(Account.MEMBERS_RECEIVABLE, amount_fen)],
        )
    return payment


def _same_payment(existing: Payment, *, payer: Membership, amount_fen: int) -> Payment:
    if existing.payer_id != payer.pk or existing.amount_fen != amount_fen:
        raise PaymentReferenceConflict(field="reference")
    return existing


# --- money out: payouts ---------------------------------------------------------------------------------


def payout_disburse(*, claim: Claim, by: User | None, on: date | None = None) -> Payout:
    """Disburse a shared claim's payout, less the arrears of the claimant's household, which it settles.

    Posts Dr claims_payable (the full payout) / Cr cash (what is paid) / Cr members_receivable (the
    arrears settled), marks the claim paid and ends the claimant's membership (`paid_out`, once in a
    lifetime); the rest of the household stays covered. Safe to run twice: a claim already disbursed
    returns its payout.
    """
    on = on or timezone.localdate()
    with transaction.atomic():
        locked = Claim.objects.select_for_update(of=("self",)).select_related("member").get(pk=claim.pk)
        existing = Payout.objects.filter(claim=locked).first()
        if existing is not None:
            return existing
        if locked.status != ClaimStatus.SHARED or not locked.payout_fen:
            raise ClaimNotPayable()
        payer = _lock_payer(Membership(pk=locked.member.payer_id or locked.member_id))
        gross = locked.payout_fen
        # What the household owes now, during the grace; a payout is never less than nothing.
        deducted = min(gross, payer_arrears(payer=payer))
        payout = Payout.objects.create(
            claim=locked,
            payer=payer,
            gross_fen=gross,
            arrears_deducted_fen=deducted,
            net_fen=gross - deducted,
            paid_on=on,
            paid_by=by,
        )
        journal_post(
            key=f"payout-{locked.pk}",
            kind=EntryKind.DISBURSEMENT,
            lines=[
                debit(Account.CLAIMS_PAYABLE, gross),
                credit(Account.CASH, gross - deducted),
                credit(Account.MEMBERS_RECEIVABLE, deducted),
            ],
        )
        claim_mark_paid(claim=claim, by=by)
        membership_mark_paid_out(membership=locked.member, by=by, on=on)
    logger.info("claim %s paid out: %s fen, arrears %s fen deducted", locked.pk, gross - deducted, deducted)
    return payout


# --- the daily money jobs: refunds, then removals for non-payment ---------------------------------------

# Memberships ended by an illness in their waiting period, not refunded yet, once every period they
# shared in is settled (a member who leaves between a notice day and its charge day is still charged
# for that period on the charge day; waiting for it refunds that share too, with the others, once).
# Their charges are found through the (payer, period) index: the payer column is what charges are
# looked up by. The membership scan is one pass a day over a text column; its rows are few.
_INSERT_REFUNDS = f"""
    INSERT INTO {Refund._meta.db_table} (membership_id, payer_id, amount_fen, refunded_on, entry_id)
    SELECT m.id, COALESCE(m.payer_id, m.id),
           COALESCE((SELECT SUM(c.amount_fen) FROM {Charge._meta.db_table} c
                     WHERE c.payer_id = COALESCE(m.payer_id, m.id) AND c.member_id = m.id), 0),
           %(on)s, NULL
    FROM {Membership._meta.db_table} m
    WHERE m.status_reason = %(reason)s
      AND m.ended_on IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM {Refund._meta.db_table} r WHERE r.membership_id = m.id)
      AND NOT EXISTS (SELECT 1 FROM {Period._meta.db_table} p
                      WHERE p.plan_id = m.plan_id AND p.notice_date <= m.ended_on AND p.status <> %(settled)s)
    ON CONFLICT (membership_id) DO NOTHING
"""  # noqa: S608


def refunds_post(*, on: date) -> int:
    """Refund the shares charged to memberships ended by a waiting-period illness; once each. Returns fen posted.

    One INSERT … SELECT writes a refund row per membership not yet refunded (unique per membership),
    then the rows not yet posted are posted together: Dr operator_subsidy / Cr members_receivable (the
    shares were spent on that period's payouts, so the operator bears the refund, as it bears what the
    caps remove). Running it twice posts nothing more.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            params = {"on": on.isoformat(), "reason": WAITING_PERIOD_ILLNESS, "settled": PeriodStatus.SETTLED}
            cursor.execute(_INSERT_REFUNDS, params)
        # Locked: a second run at the same moment waits, then finds these posted. A day's refunds are few.
        pending = list(
            Refund.objects.select_for_update()
            .filter(entry__isnull=True, amount_fen__gt=0)
            .order_by("pk")
            .values_list("pk", "amount_fen")
        )
        if not pending:
            return 0
        total = sum(amount for _pk, amount in pending)
        entry = journal_post(
            key=f"refunds-{pending[0][0]}-{pending[-1][0]}",
            kind=EntryKind.REFUNDS,
            memo=f"{len(pending)} waiting-period illness refunds",
            lines=[debit(Account.OPERATOR_SUBSIDY, total), credit(Account.MEMBERS_RECEIVABLE, total)],
        )
        Refund.objects.filter(pk__in=[pk for pk, _amount in pending]).update(entry=entry)
    logger.info("refunds posted: %s memberships, %s fen", len(pending), total)
    return total


def households_remove_for_non_payment(*, on: date, by: User | None = None) -> list[int]:
    """Remove the households whose payer is still in arrears after the grace; returns the payers' ids.

    One query finds the payers (selectors.arrears_after_grace); each household is then removed by the
    members service, one payer at a time. That loop is over the few payers who did not pay in a period,
    not over members, and each removal is its own small transaction under the payer's lock.
    """
    due = arrears_after_grace(on=on)
    for payer_id in due.payers:
        household_remove_for_non_payment(payer=Membership(pk=payer_id), on=on, by=by)
    # Marked after the removals: if one fails, the next run reads the same periods again.
    Period.objects.filter(pk__in=due.periods, arrears_checked_on__isnull=True).update(arrears_checked_on=on)
    if due.payers:
        logger.info("%s households removed for non-payment on %s", len(due.payers), on)
    return due.payers


@dataclass(frozen=True)
class MoneyJobsRun:
    refunded_fen: int
    removed_payers: list[int]


def money_jobs_run(*, on: date, by: User | None = None) -> MoneyJobsRun:
    """The daily money jobs: refunds first (a refund settles charges, so it counts before removals), then
    the day's member counts for the public charts and the admin dashboard."""
    refunded = refunds_post(on=on)
    removed = households_remove_for_non_payment(on=on, by=by)
    member_counts_record(on=on)
    return MoneyJobsRun(refunded_fen=refunded, removed_payers=removed)


def member_counts_record(*, on: date) -> list[MemberCount]:
    """Count every plan's memberships by state at 00:00 on `on`, one row per plan and day; safe to run again.

    The counts read the memberships' dates only (settlement/sql.py), so running this late in the day, twice,
    or for a past day gives the same row. One pass over the memberships a day: the pages then read these
    rows and never count members themselves.
    """
    rows = []
    for plan_id in Plan.objects.order_by("pk").values_list("pk", flat=True):  # one plan, a few at most
        row, _created = MemberCount.objects.update_or_create(
            plan_id=plan_id, day=on, defaults=sql.member_counts(plan=plan_id, day=on)
        )
        rows.append(row)
    return rows
