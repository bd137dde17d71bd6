"""Writes of the jury: the juror test, appeals, votes, and closing a vote at its deadline.

The claim itself moves only through claims.services (claim_appeal, claim_approve_on_appeal,
claim_uphold_rejection, claim_appeal_escalate), so every step of an appeal is a row of the claim's
timeline. An appeal row is locked while its vote closes; a vote is one row under a unique index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from claims.errors import AppealNotAllowed, ApprovalRefused
from claims.models import Claim
from claims.services import (
    claim_appeal,
    claim_appeal_escalate,
    claim_approve_on_appeal,
    claim_uphold_rejection,
)
from jury.errors import AlreadyVoted, JurorNotEligible, SeniorDecisionRequired, VoteNotAllowed, VotingClosed
from jury.models import Appeal, AppealOutcome, AppealStatus, Juror, Vote
from jury.selectors import juror_conflicted, juror_eligibility, jury_rules_for
from members.errors import DomainError, InvalidTransition
from members.models import Plan, User

logger = logging.getLogger(__name__)

ESCALATED = "escalated"


# --- the juror test -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    juror: Juror
    score: int
    total: int
    passed: bool


def juror_take_test(
    *, user: User, plan: Plan, answers: Mapping[str, int | None], accept_rules: bool, now: datetime | None = None
) -> TestResult:
    """Score the juror test; a pass and the accepted rules make the login a juror. It may be taken again."""
    now = now or timezone.now()
    eligibility = juror_eligibility(user=user, plan=plan, on=timezone.localdate(now))
    if not eligibility.member_ok:
        raise JurorNotEligible(eligibility.refusals[0].message)
    if not accept_rules:
        raise DomainError(_("Accept the juror rules to take part."), field="accept_rules")
    questions = list(plan.juror_questions.all())
    if not questions:
        raise DomainError(_("The juror test has no questions yet; try again later."))
    score = sum(1 for q in questions if answers.get(q.code) == q.answer)
    passed = score * 100 >= jury_rules_for(plan=plan).quiz_pass_percent * len(questions)
    with transaction.atomic():
        juror = _juror_locked(user=user, plan=plan)
        juror.attempts += 1
        juror.last_score = score
        if passed and juror.passed_at is None:
            juror.passed_at = now
        if juror.rules_accepted_at is None:
            juror.rules_accepted_at = now
        juror.save(update_fields=["attempts", "last_score", "passed_at", "rules_accepted_at"])
    return TestResult(juror=juror, score=score, total=len(questions), passed=passed)


def _juror_locked(*, user: User, plan: Plan) -> Juror:
    # Two tabs submitting the test at once: the unique (plan, user) index lets one create, the other waits.
    try:
        with transaction.atomic():
            Juror.objects.get_or_create(plan=plan, user=user)
    except IntegrityError:
        pass
    return Juror.objects.select_for_update().get(plan=plan, user=user)


# --- appeals and votes -----------------------------------------------------------------------------


def appeal_file(*, claim: Claim, by: User | None, statement: str, now: datetime | None = None) -> Appeal:
    """A rejected claimant appeals once, within the plan's appeal window; the jury votes at once."""
    now = now or timezone.now()
    plan = claim.member.plan
    rules = jury_rules_for(plan=plan)
    with transaction.atomic():
        # Locks the claim and refuses a second appeal, a late one, or one no vote could make payable.
        claim_appeal(
            claim=claim, by=by, statement=statement, window_days=rules.appeal_window_days, on=timezone.localdate(now)
        )
        try:
            with transaction.atomic():
                return Appeal.objects.create(
                    claim=claim,
                    statement=statement.strip(),
                    filed_by=by,
                    filed_at=now,
                    deadline=now + timedelta(hours=max(plan.jury_voting_hours, 1)),
                )
        except IntegrityError as exc:
            raise AppealNotAllowed(_("This claim has already been appealed; a claim is appealed once.")) from exc


def vote_cast(*, appeal: Appeal, user: User, for_claimant: bool, now: datetime | None = None) -> Vote:
    """A juror's one vote, for or against the claimant, before the deadline."""
    now = now or timezone.now()
    claim = appeal.claim
    if appeal.status != AppealStatus.OPEN or now >= appeal.deadline:
        raise VotingClosed()
    eligibility = juror_eligibility(user=user, plan=claim.member.plan, on=timezone.localdate(now))
    if not eligibility.ok or eligibility.juror is None:
        raise JurorNotEligible(eligibility.refusals[0].message if eligibility.refusals else None)
    if juror_conflicted(user=user, membership=eligibility.membership, claim=claim):
        raise VoteNotAllowed(_("You cannot vote on a claim of your own household."))
    with transaction.atomic():
        if _appeal_status_shared(appeal.pk) != AppealStatus.OPEN:
            raise VotingClosed()
        try:
            with transaction.atomic():
                vote = Vote.objects.create(appeal=appeal, juror=eligibility.juror, for_claimant=for_claimant, at=now)
        except IntegrityError as exc:
            raise AlreadyVoted() from exc
    return vote


