"""Juror pages: become a juror (the rules and the test), the open cases, one case and its vote; and the
claimant's appeal. Each view parses input, calls one service or selector and renders; refusals of the
services become messages a person can act on, never a server error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from claims.models import RejectionReason
from claims.selectors import claim_for_account
from jury.forms import AppealForm, JurorTestForm, VoteForm
from jury.models import Appeal
from jury.selectors import (
    Eligibility,
    appeal_for_juror,
    appeal_window_last_day,
    appeals_open,
    juror_conflicted,
    juror_eligibility,
    juror_votes,
    jury_case,
    jury_rules_for,
)
from jury.services import appeal_file, juror_take_test, vote_cast
from members.errors import DomainError
from members.models import Plan, User
from settlement.selectors import plan_for_public


class AuthenticatedRequest(HttpRequest):
    user: User


def _plan() -> Plan:
    """The plan the product runs; none yet is a 404, not a server error."""
    return plan_for_public()


def _eligibility(request: AuthenticatedRequest, plan: Plan) -> Eligibility:
    return juror_eligibility(user=request.user, plan=plan, on=timezone.localdate())


# --- becoming a juror ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def juror_home(request: AuthenticatedRequest) -> HttpResponse:
    plan = _plan()
    eligibility = _eligibility(request, plan)
    questions = list(plan.juror_questions.all())
    form = JurorTestForm(request.POST or None, questions=questions, language=get_language())
    result = None
    if request.method == "POST" and eligibility.member_ok and form.is_valid():
        try:
            result = juror_take_test(
                user=request.user, plan=plan, answers=form.answers(), accept_rules=form.cleaned_data["accept_rules"]
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            eligibility = _eligibility(request, plan)
            form = JurorTestForm(questions=questions, language=get_language())
    context = {
        "plan": plan,
        "rules": jury_rules_for(plan=plan),
        "eligibility": eligibility,
        "form": form,
        "result": result,
    }
    return render(request, "jury/home.html", context)


# --- cases and votes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    appeal_id: int
    condition: str
    rejection_reason: str
    deadline: datetime
    my_vote: bool | None
    conflicted: bool


@login_required
@require_http_methods(["GET"])
def case_list(request: AuthenticatedRequest) -> HttpResponse:
    plan = _plan()
    eligibility = _eligibility(request, plan)
    if not eligibility.ok:
        messages.info(request, _("Become a juror first: the rules, then a short test."))
        return redirect("jury:home")
    appeals = list(appeals_open().filter(claim__member__plan=plan)[:200])
    votes = juror_votes(juror=eligibility.juror, appeal_ids=[a.pk for a in appeals])
    language = get_language()
    rows = [
        CaseRow(
            appeal_id=appeal.pk,
            condition=appeal.claim.condition.name(language),
            rejection_reason=_reason(appeal),
            deadline=appeal.deadline,
            my_vote=votes.get(appeal.pk),
            conflicted=juror_conflicted(user=request.user, membership=eligibility.membership, claim=appeal.claim),
        )
        for appeal in appeals
    ]
    return render(request, "jury/cases.html", {"rows": rows})


def _reason(appeal: Appeal) -> str:
    reason = appeal.claim.rejection_reason
    return str(RejectionReason(reason).label) if reason in RejectionReason.values else ""


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request: AuthenticatedRequest, appeal_id: int) -> HttpResponse:
    appeal = appeal_for_juror(appeal_id=appeal_id)
    plan = appeal.claim.member.plan
    eligibility = _eligibility(request, plan)
    if not eligibility.ok:
        messages.info(request, _("Become a juror first: the rules, then a short test."))
        return redirect("jury:home")
    form = VoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vote_cast(appeal=appeal, user=request.user, for_claimant=form.for_claimant)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Thank you: your vote is recorded. The result is shown when the vote closes."))
            return redirect("jury:case", appeal_id=appeal.pk)
    context = {
        "case": jury_case(appeal=appeal, language=get_language()),
        "form": form,
        "my_vote": juror_votes(juror=eligibility.juror, appeal_ids=[appeal.pk]).get(appeal.pk),
        "conflicted": juror_conflicted(user=request.user, membership=eligibility.membership, claim=appeal.claim),
        "open": appeal.status == "open" and timezone.now() < appeal.deadline,
    }
    return render(request, "jury/case.html", context, status=400 if form.errors else 200)


# --- the claimant's appeal -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def appeal_new(request: AuthenticatedRequest, claim_id: int) -> HttpResponse:
    claim = claim_for_account(account=request.user, claim_id=claim_id)
    form = AppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appeal_file(claim=claim, by=request.user, statement=form.cleaned_data["statement"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request, _("Your appeal has been sent to the jury. The result is shown here when the vote closes.")
            )
            return redirect("claims:detail", claim_id=claim.pk)
    last_day = appeal_window_last_day(claim=claim, rules=jury_rules_for(plan=claim.member.plan))
    return render(request, "jury/appeal.html", {"claim": claim, "form": form, "last_day": last_day})
