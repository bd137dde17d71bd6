"""On the charge day the notice's batch is final: its claims become `shared`, each with a timeline row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from claims.models import Claim, ClaimStatus, ClaimTransition
from claims.services import claims_share_notice, notices_publish
from members.models import Plan, User
from tests.claims.conftest import on_day

pytestmark = pytest.mark.django_db

NOTICE_DAY = date(2025, 6, 7)


@pytest.fixture
def published(claim: Claim, approve: Callable[..., Claim], plan: Plan) -> Claim:
    approve(claim)
    with on_day(NOTICE_DAY, hour=0):
        notices_publish(plan=plan, on=NOTICE_DAY)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_NOTICE
    return claim


def test_it_shares_the_claims_still_in_notice(published: Claim, admin_user: User) -> None:
    assert published.notice is not None

    shared = claims_share_notice(notice=published.notice, by=admin_user)

    published.refresh_from_db()
    assert (shared, published.status) == (1, ClaimStatus.SHARED)


def test_it_records_the_step_on_the_timeline(published: Claim, admin_user: User) -> None:
    assert published.notice is not None

    claims_share_notice(notice=published.notice, by=admin_user)

    last = ClaimTransition.objects.filter(claim=published).order_by("-id").first()
    assert last is not None
    assert (last.from_status, last.to_status, last.action, last.by) == ("in_notice", "shared", "share", admin_user)
    assert last.at is not None


def test_it_is_safe_to_run_twice(published: Claim) -> None:
    assert published.notice is not None
    claims_share_notice(notice=published.notice, by=None)
    steps = ClaimTransition.objects.filter(claim=published).count()

    assert claims_share_notice(notice=published.notice, by=None) == 0
    assert ClaimTransition.objects.filter(claim=published).count() == steps
