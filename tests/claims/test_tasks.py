"""The notice task beat runs after Beijing midnight: it publishes on notice days only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from claims.models import Claim, ClaimStatus, Notice
from claims.tasks import notices_publish_due
from tests.claims.conftest import on_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(claim: Claim, approve: Callable[..., Claim]) -> Claim:
    return approve(claim)


def test_the_task_publishes_the_approved_claims_on_a_notice_day(approved: Claim) -> None:
    with on_day(date(2025, 6, 7), hour=0):
        published = notices_publish_due()
    notice = Notice.objects.get()
    approved.refresh_from_db()
    assert published == [notice.pk]
    assert (approved.status, approved.notice, notice.notice_date) == (ClaimStatus.IN_NOTICE, notice, date(2025, 6, 7))


def test_the_task_takes_the_beijing_date_not_the_utc_date(approved: Claim) -> None:
    # 00:01 on 7 June in Beijing is still 6 June in UTC.
    with on_day(date(2025, 6, 7), hour=0):
        notices_publish_due()
    assert Notice.objects.get().notice_date == date(2025, 6, 7)


def test_the_task_does_nothing_on_other_days(approved: Claim) -> None:
    with on_day(date(2025, 6, 8), hour=0):
        assert notices_publish_due() == []
    approved.refresh_from_db()
    assert (approved.status, Notice.objects.count()) == (ClaimStatus.APPROVED, 0)


def test_the_task_run_twice_publishes_once(approved: Claim) -> None:
    with on_day(date(2025, 6, 7), hour=0):
        first = notices_publish_due()
        again = notices_publish_due()
    assert first == again
    assert approved.transitions.filter(action="publish").count() == 1
