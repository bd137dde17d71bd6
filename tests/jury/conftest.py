"""Jury fixtures: Alice's claim rejected on DECISION_DAY (5 June 2025) and appealed the next morning,
jurors who are payers of long standing and have passed the test, and a small quorum.

The claims fixtures (Alice's membership, her claim, filing on a given day) are the claims tests' own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from claims.models import Claim
from claims.services import claim_reject
from jury.models import Appeal, Juror, Vote
from jury.seeding import jury_seed_default
from jury.services import appeal_file, vote_cast
from members.models import Membership, Plan, User
from tests.claims.conftest import (  # noqa: F401  (fixtures used by the jury tests)
    DECISION_DAY,
    _media_in_tmp,
    beijing,
    claim,
    condition,
    file_claim,
    member,
    on_day,
)

QUORUM = 4
APPEAL_AT = beijing(date(2025, 6, 6), 10)
DEADLINE = APPEAL_AT + timedelta(hours=72)  # 9 June 2025, 10:00 Beijing
VOTE_AT = beijing(date(2025, 6, 7), 10)
JUROR_JOIN_DAY = date(2024, 6, 1)
STATEMENT = "The hospital's second report confirms the severe stage the definition asks for."
FINDING = "The first report describes an early stage, below the plan's definition."


@pytest.fixture(autouse=True)
def _tasks_in_process(tasks_in_process: None) -> None:
    """Tasks queued on commit run here, unless a test needs the real services."""


@pytest.fixture
def jury_plan(plan: Plan) -> Plan:
    jury_seed_default(plan=plan)
    plan.jury_quorum = QUORUM
    plan.save(update_fields=["jury_quorum"])
    return plan


@pytest.fixture
def rejected(claim: Claim, admin_user: User, jury_plan: Plan) -> Claim:  # noqa: F811
    """Alice's claim, rejected on DECISION_DAY as not meeting the covered condition's definition."""
    with on_day(DECISION_DAY):
        return claim_reject(claim=claim, by=admin_user, reason="not_covered", note=FINDING)


@pytest.fixture
def appeal(rejected: Claim, alice: User) -> Appeal:
    with time_machine.travel(APPEAL_AT, tick=False):
        return appeal_file(claim=rejected, by=alice, statement=STATEMENT)


@pytest.fixture
def make_juror(enrol: Callable[..., Membership], jury_plan: Plan) -> Callable[..., User]:
    """A login with a payer membership; `qualified` ones have passed the test and accepted the rules."""
    numbers = itertools.count(1)

    def _make(
        *,
        qualified: bool = True,
        joined_on: date = JUROR_JOIN_DAY,
        birth_date: date = date(1985, 3, 3),
        name: str = "李四",
    ) -> User:
        phone = f"1390000{next(numbers):04d}"
        user = User.objects.create_user(username=phone, phone=phone, password="juror-pass-123")
        enrol(account=user, on=joined_on, birth_date=birth_date, name=name)
        if qualified:
            qualify(user, jury_plan)
        return user

    return _make


def qualify(user: User, plan: Plan, at: datetime | None = None) -> Juror:
    at = at or beijing(date(2025, 5, 1))
    juror, _created = Juror.objects.update_or_create(
        plan=plan, user=user, defaults={"passed_at": at, "rules_accepted_at": at, "last_score": 7, "attempts": 1}
    )
    return juror


@pytest.fixture
def jurors(make_juror: Callable[..., User]) -> list[User]:
    return [make_juror() for _ in range(QUORUM + 1)]


def cast(appeal: Appeal, users: list[User], *, for_claimant: int, against: int, at: datetime = VOTE_AT) -> None:
    """`for_claimant` votes for, then `against` votes against, from the users in turn."""
    assert for_claimant + against <= len(users)
    for index, user in enumerate(users[: for_claimant + against]):
        vote_cast(appeal=appeal, user=user, for_claimant=index < for_claimant, now=at)
    assert Vote.objects.filter(appeal=appeal).count() == for_claimant + against


def local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
