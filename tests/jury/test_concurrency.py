"""Two requests at once, each on its own PostgreSQL connection: one vote per juror is the database's rule,
and a vote and the closing job never miss each other (the vote's foreign key locks the appeal row)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction

from jury.errors import AlreadyVoted, VotingClosed
from jury.models import Appeal, AppealStatus, Vote
from jury.services import appeal_close, vote_cast
from members.models import User
from tests.concurrency import at_once
from tests.jury.conftest import DEADLINE, VOTE_AT

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_same_juror_voting_twice_at_once_gets_one_vote(appeal: Appeal, jurors: list[User]) -> None:
    juror = jurors[0]
    results = at_once(
        lambda: vote_cast(appeal=Appeal.objects.get(pk=appeal.pk), user=juror, for_claimant=True, now=VOTE_AT),
        lambda: vote_cast(appeal=Appeal.objects.get(pk=appeal.pk), user=juror, for_claimant=False, now=VOTE_AT),
    )
    won = [r for r in results if isinstance(r, Vote)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert (len(won), [type(e) for e in lost]) == (1, [AlreadyVoted])
    assert list(Vote.objects.filter(appeal=appeal).values_list("for_claimant", flat=True)) == [won[0].for_claimant]


def test_two_jurors_voting_at_once_both_count(appeal: Appeal, jurors: list[User]) -> None:
    results = at_once(
        *(
            (
                lambda user=user: vote_cast(
                    appeal=Appeal.objects.get(pk=appeal.pk), user=user, for_claimant=True, now=VOTE_AT
                )
            )
            for user in jurors[:2]
        )
    )
    assert all(isinstance(r, Vote) for r in results), results
    assert Vote.objects.filter(appeal=appeal).count() == 2


def _slowly(call: Callable[[], Any], *, before: float = 0.0, hold: float = 0.0) -> Callable[[], Any]:
    """Start after `before` seconds; keep the transaction open `hold` seconds after the call."""

    def run() -> Any:
        time.sleep(before)
        with transaction.atomic():
            result = call()
            time.sleep(hold)
        return result

    return run


def test_a_vote_still_being_written_when_the_vote_closes_is_counted(appeal: Appeal, jurors: list[User]) -> None:
    juror = jurors[0]
    results = at_once(
        _slowly(
            lambda: vote_cast(appeal=appeal, user=juror, for_claimant=True, now=DEADLINE - timedelta(seconds=1)),
            hold=0.6,
        ),
        _slowly(lambda: appeal_close(appeal_id=appeal.pk, now=DEADLINE), before=0.2),
    )
    assert isinstance(results[0], Vote) and isinstance(results[1], Appeal), results
    closed = Appeal.objects.get(pk=appeal.pk)
    assert (closed.status, closed.votes_for) == (AppealStatus.ESCALATED, 1)


def test_a_vote_arriving_while_the_vote_closes_is_refused(appeal: Appeal, jurors: list[User]) -> None:
    juror = jurors[0]
    results = at_once(
        _slowly(
            lambda: vote_cast(appeal=appeal, user=juror, for_claimant=True, now=DEADLINE - timedelta(seconds=1)),
            before=0.2,
        ),
        _slowly(lambda: appeal_close(appeal_id=appeal.pk, now=DEADLINE), hold=0.6),
    )
    assert isinstance(results[0], VotingClosed) and isinstance(results[1], Appeal), results
    closed = Appeal.objects.get(pk=appeal.pk)
    assert (closed.status, closed.votes_for, Vote.objects.count()) == (AppealStatus.ESCALATED, 0, 0)
