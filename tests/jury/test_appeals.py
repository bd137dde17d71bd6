"""Appealing a rejection: once, within 30 days of the rejection, with a statement; the claim becomes
`appealed` and the vote opens for the plan's voting window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
import time_machine
from django.utils import translation

from claims.errors import AppealNotAllowed
from claims.models import Claim, ClaimStatus
from claims.services import claim_reject
from jury.models import Appeal, AppealStatus
from jury.services import appeal_close, appeal_file
from members.errors import DomainError
from members.models import Membership, User
from tests.claims.conftest import DECISION_DAY, beijing, on_day
from tests.jury.conftest import APPEAL_AT, DEADLINE, STATEMENT, cast

pytestmark = pytest.mark.django_db


def appeal_on(claim: Claim, by: User, day: date, statement: str = STATEMENT) -> Appeal:
    at = beijing(day, 18)
    with time_machine.travel(at, tick=False):
        return appeal_file(claim=claim, by=by, statement=statement, now=at)


def test_an_appeal_makes_the_claim_appealed_and_opens_the_vote_for_72_hours(appeal: Appeal, rejected: Claim) -> None:
    rejected.refresh_from_db()
    step = rejected.transitions.get(action="appeal")
    assert rejected.status == ClaimStatus.APPEALED
    assert (step.from_status, step.to_status, step.note) == ("rejected", "appealed", STATEMENT)
    assert (appeal.status, appeal.filed_at, appeal.deadline) == (AppealStatus.OPEN, APPEAL_AT, DEADLINE)
    assert appeal.statement == STATEMENT


def test_the_voting_window_is_the_plans(rejected: Claim, alice: User) -> None:
    plan = rejected.member.plan
    plan.jury_voting_hours = 24
    plan.save(update_fields=["jury_voting_hours"])
    appeal = appeal_on(rejected, alice, date(2025, 6, 6))
    assert appeal.deadline - appeal.filed_at == timedelta(hours=24)


def test_the_30th_day_after_the_rejection_may_appeal(rejected: Claim, alice: User) -> None:
    assert appeal_on(rejected, alice, DECISION_DAY + timedelta(days=30)).status == AppealStatus.OPEN


def test_the_31st_day_after_the_rejection_may_not(rejected: Claim, alice: User) -> None:
    with pytest.raises(AppealNotAllowed, match="2025-07-05"):
        appeal_on(rejected, alice, DECISION_DAY + timedelta(days=31))
    rejected.refresh_from_db()
    assert (rejected.status, Appeal.objects.count()) == (ClaimStatus.REJECTED, 0)


def test_a_claim_is_appealed_once_even_after_the_rejection_is_upheld(
    appeal: Appeal, rejected: Claim, alice: User, jurors: list[User]
) -> None:
    cast(appeal, jurors, for_claimant=1, against=3)
    appeal_close(appeal_id=appeal.pk, now=DEADLINE)
    rejected.refresh_from_db()
    assert rejected.status == ClaimStatus.REJECTED
    with translation.override("en"), pytest.raises(AppealNotAllowed, match="once"):
        appeal_on(rejected, alice, date(2025, 6, 12))
    assert rejected.transitions.filter(action="appeal").count() == 1


def test_an_appealed_claim_cannot_be_appealed_again(appeal: Appeal, rejected: Claim, alice: User) -> None:
    with pytest.raises(AppealNotAllowed):
        appeal_on(rejected, alice, date(2025, 6, 7))
    assert Appeal.objects.count() == 1


def test_an_appeal_needs_a_statement(rejected: Claim, alice: User) -> None:
    with pytest.raises(DomainError) as refused:
        appeal_on(rejected, alice, date(2025, 6, 6), statement="   ")
    assert refused.value.field == "statement"
    rejected.refresh_from_db()
    assert rejected.status == ClaimStatus.REJECTED


def test_only_a_rejected_claim_can_be_appealed(claim: Claim, alice: User, jury_plan: object) -> None:
    with pytest.raises(AppealNotAllowed):
        appeal_on(claim, alice, date(2025, 6, 6))


def test_a_rejection_for_the_age_limit_cannot_be_appealed(
    claim: Claim, admin_user: User, alice: User, jury_plan: object
) -> None:
    # No vote can make it payable: the plan has no payout for that age.
    with on_day(DECISION_DAY):
        claim_reject(claim=claim, by=admin_user, reason="age_limit")
    with pytest.raises(AppealNotAllowed):
        appeal_on(claim, alice, date(2025, 6, 6))


def test_an_appeal_waits_while_the_person_has_another_claim_in_progress(
    rejected: Claim, member: Membership, file_claim: Callable[..., Claim], alice: User
) -> None:
    file_claim(member, diagnosed_on=date(2025, 6, 4), on=date(2025, 6, 5))
    with translation.override("en"), pytest.raises(AppealNotAllowed, match="another claim"):
        appeal_on(rejected, alice, date(2025, 6, 6))
    rejected.refresh_from_db()
    assert (rejected.status, Appeal.objects.count()) == (ClaimStatus.REJECTED, 0)
