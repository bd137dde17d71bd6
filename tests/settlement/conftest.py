"""Settlement fixtures: members made in bulk (a split needs many), periods with claims in notice, the
three steps of a settlement run in-process, and the ledger's invariants.

Members are made with bulk_create rather than the enrolment service where only their dates matter: the
split reads dates and statuses, not how a member came to have them. The cut-off tests use the services.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db.models import Sum

from claims.models import Claim, ClaimStatus, Notice
from members.models import CreditSource, Membership, MembershipStatus, Person, Plan
from settlement import selectors
from settlement.models import Account, Charge, JournalLine, Period, PeriodChunk, PeriodStatus
from settlement.services import period_settle_chunk, period_settle_finish, period_settle_start

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _tasks_in_process(tasks_in_process: None) -> None:
    """Tasks run in the test's own process, even when REDIS_URL is set, except with a real worker."""


def add_members(
    plan: Plan,
    count: int,
    *,
    joined_on: date = date(2025, 1, 1),
    status: str = MembershipStatus.ACTIVE,
    ended_on: date | None = None,
    payer: Membership | None = None,
) -> list[Membership]:
    """`count` memberships in two statements, ids ascending."""
    serials = [next(_serial) for _ in range(count)]
    people = Person.objects.bulk_create(
        Person(
            name=f"成员{serial}",
            id_number_encrypted="-",
            id_number_hash=f"test-{serial:012d}",
            id_number_masked="110105********0000",
            birth_date=date(1990, 1, 1),
            sex="M",
        )
        for serial in serials
    )
    return Membership.objects.bulk_create(
        Membership(
            plan=plan,
            person=person,
            payer=payer,
            relationship="self" if payer is None else "child",
            status=status,
            joined_on=joined_on,
            waiting_period_ends=joined_on + timedelta(days=plan.waiting_period_days),
            ended_on=ended_on,
            credit_source=CreditSource.ATTESTED if payer is None else CreditSource.PAYER,
            credit_score=700 if payer is None else None,
        )
        for person in people
    )


def period_with_claims(
    plan: Plan,
    *,
    payouts: list[int],
    notice_date: date = date(2025, 6, 7),
    charge_date: date | None = None,
    claimant: Membership | None = None,
) -> Period:
    """A notice with `payouts` (fen) claims in it, and its period in notice, as the notice day leaves them."""
    notice = Notice.objects.create(
        plan=plan, notice_date=notice_date, charge_date=charge_date or notice_date + timedelta(days=7)
    )
    if payouts:
        # One claimant per claim (a person has one claim in progress at a time), none of them a sharer.
        claimants = [claimant] if claimant is not None else []
        claimants += add_members(
            plan, len(payouts) - len(claimants), status=MembershipStatus.EXITED, ended_on=date(2000, 1, 1)
        )
        condition = plan.conditions.order_by("code").first()
        assert condition is not None
        Claim.objects.bulk_create(
            Claim(
                member=member,
                person_id=member.person_id,
                kind="illness",
                condition=condition,
                diagnosed_on=notice_date - timedelta(days=30),
                hospital="北京协和医院",
                description="—",
                status=ClaimStatus.IN_NOTICE,
                payout_fen=payout,
                age_at_diagnosis=35,
                notice=notice,
            )
            for member, payout in zip(claimants, payouts, strict=True)
        )
    return Period.objects.create(
        notice=notice,
        plan=plan,
        notice_date=notice.notice_date,
        charge_date=notice.charge_date,
        status=PeriodStatus.IN_NOTICE,
    )


def settle_now(period: Period, *, chunk_size: int = 4) -> Period:
    """The three steps in this process, chunk by chunk, as the workers would run them."""
    period_settle_start(period=period, chunk_size=chunk_size)
    for chunk in PeriodChunk.objects.filter(period=period).order_by("lo"):
        period_settle_chunk(period_id=period.pk, lo=chunk.lo, hi=chunk.hi)
    return period_settle_finish(period_id=period.pk)


def charges_of(period: Period) -> dict[int, int]:
    """member id → charged fen."""
    return dict(Charge.objects.filter(period=period).order_by("member_id").values_list("member_id", "amount_fen"))


def shares_of(period: Period) -> dict[int, int]:
    return dict(Charge.objects.filter(period=period).order_by("member_id").values_list("member_id", "share_fen"))


def assert_ledger_consistent() -> None:
    """Every entry balanced; members receivable = Σ charges − Σ payments; each settled period's fund at zero."""
    assert selectors.ledger_unbalanced_entries() == []
    assert selectors.account_balance(account=Account.MEMBERS_RECEIVABLE) == selectors.members_receivable_subledger()
    for period in Period.objects.filter(status=PeriodStatus.SETTLED):
        fund = JournalLine.objects.filter(entry__period=period, account=Account.MUTUAL_FUND).aggregate(
            d=Sum("debit_fen"), c=Sum("credit_fen")
        )
        assert (fund["d"] or 0) == (fund["c"] or 0), f"period {period.pk} leaves the mutual fund unbalanced"
        charged = Charge.objects.filter(period=period).aggregate(s=Sum("amount_fen"))["s"] or 0
        assert charged + period.operator_subsidy_fen == period.total_fen


@pytest.fixture
def members(plan: Plan) -> Callable[..., list[Membership]]:
    def _members(count: int, **kwargs: Any) -> list[Membership]:
        return add_members(plan, count, **kwargs)

    return _members
