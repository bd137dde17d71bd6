"""The general ledger: balanced entries only, each event posted once, nothing ever edited or deleted."""

from __future__ import annotations

import pytest

from settlement.errors import UnbalancedEntry
from settlement.ledger import credit, debit, journal_post, journal_reverse
from settlement.models import Account, EntryKind, JournalEntry, JournalLine
from settlement.selectors import account_balance, ledger_unbalanced_entries

pytestmark = pytest.mark.django_db


def post(key: str = "test-1", fen: int = 500) -> JournalEntry:
    entry = journal_post(
        key=key,
        kind=EntryKind.CHARGES,
        lines=[debit(Account.MEMBERS_RECEIVABLE, fen), credit(Account.MUTUAL_FUND, fen)],
    )
    assert entry is not None
    return entry


def test_it_posts_a_balanced_entry() -> None:
    entry = post()
    assert entry.lines.count() == 2
    assert account_balance(account=Account.MEMBERS_RECEIVABLE) == 500
    assert account_balance(account=Account.MUTUAL_FUND) == -500
    assert ledger_unbalanced_entries() == []


def test_it_refuses_an_entry_whose_debits_and_credits_differ() -> None:
    with pytest.raises(UnbalancedEntry):
        journal_post(
            key="bad",
            kind=EntryKind.FEE,
            lines=[debit(Account.MUTUAL_FUND, 100), credit(Account.FEE_INCOME, 99)],
        )
    assert not JournalEntry.objects.exists()


def test_it_refuses_a_negative_line_and_an_unknown_account() -> None:
    with pytest.raises(UnbalancedEntry):
        journal_post(key="neg", kind=EntryKind.FEE, lines=[debit(Account.CASH, -5), credit(Account.CASH, -5)])
    with pytest.raises(UnbalancedEntry):
        journal_post(key="acct", kind=EntryKind.FEE, lines=[debit("petty_cash", 5), credit(Account.CASH, 5)])


def test_posting_the_same_event_twice_posts_it_once() -> None:
    first = post()
    assert post() == first
    assert account_balance(account=Account.MEMBERS_RECEIVABLE) == 500


def test_an_entry_of_zero_is_not_posted() -> None:
    zero = [debit(Account.OPERATOR_SUBSIDY, 0), credit(Account.MUTUAL_FUND, 0)]
    assert journal_post(key="zero", kind=EntryKind.SUBSIDY, lines=zero) is None


def test_an_entry_is_never_edited_or_deleted() -> None:
    entry = post()
    line = entry.lines.first()
    assert line is not None
    entry.memo = "changed"
    with pytest.raises(ValueError, match="never edited"):
        entry.save()
    with pytest.raises(ValueError, match="never"):
        entry.delete()
    line.debit_fen = 1
    with pytest.raises(ValueError, match="never edited"):
        line.save()
    with pytest.raises(ValueError, match="never"):
        line.delete()


def test_a_reversal_cancels_an_entry_once() -> None:
    entry = post()
    reversal = journal_reverse(entry=entry, memo="posted to the wrong period")
    assert reversal.reverses == entry
    assert account_balance(account=Account.MEMBERS_RECEIVABLE) == 0
    assert JournalLine.objects.count() == 4
    with pytest.raises(Exception):  # noqa: B017  one reversal per entry (unique key and link)
        journal_reverse(entry=entry)
