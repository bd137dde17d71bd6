"""Settling a period: its figures, the caps and the subsidy, the claims, and running any step again."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction

from claims.models import ClaimStatus
from members.models import Plan
from settlement import services, sql
from settlement.errors import EarlierPeriodOpen
from settlement.models import Account, Charge, JournalEntry, Period, PeriodChunk, PeriodStatus
from settlement.selectors import account_balance
from settlement.services import period_settle_chunk, period_settle_finish, period_settle_start
from tests.settlement.conftest import (
    add_members,
    assert_ledger_consistent,
    charges_of,
    period_with_claims,
    settle_now,
)

pytestmark = pytest.mark.django_db


def test_the_total_is_the_payouts_plus_an_eight_percent_fee_split_across_the_sharers(big_caps: Plan) -> None:
    add_members(big_caps, 7)
    period = settle_now(period_with_claims(big_caps, payouts=[1_000, 250]))
    assert (period.payouts_total_fen, period.fee_fen, period.total_fen) == (1_250, 100, 1_350)
    assert (period.sharers, period.per_member_fen, period.claims_count) == (7, 192, 2)
    assert sorted(charges_of(period).values()) == [192] * 1 + [193] * 6  # 1350 = 7 × 192 + 6
    assert period.status == PeriodStatus.SETTLED and period.settled_at is not None
    assert_ledger_consistent()


def test_the_fee_rounds_half_a_fen_up(big_caps: Plan) -> None:
    add_members(big_caps, 1)
    big_caps.management_fee_rate = Decimal("0.0850")
    big_caps.save()
    period = settle_now(period_with_claims(big_caps, payouts=[100]))  # 8.5 fen
    assert period.fee_fen == 9
    big_caps.management_fee_rate = Decimal("0.0800")
    big_caps.save()
    later = settle_now(period_with_claims(big_caps, payouts=[1_006], notice_date=date(2025, 6, 21)))  # 80.48 fen
    assert later.fee_fen == 80


def test_the_claims_of_the_batch_are_shared_on_the_charge_day(plan: Plan) -> None:
    add_members(plan, 3)
    period = settle_now(period_with_claims(plan, payouts=[100, 200]))
    claims = period.notice.claims.all()
    assert {c.status for c in claims} == {ClaimStatus.SHARED}
    assert all(c.transitions.filter(action="share").count() == 1 for c in claims)


def test_a_period_with_no_claims_charges_nothing(plan: Plan) -> None:
    add_members(plan, 5)
    period = settle_now(period_with_claims(plan, payouts=[]))
    assert (period.status, period.total_fen, period.per_member_fen, period.operator_subsidy_fen) == (
        PeriodStatus.SETTLED,
        0,
        0,
        0,
    )
    assert period.sharers == 5
    assert not Charge.objects.exists()
    assert not JournalEntry.objects.exists()


def test_the_per_claim_cap_passes_the_excess_to_the_operator_subsidy(plan: Plan) -> None:
    add_members(plan, 3)
    # 30,000 fen + 2,400 fee over 3 sharers is 10,800 each; the cap is 10 fen for the one claim.
    period = settle_now(period_with_claims(plan, payouts=[30_000]))
    assert set(charges_of(period).values()) == {10}
    assert period.operator_subsidy_fen == 32_400 - 30
    assert account_balance(account=Account.OPERATOR_SUBSIDY) == 32_370
    assert_ledger_consistent()


def test_the_per_claim_cap_applies_claim_by_claim(plan: Plan) -> None:
    add_members(plan, 3)
    # Claim one costs 36 fen a member (capped at 10), claim two 0.72 fen (1 fen rounded up): at most 11.
    period = settle_now(period_with_claims(plan, payouts=[100, 2]))
    assert period.per_member_cap_fen == 11
    assert set(charges_of(period).values()) == {11}
    assert sum(charges_of(period).values()) + period.operator_subsidy_fen == period.total_fen


def test_the_annual_cap_stops_charges_within_the_year_and_starts_again_the_next(plan: Plan) -> None:
    plan.per_claim_cap_fen = 10**12
    plan.annual_cap_fen = 25
    plan.save()
    members = add_members(plan, 2)
    # 20 fen + 2 fen fee = 22 fen: 11 fen each, twice in December, then twice in January, then the cap.
    first = settle_now(period_with_claims(plan, payouts=[20], notice_date=date(2025, 12, 7)))
    second = settle_now(period_with_claims(plan, payouts=[20], notice_date=date(2025, 12, 21)))
    january = settle_now(period_with_claims(plan, payouts=[20], notice_date=date(2026, 1, 7)))
    third = settle_now(period_with_claims(plan, payouts=[20], notice_date=date(2026, 1, 21)))
    fourth = settle_now(period_with_claims(plan, payouts=[20], notice_date=date(2026, 2, 7)))
    for period in (first, second, january, third):
        assert list(charges_of(period).values()) == [11, 11]
        assert period.annual_cap_applies is False  # 11 + 11 ≤ 25: no look-up needed
    assert fourth.annual_cap_applies is True
    assert list(charges_of(fourth).values()) == [3, 3]  # 25 − 22 left of 2026's cap
    assert fourth.operator_subsidy_fen == 22 - 6
    for member in members:
        this_year = Charge.objects.filter(member=member, period__charge_date__year=2026)
        assert sum(this_year.values_list("amount_fen", flat=True)) == 25
    assert_ledger_consistent()


def test_the_annual_cap_binds_within_a_single_period(plan: Plan) -> None:
    plan.per_claim_cap_fen = 10**12
    plan.annual_cap_fen = 5
    plan.save()
    add_members(plan, 2)
    period = settle_now(period_with_claims(plan, payouts=[20]))
    assert list(charges_of(period).values()) == [5, 5]
    assert period.operator_subsidy_fen == 22 - 10


def test_a_period_with_claims_but_no_sharers_is_borne_by_the_operator(plan: Plan) -> None:
    period = settle_now(period_with_claims(plan, payouts=[500]))
    assert (period.sharers, period.total_fen, period.operator_subsidy_fen) == (0, 540, 540)
    assert_ledger_consistent()


def test_a_later_period_waits_for_the_earlier_ones(plan: Plan) -> None:
    add_members(plan, 2)
    period_with_claims(plan, payouts=[100], notice_date=date(2025, 6, 7))
    later = period_with_claims(plan, payouts=[100], notice_date=date(2025, 6, 21))
    with pytest.raises(EarlierPeriodOpen):
        period_settle_start(period=later)


def test_the_ledger_records_payouts_fee_charges_and_subsidy(plan: Plan) -> None:
    add_members(plan, 10)
    period = settle_now(period_with_claims(plan, payouts=[1_000]), chunk_size=3)
    kinds = list(period.entries.order_by("pk").values_list("kind", flat=True))
    assert kinds[:2] == ["payouts", "fee"] and kinds[-1] == "subsidy"
    assert kinds.count("charges") == period.chunks.count()
    assert account_balance(account=Account.CLAIMS_PAYABLE) == -1_000
    assert account_balance(account=Account.FEE_INCOME) == -80
    assert account_balance(account=Account.MEMBERS_RECEIVABLE) == sum(charges_of(period).values()) == 100
    assert account_balance(account=Account.MUTUAL_FUND) == 0
    assert_ledger_consistent()


# --- running steps again ---------------------------------------------------------------------------------


def test_settling_twice_gives_the_same_rows_and_totals(plan: Plan) -> None:
    add_members(plan, 9)
    period = settle_now(period_with_claims(plan, payouts=[1_234]), chunk_size=4)
    rows = list(Charge.objects.order_by("pk").values_list("pk", "member_id", "amount_fen"))
    entries = JournalEntry.objects.count()
    again = settle_now(period, chunk_size=2)
    assert list(Charge.objects.order_by("pk").values_list("pk", "member_id", "amount_fen")) == rows
    assert (again.total_fen, again.operator_subsidy_fen, JournalEntry.objects.count()) == (
        period.total_fen,
        period.operator_subsidy_fen,
        entries,
    )
    assert again.chunk_size == 4  # fixed by the first run


def test_a_chunk_run_again_after_it_is_done_adds_nothing(plan: Plan) -> None:
    add_members(plan, 9)
    period = period_with_claims(plan, payouts=[1_234])
    period_settle_start(period=period, chunk_size=4)
    chunk = PeriodChunk.objects.filter(period=period).order_by("lo").first()
    assert chunk is not None
    assert period_settle_chunk(period_id=period.pk, lo=chunk.lo, hi=chunk.hi) is True
    rows = Charge.objects.count()
    assert period_settle_chunk(period_id=period.pk, lo=chunk.lo, hi=chunk.hi) is False
    assert Charge.objects.count() == rows
    assert JournalEntry.objects.filter(kind="charges").count() == 1


def test_a_chunk_that_crashed_half_way_leaves_nothing_and_runs_whole_the_next_time(plan: Plan) -> None:
    add_members(plan, 9)
    period = period_with_claims(plan, payouts=[1_234])
    period_settle_start(period=period, chunk_size=4)
    chunk = PeriodChunk.objects.filter(period=period).order_by("lo").first()
    assert chunk is not None
    with mock.patch.object(sql, "chunk_totals", side_effect=RuntimeError("worker lost")), pytest.raises(RuntimeError):
        period_settle_chunk(period_id=period.pk, lo=chunk.lo, hi=chunk.hi)
    chunk.refresh_from_db()
    assert (chunk.done_at, Charge.objects.count()) == (None, 0)
    period_settle_chunk(period_id=period.pk, lo=chunk.lo, hi=chunk.hi)
    chunk.refresh_from_db()
    assert chunk.rows == chunk.sharers == Charge.objects.count()


def test_the_finish_waits_for_every_chunk(plan: Plan) -> None:
    add_members(plan, 9)
    period = period_with_claims(plan, payouts=[1_234])
    period_settle_start(period=period, chunk_size=4)
    first = PeriodChunk.objects.filter(period=period).order_by("lo").first()
    assert first is not None
    period_settle_chunk(period_id=period.pk, lo=first.lo, hi=first.hi)
    assert period_settle_finish(period_id=period.pk).status == PeriodStatus.SETTLING
    assert not JournalEntry.objects.filter(kind="subsidy").exists()


def test_the_finish_refuses_totals_that_do_not_add_up(plan: Plan) -> None:
    from settlement.errors import SettlementMismatch

    add_members(plan, 3)
    period = period_with_claims(plan, payouts=[1_000])
    period_settle_start(period=period, chunk_size=10)
    for chunk in PeriodChunk.objects.filter(period=period):
        period_settle_chunk(period_id=period.pk, lo=chunk.lo, hi=chunk.hi)
    Charge.objects.filter(pk=Charge.objects.order_by("pk").values("pk")[:1]).delete()
    with pytest.raises(SettlementMismatch):
        period_settle_finish(period_id=period.pk)
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.SETTLING


def test_the_steps_run_as_tasks_in_order_from_one_start(plan: Plan, django_capture_on_commit_callbacks: object) -> None:
    add_members(plan, 11)
    period = period_with_claims(plan, payouts=[5_000])
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        services.period_settle_start(period=period, chunk_size=3)
    period.refresh_from_db()
    assert period.status == PeriodStatus.SETTLED
    assert Charge.objects.count() == 11
    assert_ledger_consistent()


def test_it_never_loops_over_members_a_chunk_is_a_fixed_number_of_statements(
    plan: Plan, django_assert_max_num_queries: object
) -> None:
    add_members(plan, 40)
    period = period_with_claims(plan, payouts=[5_000])
    period_settle_start(period=period, chunk_size=1_000)
    chunk = PeriodChunk.objects.get(period=period)
    with transaction.atomic(), django_assert_max_num_queries(14):  # type: ignore[operator]
        period_settle_chunk(period_id=period.pk, lo=chunk.lo, hi=chunk.hi)
    assert Charge.objects.count() == 40
