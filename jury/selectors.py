"""Reads of the jury: who may be a juror, the anonymised case jurors see, the counts.

Juror rules (DESIGN.md, issue 7): a payer of a covered household, of the plan's juror age, a member for
more than the plan's juror seniority, not in arrears after the grace, never found to have made a false
declaration, who has passed the juror test and accepted the rules. The member rules are read again at
every vote: arrears and memberships change after the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from claims.models import Claim, ClaimKind, ClaimStatus, ClaimTransition, RejectionReason
from jury.models import Appeal, AppealStatus, Juror, JuryRules, Vote
from members.dates import age_in_years
from members.models import COVERED_STATUSES, Membership, MembershipStatus, Plan, User
from settlement.selectors import payer_statement

# A claim rejected with one of these reasons is a finding that its claimant declared something untrue.
FALSE_DECLARATION_REASONS = (RejectionReason.HEALTH_DECLARATION, RejectionReason.FRAUD)
# The rejection stands while the claim is rejected, and while its appeal is pending.
FINDING_STANDS_STATUSES = (ClaimStatus.REJECTED, ClaimStatus.APPEALED)


def jury_rules_for(*, plan: Plan) -> JuryRules:
    """The plan's jury rules; the defaults (unsaved) until seed_plan or an administrator has stored them."""
    return JuryRules.objects.filter(plan=plan).first() or JuryRules(plan=plan)


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True)
class Eligibility:
    """Whether a login may vote, and every reason it may not (all of them, so a person knows what to fix)."""

    membership: Membership | None
    juror: Juror | None
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refusals

    @property
    def member_ok(self) -> bool:
        """The member rules hold: the test and the rules are all that may be missing."""
        return not [r for r in self.refusals if r.code not in ("test_not_passed", "rules_not_accepted")]

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.refusals]


def juror_payer_membership(*, user: User, plan: Plan) -> Membership | None:
    """The login's own covered membership as the payer of its household (waiting members pay too)."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("person", "plan")
        .filter(account=user, plan=plan, payer__isnull=True, status__in=COVERED_STATUSES)
        .order_by("-id")
        .first()
    )


def juror_eligibility(*, user: User, plan: Plan, on: date) -> Eligibility:
    membership = juror_payer_membership(user=user, plan=plan)
    juror = Juror.objects.filter(plan=plan, user=user).first() if user.is_authenticated else None
    refusals = _member_refusals(user=user, plan=plan, membership=membership, on=on)
    if juror is None or juror.passed_at is None:
        refusals.append(Refusal("test_not_passed", _("Pass the juror test on the plan's rules.")))
    if juror is None or juror.rules_accepted_at is None:
        refusals.append(Refusal("rules_not_accepted", _("Accept the juror rules.")))
    return Eligibility(membership=membership, juror=juror, refusals=refusals)


def _member_refusals(*, user: User, plan: Plan, membership: Membership | None, on: date) -> list[Refusal]:
    if membership is None:
        return [
            Refusal("not_payer", _("Only members who pay for their household (payers) who are covered can be jurors."))
        ]
    refusals = []
    if age_in_years(membership.person.birth_date, on) < plan.juror_min_age_years:
        refusals.append(
            Refusal("too_young", _("Jurors are at least %(age)s years old.") % {"age": plan.juror_min_age_years})
        )
    first_day = membership.joined_on + timedelta(days=plan.juror_min_membership_days + 1)
    if on < first_day:
        refusals.append(
            Refusal(
                "too_new",
                _("Jurors have been members for more than %(days)s days: you can be one from %(day)s.")
                % {"days": plan.juror_min_membership_days, "day": first_day.isoformat()},
            )
        )
    if payer_in_arrears_after_grace(payer=membership, on=on):
        refusals.append(
            Refusal("in_arrears", _("Your household has charges unpaid after their grace: pay them to be a juror."))
        )
    if found_false_declaration(user=user, person_id=membership.person_id):
        refusals.append(
            Refusal("false_declaration", _("Someone found to have made a false declaration cannot be a juror."))
        )
    return refusals


def payer_in_arrears_after_grace(*, payer: Membership, on: date) -> bool:
    """What settlement removes a household for: a charge still unpaid after its grace (credits settle the
    oldest charges first) — the household page's own statement, `overdue`."""
    return payer_statement(payer=payer, on=on).overdue


def found_false_declaration(*, user: User, person_id: int) -> bool:
    """A claim of this person, or filed by this login, rejected as a false declaration or a fraud (and
    not overturned on appeal), or a membership of this person or this login expelled."""
    rejected = Claim.objects.filter(
        Q(person_id=person_id) | Q(filed_by=user),
        status__in=FINDING_STANDS_STATUSES,
        rejection_reason__in=FALSE_DECLARATION_REASONS,
    ).exists()
    expelled = Membership.objects.filter(Q(person_id=person_id) | Q(account=user), status=MembershipStatus.EXPELLED)
    return rejected or expelled.exists()


def juror_conflicted(*, user: User, membership: Membership | None, claim: Claim) -> bool:
    """The claimant and anyone in the claimant's household never vote on the case."""
    member = claim.member
    payer = member.payer
    household = {member.pk, member.payer_id}
    if user.pk in {member.account_id, claim.filed_by_id, payer.account_id if payer else None}:
        return True
    if membership is None:
        return False
    return membership.pk in household or membership.person_id == claim.person_id


# --- the case as jurors see it ---------------------------------------------------------------------------

