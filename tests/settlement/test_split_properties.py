"""The split, exact to the fen: properties of the pure rules, and of the SQL that applies them.

The SQL examples run on a handful of members each, inside a savepoint rolled back after the example,
so each starts from the same empty plan.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.models import Plan
from settlement.models import Period
from settlement.split import charge_for, fee_for, per_member_cap, share_at
from tests.settlement.conftest import add_members, charges_of, period_with_claims, settle_now, shares_of

NO_CAP = 10**15


def shares(total: int, sharers: int, rotation: int) -> list[int]:
    return [share_at(position=p, sharers=sharers, total_fen=total, rotation=rotation) for p in range(sharers)]


# --- the pure rules ---------------------------------------------------------------------------------------


@given(
    total=st.integers(min_value=0, max_value=10**12),
    sharers=st.integers(min_value=1, max_value=500),
    rotation=st.integers(min_value=0, max_value=10**9),
)
def test_the_shares_add_up_to_the_total_and_differ_by_one_fen_at_most(total: int, sharers: int, rotation: int) -> None:
    split = shares(total, sharers, rotation)
    assert sum(split) == total
    assert all(total // sharers <= share <= total // sharers + 1 for share in split)
    assert sum(1 for share in split if share > total // sharers) == total % sharers


@given(
    total=st.integers(min_value=1, max_value=10**6),
    sharers=st.integers(min_value=2, max_value=300),
    rotation=st.integers(min_value=0, max_value=10**6),
)
def test_the_next_period_gives_the_extra_fen_to_the_next_sharers(total: int, sharers: int, rotation: int) -> None:
    extra = total % sharers
    first = {p for p, s in enumerate(shares(total, sharers, rotation)) if s > total // sharers}
    second = {p for p, s in enumerate(shares(total, sharers, rotation + extra)) if s > total // sharers}
    if 0 < extra <= sharers // 2:
        assert first.isdisjoint(second)


@given(payouts=st.lists(st.integers(min_value=1, max_value=10**9), max_size=50))
def test_the_fee_is_eight_percent_rounded_half_up_to_the_fen(payouts: list[int]) -> None:
    total = sum(payouts)
    fee = fee_for(total, Decimal("0.08"))
    assert abs(Decimal(fee) - Decimal(total) * Decimal("0.08")) <= Decimal("0.5")
    assert fee_for(25, Decimal("0.02")) == 1  # 0.5 fen rounds up
    assert fee_for(24, Decimal("0.02")) == 0  # 0.48 fen rounds down


@given(
    payouts=st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=20),
    sharers=st.integers(min_value=1, max_value=10**6),
    cap=st.integers(min_value=1, max_value=50),
)
def test_the_period_cap_is_at_most_the_per_claim_cap_for_each_claim(payouts: list[int], sharers: int, cap: int) -> None:
    limit = per_member_cap(payouts_fen=payouts, rate=Decimal("0.08"), sharers=sharers, per_claim_cap_fen=cap)
    assert limit <= cap * len(payouts)
    total = sum(payouts) + fee_for(sum(payouts), Decimal("0.08"))
    if all(p * Decimal("1.08") / sharers <= cap - 1 for p in payouts):
        # No claim reaches the cap: nobody's share is cut.
        assert limit >= -(-total // sharers)


@given(
    share=st.integers(min_value=0, max_value=10**6),
    period_cap=st.integers(min_value=0, max_value=10**6),
    annual_cap=st.integers(min_value=0, max_value=10**6),
    so_far=st.integers(min_value=0, max_value=10**6),
)
def test_a_charge_respects_both_caps_and_the_share(share: int, period_cap: int, annual_cap: int, so_far: int) -> None:
    charge = charge_for(
        share_fen=share, period_cap_fen=period_cap, annual_cap_fen=annual_cap, charged_this_year_fen=so_far
    )
    assert 0 <= charge <= min(share, period_cap)
    assert so_far + charge <= max(annual_cap, so_far)
    assert charge == min(share, period_cap, max(0, annual_cap - so_far))


# --- the SQL, on the database -------------------------------------------------------------------------------

sql_settings = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def uncapped(plan: Plan) -> None:
    plan.management_fee_rate = Decimal(0)
    plan.per_claim_cap_fen = NO_CAP
    plan.annual_cap_fen = NO_CAP
    plan.save()


@pytest.mark.django_db
@sql_settings
@given(
    sharers=st.integers(min_value=1, max_value=12),
    payouts=st.lists(st.integers(min_value=1, max_value=5_000), min_size=1, max_size=3),
    chunk_size=st.integers(min_value=1, max_value=14),
)
def test_the_sql_split_is_the_pure_split_whatever_the_chunk_size(
    plan: Plan, sharers: int, payouts: list[int], chunk_size: int
) -> None:
    with transaction.atomic():
        uncapped(plan)
        people = add_members(plan, sharers)
        period = settle_now(period_with_claims(plan, payouts=payouts), chunk_size=chunk_size)
        expected = shares(sum(payouts), sharers, period.rotation)
        assert list(charges_of(period)) == [m.pk for m in people]
        assert list(charges_of(period).values()) == expected
        assert sum(expected) == period.total_fen == sum(payouts)
        assert period.operator_subsidy_fen == 0
        transaction.set_rollback(True)


@pytest.mark.django_db
@sql_settings
@given(
    sharers=st.integers(min_value=2, max_value=12),
    payout=st.integers(min_value=1, max_value=5_000),
    sizes=st.tuples(st.integers(min_value=1, max_value=13), st.integers(min_value=1, max_value=13)),
)
def test_the_same_rows_come_out_of_different_chunk_sizes(
    plan: Plan, sharers: int, payout: int, sizes: tuple[int, int]
) -> None:
    results = []
    with transaction.atomic():
        uncapped(plan)
        add_members(plan, sharers)
        for size in sizes:
            with transaction.atomic():
                period = settle_now(period_with_claims(plan, payouts=[payout]), chunk_size=size)
                results.append(charges_of(period))
                transaction.set_rollback(True)
        transaction.set_rollback(True)
    assert results[0] == results[1]


@pytest.mark.django_db
@sql_settings
@given(
    sharers=st.integers(min_value=1, max_value=10),
    payouts=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=3),
    per_claim_cap=st.integers(min_value=1, max_value=60),
    annual_cap=st.integers(min_value=0, max_value=300),
)
def test_the_caps_hold_in_sql_and_the_subsidy_makes_up_the_difference_exactly(
    plan: Plan, sharers: int, payouts: list[int], per_claim_cap: int, annual_cap: int
) -> None:
    with transaction.atomic():
        plan.per_claim_cap_fen = per_claim_cap
        plan.annual_cap_fen = annual_cap
        plan.save()
        people = add_members(plan, sharers)
        first = settle_now(period_with_claims(plan, payouts=payouts, notice_date=date(2025, 6, 7)), chunk_size=3)
        second = settle_now(period_with_claims(plan, payouts=payouts, notice_date=date(2025, 6, 21)), chunk_size=4)
        for period in (first, second):
            charged = charges_of(period)
            assert all(c <= period.per_member_cap_fen <= per_claim_cap * len(payouts) for c in charged.values())
            assert sum(charged.values()) + period.operator_subsidy_fen == period.total_fen
            assert list(shares_of(period).values()) == shares(period.total_fen, sharers, period.rotation)
        before = charges_of(first)
        assert all(fen <= annual_cap for fen in before.values())
        for position, member in enumerate(people):
            share = share_at(position=position, sharers=sharers, total_fen=second.total_fen, rotation=second.rotation)
            expected_second = charge_for(
                share_fen=share,
                period_cap_fen=second.per_member_cap_fen,
                annual_cap_fen=annual_cap,
                charged_this_year_fen=before[member.pk],
            )
            assert charges_of(second)[member.pk] == expected_second
            assert before[member.pk] + expected_second <= annual_cap
        transaction.set_rollback(True)


def test_two_periods_in_a_row_give_the_extra_fen_to_different_members(plan: Plan, db: None) -> None:
    uncapped(plan)
    add_members(plan, 5)
    first = settle_now(period_with_claims(plan, payouts=[12], notice_date=date(2025, 6, 7)))  # 2 each, 2 extra
    second = settle_now(period_with_claims(plan, payouts=[12], notice_date=date(2025, 6, 21)))
    extra_first = {m for m, fen in charges_of(first).items() if fen == 3}
    extra_second = {m for m, fen in charges_of(second).items() if fen == 3}
    assert len(extra_first) == len(extra_second) == 2
    assert extra_first.isdisjoint(extra_second)
    assert second.rotation == first.rotation + 2
    assert Period.objects.get(pk=second.pk).rotation != Period.objects.get(pk=first.pk).rotation
