"""Member pages: sign up, log in, joining (self or family) and exit.

The household page shows charges too, which this app may not read: it lives in portal/views.py and
keeps its URL names here (members:household).

Each view parses input, calls one service or selector and renders; refusals of the services
(members.errors.DomainError) become messages on the page, never a server error.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from members.errors import DomainError
from members.forms import JoinForm, NotificationsForm, PhoneLoginForm, SignupForm
from members.models import Membership, Plan, Relationship, User
from members.selectors import (
    household_payer_for_account,
    membership_for_account,
    membership_live_dependants,
    plan_get_default,
)
from members.services import account_notifications_set, membership_enrol, membership_exit


class AuthenticatedRequest(HttpRequest):
    user: User


FAMILY_RELATIONSHIPS = [Relationship.SPOUSE, Relationship.CHILD, Relationship.PARENT]


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("members:household")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        if user is not None:
            login(request, user)
            return redirect("members:join")
    return render(request, "members/signup.html", {"form": form})


class PhoneLoginView(LoginView):
    form_class = PhoneLoginForm
    template_name = "members/login.html"
    redirect_authenticated_user = True


@login_required
@require_http_methods(["GET", "POST"])
def join(request: AuthenticatedRequest) -> HttpResponse:
    try:
        plan = plan_get_default()
    except Plan.DoesNotExist:
        return render(request, "members/plan_closed.html", status=503)
    payer = household_payer_for_account(account=request.user)
    form = JoinForm(
        request.POST or None,
        questions=list(plan.health_questions.all()),
        relationships=[Relationship.SELF] if payer is None else FAMILY_RELATIONSHIPS,
    )
    if request.method == "POST" and form.is_valid():
        try:
            membership = membership_enrol(
                plan=plan,
                name=form.cleaned_data["name"],
                id_number=form.cleaned_data["id_number"],
                health_answers=form.health_answers(),
                relationship=form.cleaned_data["relationship"],
                payer=payer,
                account=request.user if payer is None else None,
                phone=(request.user.phone or "") if payer is None else "",
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _joined_message(membership))
            return redirect("members:household")
    return render(request, "members/join.html", {"form": form, "plan": plan, "payer": payer})


def _joined_message(membership: Membership) -> str:
    return _("%(name)s has joined the plan (%(status)s).") % {
        "name": membership.person.name,
        "status": membership.get_status_display(),
    }


@login_required
@require_http_methods(["GET", "POST"])
def exit_membership(request: AuthenticatedRequest, membership_id: int) -> HttpResponse:
    membership = membership_for_account(account=request.user, membership_id=membership_id)
    error = None
    if request.method == "POST":
        try:
            membership_exit(membership=membership, by=request.user)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("%(name)s has left the plan.") % {"name": membership.person.name})
            return redirect("members:household")
    dependants = list(membership_live_dependants(membership=membership).select_related("person"))
    context = {"membership": membership, "dependants": dependants, "error": error}
    return render(request, "members/exit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: AuthenticatedRequest) -> HttpResponse:
    """The account's e-mail notifications: address, on or off, language (the page's language at first)."""
    user = request.user
    initial = {
        "email": user.email,
        "enabled": user.email_notifications and bool(user.email),
        "language": user.email_language or get_language(),
    }
    form = NotificationsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            account_notifications_set(
                account=user,
                email=form.cleaned_data["email"],
                enabled=form.cleaned_data["enabled"],
                language=form.cleaned_data["language"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect("members:notifications")
    return render(request, "members/notifications.html", {"form": form})
