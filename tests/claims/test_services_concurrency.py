"""Two administrators deciding the same claim at once, each on their own connection (PostgreSQL row locks)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from claims import services
from claims.errors import ConcurrentDecision
from claims.models import Claim, ClaimStatus, ClaimTransition
from claims.services import claim_approve, claim_reject
from members.models import User
from tests.concurrency import at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

DECISIONS = ("approve", "reject")


@pytest.fixture
def slow_rules() -> Iterator[None]:
    """Hold the approving transaction open a moment after its checks, so the two decisions overlap."""
    original = services.claim_check_rules

    def slow(**kwargs: Any) -> int:
        payout = original(**kwargs)
        time.sleep(0.3)
        return payout

    with mock.patch.object(services, "claim_check_rules", slow):
        yield


@pytest.fixture
def third_admin(db: Any) -> User:
    return User.objects.create_superuser(username="admin3", password="admin3-pass-123", email="admin3@example.com")


@pytest.fixture
def proposed(investigating: Claim, admin_user: User) -> Claim:
    """Investigated, and proposed for approval by the first administrator; both others see it so."""
    return claim_approve(claim=investigating, by=admin_user)


def decisions(claim: Claim) -> list[str]:
    return list(ClaimTransition.objects.filter(claim=claim, action__in=DECISIONS).values_list("action", flat=True))


def test_a_confirmation_and_a_rejection_at_once_leave_one_decision(
    proposed: Claim, second_admin: User, third_admin: User, slow_rules: None
) -> None:
    results = at_once(
        lambda: claim_approve(claim=Claim.objects.get(pk=proposed.pk), by=second_admin),
        lambda: claim_reject(claim=Claim.objects.get(pk=proposed.pk), by=third_admin, reason="fraud", note="Forged."),
    )
    won = [r for r in results if isinstance(r, Claim)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert (len(won), [type(e) for e in lost]) == (1, [ConcurrentDecision])
    proposed.refresh_from_db()
    assert proposed.status == won[0].status
    assert decisions(proposed) == [{ClaimStatus.APPROVED: "approve", ClaimStatus.REJECTED: "reject"}[won[0].status]]


def test_two_confirmations_at_once_approve_once(
    proposed: Claim, second_admin: User, third_admin: User, slow_rules: None
) -> None:
    results = at_once(
        lambda: claim_approve(claim=Claim.objects.get(pk=proposed.pk), by=second_admin),
        lambda: claim_approve(claim=Claim.objects.get(pk=proposed.pk), by=third_admin),
    )
    won = [r for r in results if isinstance(r, Claim)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert (len(won), [type(e) for e in lost]) == (1, [ConcurrentDecision])
    proposed.refresh_from_db()
    assert (proposed.status, decisions(proposed)) == (ClaimStatus.APPROVED, ["approve"])


def test_two_rejections_at_once_reject_once(proposed: Claim, second_admin: User, third_admin: User) -> None:
    results = at_once(
        lambda: claim_reject(claim=Claim.objects.get(pk=proposed.pk), by=second_admin, reason="fraud", note="A."),
        lambda: claim_reject(claim=Claim.objects.get(pk=proposed.pk), by=third_admin, reason="fraud", note="B."),
    )
    assert sorted(type(r).__name__ for r in results) == ["Claim", "ConcurrentDecision"]
    assert decisions(proposed) == ["reject"]
