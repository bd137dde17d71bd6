"""Transparency fixtures: claims made in bulk in any status and filing time, settled periods, and a clean cache.

The public figures and the ledger checks are kept in the cache between requests; each test starts with
an empty one, so one test's figures never show in another's page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from claims.models import Claim, ClaimStatus, CoveredCondition, Notice
from members.models import Membership, MembershipStatus, Plan, User
from tests.settlement.conftest import _tasks_in_process, add_members  # noqa: F401  (an autouse fixture)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visitor() -> Client:
    """Anyone, not logged in, reading in English."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def staff_client(admin_user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_user)
    return client


def add_claims(
    plan: Plan,
    *,
    payouts: Sequence[int | None],
    status: str = ClaimStatus.APPROVED,
    notice: Notice | None = None,
    ages: Sequence[int] | None = None,
    condition: CoveredCondition | None = None,
    filed_at: Sequence[datetime] | None = None,
) -> list[Claim]:
    """One claim per payout, each by its own claimant (exited long ago, so never a sharer)."""
    claimants: list[Membership] = add_members(
        plan, len(payouts), status=MembershipStatus.EXITED, ended_on=date(2000, 1, 1)
    )
    condition = condition or plan.conditions.order_by("code").first()
    assert condition is not None
    claims = Claim.objects.bulk_create(
        Claim(
            member=member,
            person_id=member.person_id,
            kind="illness",
            condition=condition,
            diagnosed_on=date(2025, 5, 1),
            hospital="北京协和医院",
            description="—",
            status=status,
            payout_fen=payout,
            age_at_diagnosis=(ages[i] if ages else 35) if payout is not None else None,
            notice=notice,
        )
        for i, (member, payout) in enumerate(zip(claimants, payouts, strict=True))
    )
    if filed_at is not None:
        # filed_at is stamped on creation; a test of ages needs its own times.
        for claim, moment in zip(claims, filed_at, strict=True):
            Claim.objects.filter(pk=claim.pk).update(filed_at=moment)
    return claims


def days_before(day: date, days: int, **kwargs: Any) -> datetime:
    from tests.claims.conftest import beijing

    return beijing(day - timedelta(days=days), **kwargs)
