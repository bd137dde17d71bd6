"""Voting: each juror once, for or against, before the deadline; never the claimant nor their household."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
import time_machine

from claims.models import Claim
from claims.services import claim_reject
from jury.errors import AlreadyVoted, VoteNotAllowed, VotingClosed
from jury.models import Appeal, Vote
from jury.services import appeal_close, appeal_file, vote_cast
from members.models import Membership, Plan, User
from tests.claims.conftest import DECISION_DAY, on_day
from tests.jury.conftest import APPEAL_AT, DEADLINE, STATEMENT, VOTE_AT, cast, qualify

pytestmark = pytest.mark.django_db


def test_a_juror_votes_once(appeal: Appeal, jurors: list[User]) -> None:
    vote_cast(appeal=appeal, user=jurors[0], for_claimant=True, now=VOTE_AT)
    with pytest.raises(AlreadyVoted):
        vote_cast(appeal=appeal, user=jurors[0], for_claimant=False, now=VOTE_AT + timedelta(minutes=5))
    assert list(Vote.objects.values_list("for_claimant", flat=True)) == [True]


def test_the_database_holds_one_vote_per_juror_whatever_the_service_checks(appeal: Appeal, jurors: list[User]) -> None:
    from django.db import IntegrityError, transaction

    vote = vote_cast(appeal=appeal, user=jurors[0], for_claimant=True, now=VOTE_AT)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(appeal=appeal, juror=vote.juror, for_claimant=False, at=VOTE_AT)


def test_a_vote_at_the_deadline_is_too_late(appeal: Appeal, jurors: list[User]) -> None:
    vote_cast(appeal=appeal, user=jurors[0], for_claimant=True, now=DEADLINE - timedelta(seconds=1))
    with pytest.raises(VotingClosed):
        vote_cast(appeal=appeal, user=jurors[1], for_claimant=True, now=DEADLINE)
    assert Vote.objects.count() == 1


def test_a_closed_vote_takes_no_more_votes(appeal: Appeal, jurors: list[User]) -> None:
    appeal_close(appeal_id=appeal.pk, now=DEADLINE)
    appeal.refresh_from_db()
    with pytest.raises(VotingClosed):
        vote_cast(appeal=appeal, user=jurors[0], for_claimant=True, now=VOTE_AT)


def test_the_claimant_cannot_vote_on_their_own_case(appeal: Appeal, alice: User, jury_plan: Plan) -> None:
    qualify(alice, jury_plan)
    with pytest.raises(VoteNotAllowed, match="household"):
        vote_cast(appeal=appeal, user=alice, for_claimant=True, now=VOTE_AT)
    assert not Vote.objects.exists()


def test_the_payer_of_a_claimant_in_their_household_cannot_vote(
    member: Membership,
    enrol: Callable[..., Membership],
    file_claim: Callable[..., Claim],
    admin_user: User,
    alice: User,
    jury_plan: Plan,
) -> None:
    """Alice pays for her daughter; the daughter's claim is appealed; Alice, a juror, may not vote on it."""
    daughter = enrol(
        payer=member, relationship="child", name="张小花", birth_date=date(2015, 2, 2), on=date(2025, 1, 10)
    )
    claim = file_claim(daughter, by=alice)
    with on_day(DECISION_DAY):
        claim_reject(claim=claim, by=admin_user, reason="not_covered")
    with time_machine.travel(APPEAL_AT, tick=False):
        appeal = appeal_file(claim=claim, by=alice, statement=STATEMENT)
    qualify(alice, jury_plan)
    with pytest.raises(VoteNotAllowed):
        vote_cast(appeal=appeal, user=alice, for_claimant=True, now=VOTE_AT)


def test_other_jurors_vote_for_and_against(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=2, against=1)
    assert sorted(Vote.objects.values_list("for_claimant", flat=True)) == [False, True, True]