def _appeal_status_shared(appeal_id: int) -> str:
    """The appeal's status under a share lock held to the end of the vote's transaction.

    The closing job locks the row FOR UPDATE, which waits for every vote holding FOR SHARE, and a vote
    waits for a close in progress: either the vote is counted, or it sees the vote closed and is refused.
    Votes do not wait for each other (share locks do not conflict). The vote's foreign key is no such
    lock: its check is deferred to the commit. SQLite has no row locks; it writes one transaction at a time.
    """
    if connection.vendor != "postgresql":
        return str(Appeal.objects.values_list("status", flat=True).get(pk=appeal_id))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {Appeal._meta.db_table} WHERE id = %s FOR SHARE", [appeal_id])  # noqa: S608
        row = cursor.fetchone()
    return str(row[0]) if row else ""


def appeal_outcome(*, votes_for: int, votes_against: int, quorum: int) -> str:
    """The plan's rule: with the quorum of valid votes, more than half for the claimant approves the claim,
    exactly half or less upholds the rejection; without the quorum a senior administrator decides."""
    total = votes_for + votes_against
    if total < quorum:
        return ESCALATED
    return AppealOutcome.APPROVED if votes_for * 2 > total else AppealOutcome.UPHELD


def appeal_close(*, appeal_id: int, now: datetime | None = None) -> Appeal:
    """Close the vote once its deadline has passed; safe to run again (a closed vote is left as it is)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Appeal.objects.select_for_update(of=("self",)).select_related("claim__member__plan").get(pk=appeal_id)
        if locked.status != AppealStatus.OPEN or now < locked.deadline:
            return locked
        counts = locked.votes.aggregate(
            votes_for=Count("pk", filter=Q(for_claimant=True)), votes_against=Count("pk", filter=Q(for_claimant=False))
        )
        locked.votes_for, locked.votes_against = counts["votes_for"], counts["votes_against"]
        locked.quorum = locked.claim.member.plan.jury_quorum
        locked.closed_at = now
        result = appeal_outcome(votes_for=locked.votes_for, votes_against=locked.votes_against, quorum=locked.quorum)
        note = _record_text(_vote_summary, locked)
        if result == AppealOutcome.APPROVED:
            try:
                claim_approve_on_appeal(claim=locked.claim, by=None, note=note)
            except ApprovalRefused as exc:
                # The jury approved a claim the plan cannot pay (a payout since, say): a person decides.
                result = ESCALATED
                note = f"{note} {exc.message}"
        elif result == AppealOutcome.UPHELD:
            claim_uphold_rejection(claim=locked.claim, by=None, note=note)
        if result == ESCALATED:
            locked.status = AppealStatus.ESCALATED
            claim_appeal_escalate(claim=locked.claim, note=f"{note} {_record_text(_escalation_text, locked)}")
        else:
            locked.status, locked.outcome, locked.decided_at = AppealStatus.DECIDED, result, now
        locked.save()
    logger.info("appeal %s closed: %s (%s for, %s against)", locked.pk, result, locked.votes_for, locked.votes_against)
    return locked


def _record_text(build: Callable[[Appeal], str], appeal: Appeal) -> str:
    """Timeline notes are a record: written in the site's language whoever (or whatever job) closes the vote."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(build(appeal))


def _vote_summary(appeal: Appeal) -> str:
    return _(
        "Jury vote closed at its deadline %(deadline)s: %(for)s for the claimant, %(against)s against "
        "(quorum %(quorum)s valid votes)."
    ) % {
        "deadline": timezone.localtime(appeal.deadline).strftime("%Y-%m-%d %H:%M"),
        "for": appeal.votes_for,
        "against": appeal.votes_against,
        "quorum": appeal.quorum,
    }


def _escalation_text(appeal: Appeal) -> str:
    return _("Sent to a senior administrator to decide.")


def appeals_close_due(*, now: datetime | None = None) -> list[int]:
    """The deadline job: close every open vote whose deadline has passed; returns the appeals closed."""
    now = now or timezone.now()
    due = Appeal.objects.filter(status=AppealStatus.OPEN, deadline__lte=now).order_by("deadline", "pk")
    closed = []
    for appeal_id in due.values_list("pk", flat=True):  # a handful of appeals a day, each its own transaction
        if appeal_close(appeal_id=appeal_id, now=now).status != AppealStatus.OPEN:
            closed.append(appeal_id)
    return closed


def appeal_decide_escalated(*, appeal: Appeal, by: User, approve: bool, note: str = "") -> Appeal:
    """A senior administrator decides an appeal the jury left without quorum."""
    if not by.has_perm("jury.decide_escalated_appeal"):
        raise SeniorDecisionRequired()
    note = note.strip()
    with transaction.atomic():
        locked = Appeal.objects.select_for_update(of=("self",)).select_related("claim").get(pk=appeal.pk)
        if locked.status != AppealStatus.ESCALATED:
            raise InvalidTransition(_("This appeal is not waiting for a senior administrator's decision."))
        if approve:
            claim_approve_on_appeal(claim=locked.claim, by=by, note=note)
        else:
            claim_uphold_rejection(claim=locked.claim, by=by, note=note)
        locked.status = AppealStatus.DECIDED
        locked.outcome = AppealOutcome.APPROVED if approve else AppealOutcome.UPHELD
        locked.decided_by, locked.decided_at = by, timezone.now()
        locked.save(update_fields=["status", "outcome", "decided_by", "decided_at"])
    appeal.status, appeal.outcome = locked.status, locked.outcome
    return locked
