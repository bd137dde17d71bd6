"""The double-entry general ledger: posting balanced entries in integer fen, and reversing them.

Why not django-hordak, which was written for exactly this: its amounts are django-money Money values
(Decimal with a currency) where this project keeps integer fen everywhere; its balance checks are
database triggers written for PostgreSQL and MySQL, while the suite and `make run` also use SQLite; its
releases are tested up to Django 5.0, not the 5.2 this project pins; and it posts one leg per row per
transaction through the ORM, whereas settlement posts a handful of aggregate entries per period (one per
chunk of 50,000 charges), for which two small tables and one posting function are enough. The members'
sub-ledger (charges, payments, arrears deducted from payouts, refunds) is the per-payer detail; the
ledger holds the control totals.

The scheme (balance of an account = debits − credits):
- when a period's settlement starts (its batch is final):
    payouts owed   Dr mutual_fund        Cr claims_payable   Σ payouts
    management fee Dr mutual_fund        Cr fee_income       fee
- for each chunk of the split:
    member charges Dr members_receivable Cr mutual_fund      Σ the chunk's charges
- when the period is settled:
    operator subsidy Dr operator_subsidy Cr mutual_fund      what the caps took off the shares
so a settled period leaves the mutual fund at zero.
- money in, one entry per payment (`payment-<id>`):
    payment received Dr cash             Cr members_receivable   the amount
- money out, one entry per claim paid (`payout-<claim id>`): the payout settles the claimant household's
  arrears first, and the rest is paid out:
    payout disbursed Dr claims_payable   (the full payout)
                     Cr cash             (what the claimant receives)
                     Cr members_receivable (the arrears deducted, now settled)
- refunds of the shares charged to a membership ended by an illness in its waiting period, one entry per
  daily batch (`refunds-<first id>-<last id>`):
    refunds          Dr operator_subsidy Cr members_receivable   Σ the refunded shares
  The shares were spent on their periods' payouts, so the fund has nothing to give back: the operator
  bears the refund, as it bears what the caps remove. The credit lands on the payer's account: it
  cancels the refunded shares if they were never paid, and otherwise leaves the payer in credit against
  later charges (paying a credit out in cash would be Dr members_receivable Cr cash).
So members_receivable equals the sub-ledger at all times: Σ charges − Σ payments − Σ arrears deducted
from payouts − Σ refunds, over the payers' rows (selectors.members_receivable_subledger).

Every entry has a unique key naming the event it records (`period-7-chunk-0`), so the same event can
never be posted twice, and entries are never edited: `journal_reverse` posts the mirror image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from settlement.errors import UnbalancedEntry
from settlement.models import Account, EntryKind, JournalEntry, JournalLine, Period


@dataclass(frozen=True)
class Line:
    account: str
    debit_fen: int = 0
    credit_fen: int = 0


def debit(account: str, fen: int) -> Line:
    return Line(account=account, debit_fen=fen)


def credit(account: str, fen: int) -> Line:
    return Line(account=account, credit_fen=fen)


def _check(lines: Sequence[Line]) -> None:
    for line in lines:
        if line.account not in Account.values:
            raise UnbalancedEntry(f"no such account: {line.account}")
        if line.debit_fen < 0 or line.credit_fen < 0 or (line.debit_fen > 0) == (line.credit_fen > 0):
            raise UnbalancedEntry(f"a line is a positive debit or a positive credit, not both: {line}")
    debits = sum(line.debit_fen for line in lines)
    credits = sum(line.credit_fen for line in lines)
    if debits != credits:
        raise UnbalancedEntry(f"debits {debits} ≠ credits {credits}")


def journal_post(
    *, key: str, kind: str, lines: Sequence[Line], period: Period | None = None, memo: str = ""
) -> JournalEntry | None:
    """Post a balanced entry once; the same key again returns the entry already posted.

    Lines of zero are left out (a period without capped shares has no subsidy); an entry with no
    lines left is not posted and None is returned.
    """
    lines = [line for line in lines if line.debit_fen or line.credit_fen]
    if not lines:
        return None
    _check(lines)
    with transaction.atomic():
        existing = JournalEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing
        entry = JournalEntry.objects.create(key=key, kind=kind, period=period, memo=memo)
        JournalLine.objects.bulk_create(
            JournalLine(entry=entry, account=line.account, debit_fen=line.debit_fen, credit_fen=line.credit_fen)
            for line in lines
        )
    return entry


def journal_reverse(*, entry: JournalEntry, memo: str = "") -> JournalEntry:
    """Cancel an entry by posting its mirror image (debits and credits swapped); at most once."""
    lines = [Line(line.account, line.credit_fen, line.debit_fen) for line in entry.lines.all()]
    with transaction.atomic():
        reversal = JournalEntry.objects.create(
            key=f"reversal-of-{entry.key}"[:100],
            kind=EntryKind.REVERSAL,
            period=entry.period,
            memo=memo,
            reverses=entry,
        )
        _check(lines)
        JournalLine.objects.bulk_create(
            JournalLine(entry=reversal, account=line.account, debit_fen=line.debit_fen, credit_fen=line.credit_fen)
            for line in lines
        )
    return reversal