STEP_TITLES: dict[str, StrOrPromise] = {
    "file": gettext_lazy("Claim filed"),
    "start_investigation": gettext_lazy("Investigation started"),
    "propose_approval": gettext_lazy("Approval proposed"),
    "approve": gettext_lazy("Approved"),
    "reject": gettext_lazy("Rejected"),
    "objection": gettext_lazy("A member objected during the notice"),
    "publish": gettext_lazy("Published in the public notice"),
    "appeal": gettext_lazy("Appealed to the jury"),
    "approve_on_appeal": gettext_lazy("Approved on appeal"),
    "uphold_rejection": gettext_lazy("Rejection upheld on appeal"),
    "escalate_appeal": gettext_lazy("Too few jurors voted: sent to a senior administrator"),
}
# Notes written by the investigators; the member's own words (an objection, the appeal) are shown apart.
FINDING_ACTIONS = ("start_investigation", "propose_approval", "approve", "reject")


@dataclass(frozen=True)
class CaseStep:
    at: datetime
    title: str
    note: str = ""


@dataclass(frozen=True)
class JuryCase:
    """A case with nothing that names the claimant: no name, ID number, hospital, documents or people."""

    appeal_id: int
    status: str
    status_label: str
    deadline: datetime
    condition_code: str
    condition: str
    kind: str
    age_at_diagnosis: int
    days_member_before_diagnosis: int
    days_diagnosis_to_filing: int
    rejection_reason: str
    statement: str
    timeline: list[CaseStep]
    findings: list[CaseStep]
    outcome_label: str
    # Hidden while the vote is open, so early votes do not sway later ones.
    votes_for: int | None
    votes_against: int | None


def appeals_open() -> QuerySet[Appeal]:
    return (
        Appeal.objects.filter(status=AppealStatus.OPEN)
        .select_related("claim__condition", "claim__member__person", "claim__member__payer")
        .order_by("deadline", "pk")
    )


def appeal_for_juror(*, appeal_id: int) -> Appeal:
    try:
        return (
            Appeal.objects.select_related("claim__condition", "claim__member__person", "claim__member__payer")
            .prefetch_related("claim__transitions")
            .get(pk=appeal_id)
        )
    except Appeal.DoesNotExist as exc:
        raise Http404 from exc


def jury_case(*, appeal: Appeal, language: str | None) -> JuryCase:
    claim = appeal.claim
    member = claim.member
    transitions = list(claim.transitions.all())
    closed = appeal.status != AppealStatus.OPEN
    return JuryCase(
        appeal_id=appeal.pk,
        status=appeal.status,
        status_label=str(appeal.get_status_display()),
        deadline=appeal.deadline,
        condition_code=claim.condition.code,
        condition=claim.condition.name(language),
        kind=str(ClaimKind(claim.kind).label),
        age_at_diagnosis=age_in_years(member.person.birth_date, claim.diagnosed_on),
        days_member_before_diagnosis=(claim.diagnosed_on - member.joined_on).days,
        days_diagnosis_to_filing=(timezone.localdate(claim.filed_at) - claim.diagnosed_on).days,
        rejection_reason=_rejection_reason(transitions),
        statement=appeal.statement,
        timeline=[
            CaseStep(at=t.at, title=str(STEP_TITLES.get(t.action, ClaimStatus(t.to_status).label))) for t in transitions
        ],
        findings=[
            CaseStep(at=t.at, title=str(STEP_TITLES[t.action]), note=t.note)
            for t in transitions
            if t.action in FINDING_ACTIONS and t.note
        ],
        outcome_label=str(appeal.get_outcome_display()) if appeal.outcome else "",
        votes_for=appeal.votes_for if closed else None,
        votes_against=appeal.votes_against if closed else None,
    )


def _rejection_reason(transitions: list[ClaimTransition]) -> str:
    """The reason of the rejection appealed against, also once the claim has been approved on appeal."""
    reasons = [t.reason for t in transitions if t.action == "reject" and t.reason in RejectionReason.values]
    return str(RejectionReason(reasons[-1]).label) if reasons else ""


def juror_votes(*, juror: Juror | None, appeal_ids: list[int]) -> dict[int, bool]:
    """The juror's own votes on these appeals: appeal id → for the claimant."""
    if juror is None:
        return {}
    votes = Vote.objects.filter(juror=juror, appeal_id__in=appeal_ids).values_list("appeal_id", "for_claimant")
    return dict(votes)


def appeals_with_live_counts() -> QuerySet[Appeal]:
    """For administrators only: the counts of the votes cast so far, one aggregate per page of appeals."""
    return Appeal.objects.annotate(
        live_for=Count("votes", filter=Q(votes__for_claimant=True)),
        live_against=Count("votes", filter=Q(votes__for_claimant=False)),
    )


def appeal_results_for_claims(*, claim_ids: list[int]) -> dict[int, Appeal]:
    """The decided appeals of these claims (the public report names the votes of each), in one query."""
    decided = Appeal.objects.filter(claim_id__in=claim_ids, status=AppealStatus.DECIDED)
    return {appeal.claim_id: appeal for appeal in decided}


def appeal_window_last_day(*, claim: Claim, rules: JuryRules) -> date | None:
    """The last day a rejected claim may be appealed (the rejection day + the window), else None."""
    if claim.status != ClaimStatus.REJECTED or claim.decided_at is None:
        return None
    return timezone.localdate(claim.decided_at) + timedelta(days=rules.appeal_window_days)
