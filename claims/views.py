"""Claim pages: filing with documents, the household's claims, a claim's timeline, downloads, the public notice.

Each view parses input, calls the services or selectors of claims and renders; refusals of the services
(members.errors.DomainError and claims.errors) become form errors a person can act on, never a server error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_fsm import can_proceed
from django_stubs_ext import StrOrPromise

from claims.forms import ClaimForm, DocumentsForm, ObjectionForm
from claims.models import Claim, ClaimStatus, ClaimTransition, RejectionReason
from claims.selectors import (
    claim_for_account,
    claim_published,
    claims_for_account,
    document_for_user,
    public_case_of,
    public_cases,
)
from claims.services import (
    DOCUMENT_STATUSES,
    claim_document_add,
    claim_file,
    claim_withdraw,
    objection_file,
)
from members.errors import DomainError
from members.models import COVERED_STATUSES, User
from members.selectors import household_for_account, household_payer_for_account
from mutualaid.uploads import upload_refusal


class AuthenticatedRequest(HttpRequest):
    user: User


# --- filing ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def claim_new(request: AuthenticatedRequest) -> HttpResponse:
    members = household_for_account(account=request.user).filter(status__in=COVERED_STATUSES)
    posted = (request.POST, request.FILES) if request.method == "POST" else (None, None)
    form = ClaimForm(*posted, members=members, initial=_initial(request))
    if request.method == "POST" and not _upload_refused(request, form) and form.is_valid():
        try:
            claim = _file_with_documents(form, by=request.user)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Your claim has been filed. We will look at it and tell you here."))
            return redirect("claims:detail", claim_id=claim.pk)
    return render(request, "claims/new.html", {"form": form, "has_members": members.exists()})


def _upload_refused(request: HttpRequest, form: DocumentsForm) -> bool:
    """A file over 10 MB stopped the upload (mutualaid.uploads): say so beside the files, and file nothing.

    The rest of the body was not read, so the files the form received are not all that was sent.
    """
    refusal = upload_refusal(request)
    if refusal is None:
        return False
    form.full_clean()
    form.errors.pop("documents", None)  # "attach at least one document" would be beside the point
    message = _("%(name)s: %(problem)s") % {"name": refusal.file_name, "problem": refusal.message}
    form.add_error("documents", ValidationError(message, code=refusal.code))
    return True


def _initial(request: HttpRequest) -> dict[str, str]:
    member = request.GET.get("member", "")
    return {"member": member} if member.isdigit() else {}


def _file_with_documents(form: ClaimForm, *, by: User) -> Claim:
    # One transaction: a document the service refuses leaves no claim behind.
    data = form.cleaned_data
    with transaction.atomic():
        claim = claim_file(
            member=data["member"],
            by=by,
            kind=data["kind"],
            condition=data["condition"],
            diagnosed_on=data["diagnosed_on"],
            hospital=data["hospital"],
            description=data["description"],
        )
        for upload in data["documents"]:
            claim_document_add(claim=claim, upload=upload, by=by)
    return claim


# --- the household's claims --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def claim_list(request: AuthenticatedRequest) -> HttpResponse:
    claims = claims_for_account(account=request.user)
    member = request.GET.get("member", "")
    if member.isdigit():
        claims = claims.filter(member_id=int(member))
    return render(request, "claims/list.html", {"claims": claims, "filtered": member.isdigit()})


@dataclass(frozen=True)
class Step:
    at: datetime
    title: StrOrPromise
    detail: str = ""


# Members see plain words, not the review's internals: a four-eyes proposal is simply "under review".
STEP_TITLES: dict[str, StrOrPromise] = {
    "file": gettext_lazy("Claim filed"),
    "start_investigation": gettext_lazy("Investigation started"),
    "propose_approval": gettext_lazy("Under review"),
    "approve": gettext_lazy("Approved"),
    "reject": gettext_lazy("Rejected"),
    "withdraw": gettext_lazy("Withdrawn"),
    "publish": gettext_lazy("Published in the public notice"),
    "objection": gettext_lazy("A member objected during the notice: investigated again"),
    "appeal": gettext_lazy("Appealed to the jury"),
    "approve_on_appeal": gettext_lazy("Approved on appeal"),
    "uphold_rejection": gettext_lazy("Rejection upheld on appeal"),
    "escalate_appeal": gettext_lazy("Too few jurors voted: sent to a senior administrator"),
    "share": gettext_lazy("Shared among the members"),
    "mark_paid": gettext_lazy("Paid out"),
}


# The jury's steps (the jury app writes them through claims.services); their note gives the vote's counts.
APPEAL_DECISION_ACTIONS = ("approve_on_appeal", "uphold_rejection", "escalate_appeal")


def _step(transition: ClaimTransition) -> Step:
    title = STEP_TITLES.get(transition.action)
    if title is None:
        title = ClaimStatus(transition.to_status).label if transition.to_status in ClaimStatus.values else "—"
    detail = ""
    if transition.action == "reject" and transition.reason in RejectionReason.values:
        detail = str(RejectionReason(transition.reason).label)
    if transition.action in APPEAL_DECISION_ACTIONS:
        detail = transition.note  # the vote's deadline and counts, written when it closed
    return Step(at=transition.at, title=title, detail=detail)


def _claim_page(request: AuthenticatedRequest, claim: Claim, form: DocumentsForm, status: int = 200) -> HttpResponse:
    transitions = list(claim.transitions.all())
    context = {
        "claim": claim,
        "timeline": [_step(t) for t in transitions],
        "rejection_note": next((t.note for t in reversed(transitions) if t.action == "reject"), ""),
        "form": form,
        "can_add_documents": claim.status in DOCUMENT_STATUSES,
        "can_withdraw": can_proceed(claim.withdraw),
    }
    return render(request, "claims/detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def claim_detail(request: AuthenticatedRequest, claim_id: int) -> HttpResponse:
    """The claim page; a POST adds documents to the open claim (same rules as filing)."""
    claim = claim_for_account(account=request.user, claim_id=claim_id)
    # A POST with no file chosen is still a submission: bind it, so the form says a file is needed.
    form = DocumentsForm(request.POST, request.FILES) if request.method == "POST" else DocumentsForm()
    if request.method == "POST" and not _upload_refused(request, form) and form.is_valid():
        try:
            with transaction.atomic():
                for upload in form.cleaned_data["documents"]:
                    claim_document_add(claim=claim, upload=upload, by=request.user)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("The documents have been added to your claim."))
            return redirect("claims:detail", claim_id=claim.pk)
    return _claim_page(request, claim, form)


@login_required
@require_http_methods(["GET", "POST"])
def claim_withdraw_confirm(request: AuthenticatedRequest, claim_id: int) -> HttpResponse:
    claim = claim_for_account(account=request.user, claim_id=claim_id)
    error = None
    if request.method == "POST":
        try:
            claim_withdraw(claim=claim, by=request.user)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("The claim has been withdrawn."))
            return redirect("claims:detail", claim_id=claim.pk)
    context = {"claim": claim, "can_withdraw": can_proceed(claim.withdraw), "error": error}
    return render(request, "claims/withdraw.html", context)


@login_required
@never_cache
@require_http_methods(["GET"])
def document_download(request: AuthenticatedRequest, document_id: int) -> FileResponse:
    document = document_for_user(user=request.user, document_id=document_id)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    # Always a download, never sniffed, sandboxed: a member's file never runs as a page of this site.
    response = FileResponse(handle, as_attachment=True, filename=document.name, content_type=document.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


# --- public notice and objections --------------------------------------------------------------------


@require_http_methods(["GET"])
def notice_list(request: HttpRequest) -> HttpResponse:
    cases = public_cases(language=get_language())
    user = request.user
    can_object = user.is_authenticated and household_payer_for_account(account=user) is not None
    return render(request, "claims/notices.html", {"cases": cases, "can_object": can_object})


@login_required
@require_http_methods(["GET", "POST"])
def objection_new(request: AuthenticatedRequest, claim_id: int) -> HttpResponse:
    claim = claim_published(claim_id=claim_id)
    form = ObjectionForm(request.POST) if request.method == "POST" else ObjectionForm()
    if request.method == "POST" and form.is_valid():
        try:
            objection_file(claim=claim, by=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Thank you: your objection has been sent to the investigators."))
            return redirect("claims:notices")
    case = public_case_of(claim=claim, language=get_language())
    return render(request, "claims/objection.html", {"case": case, "form": form})
