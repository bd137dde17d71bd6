"""Closing a vote at its deadline: quorum and majority at their boundaries, the job, the timeline.

With the quorum of valid votes, more than half for the claimant approves the claim (it then joins the
next notice with its payout fixed by the age at diagnosis); exactly half or less upholds the rejection;
one vote short of the quorum sends the appeal to a senior administrator.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission

from claims.models import Claim, ClaimStatus, Notice
from claims.services import notices_publish
from jury import tasks
from jury.errors import SeniorDecisionRequired
from jury.models import Appeal, AppealOutcome, AppealStatus
from jury.services import appeal_close, appeal_decide_escalated, appeal_outcome, appeals_close_due
from members.models import Plan, User
from mutualaid.celery import app
from tests.claims.conftest import on_day
from tests.jury.conftest import DEADLINE, QUORUM, VOTE_AT, cast, local

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("votes_for", "votes_against", "quorum", "expected"),
    [
        (500, 500, 1000, AppealOutcome.UPHELD),  # exactly half: the rejection stands
        (501, 499, 1000, AppealOutcome.APPROVED),  # one more than half
        (812, 340, 1000, AppealOutcome.APPROVED),
        (999, 0, 1000, "escalated"),  # one short of the quorum
        (0, 1000, 1000, AppealOutcome.UPHELD),
        (2, 2, 4, AppealOutcome.UPHELD),
        (3, 1, 4, AppealOutcome.APPROVED),
    ],
)
def test_the_outcome_rule_at_its_boundaries(votes_for: int, votes_against: int, quorum: int, expected: str) -> None:
    assert appeal_outcome(votes_for=votes_for, votes_against=votes_against, quorum=quorum) == expected


def close(appeal: Appeal) -> Appeal:
    with on_day(date(2025, 6, 9), hour=10):
        return appeal_close(appeal_id=appeal.pk, now=DEADLINE)


def test_exactly_half_for_the_claimant_upholds_the_rejection(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=2, against=2)
    closed = close(appeal)
    claim = Claim.objects.get(pk=appeal.claim_id)
    assert (closed.status, closed.outcome, closed.votes_for, closed.votes_against) == ("decided", "upheld", 2, 2)
    assert (claim.status, claim.rejection_reason) == (ClaimStatus.REJECTED, "not_covered")
    assert claim.transitions.last().action == "uphold_rejection"


def test_one_vote_more_than_half_approves_the_claim_with_its_payout(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=3, against=1)
    closed = close(appeal)
    claim = Claim.objects.get(pk=appeal.claim_id)
    assert (closed.status, closed.outcome) == ("decided", "approved")
    # Alice was born on 17 May 1990 and diagnosed on 2 June 2025: 35, the 300,000-yuan tier.
    assert (claim.status, claim.payout_fen, claim.age_at_diagnosis) == (ClaimStatus.APPROVED, 30_000_000, 35)
    assert claim.rejection_reason == ""


def test_one_vote_short_of_the_quorum_goes_to_a_senior_admin(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=QUORUM - 1, against=0)
    closed = close(appeal)
    claim = Claim.objects.get(pk=appeal.claim_id)
    assert (closed.status, closed.outcome, closed.votes_for) == (AppealStatus.ESCALATED, "", 3)
    assert claim.status == ClaimStatus.APPEALED
    assert claim.transitions.last().action == "escalate_appeal"


def test_votes_beyond_the_quorum_count_too(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=2, against=3)
    assert close(appeal).outcome == AppealOutcome.UPHELD


def test_the_outcome_counts_and_deadline_are_on_the_claims_timeline(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=3, against=1)
    close(appeal)
    step = Claim.objects.get(pk=appeal.claim_id).transitions.last()
    assert (step.from_status, step.to_status, step.action, step.by) == (
        "appealed",
        "approved",
        "approve_on_appeal",
        None,
    )
    for fact in ("3", "1", str(QUORUM), local(DEADLINE)):
        assert fact in step.note


def test_an_approved_appeal_joins_the_next_notice_like_any_approved_claim(
    appeal: Appeal, jurors: list[User], jury_plan: Plan
) -> None:
    cast(appeal, jurors, for_claimant=4, against=0)
    close(appeal)  # 9 June: the next notice day is the 21st
    with on_day(date(2025, 6, 21), hour=0):
        notice = notices_publish(plan=jury_plan, on=date(2025, 6, 21))
    claim = Claim.objects.get(pk=appeal.claim_id)
    assert isinstance(notice, Notice)
    assert (claim.status, claim.notice) == (ClaimStatus.IN_NOTICE, notice)


def test_nothing_closes_before_the_deadline(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=4, against=0)
    assert appeals_close_due(now=DEADLINE - timedelta(seconds=1)) == []
    assert appeal_close(appeal_id=appeal.pk, now=DEADLINE - timedelta(seconds=1)).status == AppealStatus.OPEN
    assert Claim.objects.get(pk=appeal.claim_id).status == ClaimStatus.APPEALED


def test_the_deadline_job_closes_due_votes_once(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=1, against=3)
    with on_day(date(2025, 6, 9), hour=10):
        assert appeals_close_due(now=DEADLINE) == [appeal.pk]
        assert appeals_close_due(now=DEADLINE + timedelta(minutes=5)) == []
        assert appeal_close(appeal_id=appeal.pk, now=DEADLINE + timedelta(minutes=10)).outcome == "upheld"
    claim = Claim.objects.get(pk=appeal.claim_id)
    assert claim.transitions.filter(action="uphold_rejection").count() == 1


def test_the_beat_task_closes_the_votes_past_their_deadline(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=3, against=1)
    with on_day(date(2025, 6, 9), hour=11):
        assert tasks.appeals_close_due() == [appeal.pk]
    assert Appeal.objects.get(pk=appeal.pk).outcome == AppealOutcome.APPROVED


def test_beat_runs_the_deadline_job_every_five_minutes() -> None:
    app.loader.import_default_modules()
    entries = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert "jury.tasks.appeals_close_due" in app.tasks
    assert entries["jury.tasks.appeals_close_due"].minute == set(range(0, 60, 5))


@pytest.fixture
def escalated(appeal: Appeal, jurors: list[User]) -> Appeal:
    cast(appeal, jurors, for_claimant=1, against=0)
    return close(appeal)


@pytest.fixture
def senior(db: object) -> User:
    user = User.objects.create_user(username="senior", password="senior-pass-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="decide_escalated_appeal"))
    return User.objects.get(pk=user.pk)


def test_a_senior_admin_approves_an_escalated_appeal(escalated: Appeal, senior: User) -> None:
    with on_day(date(2025, 6, 10)):
        decided = appeal_decide_escalated(appeal=escalated, by=senior, approve=True, note="Second report convinces.")
    claim = Claim.objects.get(pk=escalated.claim_id)
    assert (decided.status, decided.outcome, decided.decided_by) == ("decided", "approved", senior)
    assert (claim.status, claim.payout_fen) == (ClaimStatus.APPROVED, 30_000_000)
    assert claim.transitions.last().by == senior


def test_a_senior_admin_upholds_an_escalated_appeal(escalated: Appeal, senior: User) -> None:
    decided = appeal_decide_escalated(appeal=escalated, by=senior, approve=False)
    assert (decided.outcome, Claim.objects.get(pk=escalated.claim_id).status) == ("upheld", ClaimStatus.REJECTED)


def test_an_admin_without_the_senior_permission_cannot_decide(escalated: Appeal) -> None:
    staff = User.objects.create_user(username="junior", password="junior-pass-123", is_staff=True)
    with pytest.raises(SeniorDecisionRequired):
        appeal_decide_escalated(appeal=escalated, by=staff, approve=True)
    assert Appeal.objects.get(pk=escalated.pk).status == AppealStatus.ESCALATED


def test_an_appeal_the_jury_decided_is_not_for_the_senior_admin(
    appeal: Appeal, jurors: list[User], senior: User
) -> None:
    from members.errors import InvalidTransition

    cast(appeal, jurors, for_claimant=3, against=1)
    close(appeal)
    with pytest.raises(InvalidTransition):
        appeal_decide_escalated(appeal=appeal, by=senior, approve=False)


def test_the_vote_date_is_recorded_not_now(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=1, against=0)
    assert appeal.votes.get().at == VOTE_AT
