"""The member's pages that combine the apps: the household (coverage and money) and its charges.

They live in the top layer because they read members, claims and settlement together; each parses its
input, calls one portal selector and renders.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from members.models import User
from portal.selectors import household_charges, household_overview


class AuthenticatedRequest(HttpRequest):
    user: User


@login_required
@require_http_methods(["GET"])
def household(request: AuthenticatedRequest) -> HttpResponse:
    overview = household_overview(account=request.user, on=timezone.localdate())
    context = {
        "live_rows": overview.live_rows,
        "ended_rows": overview.ended_rows,
        "payer": overview.payer,
        "overview": overview,
    }
    return render(request, "members/household.html", context)


@login_required
@require_http_methods(["GET"])
def charges(request: AuthenticatedRequest) -> HttpResponse:
    overview = household_charges(
        account=request.user, on=timezone.localdate(), page_number=request.GET.get("page"), language=get_language()
    )
    return render(request, "portal/charges.html", {"overview": overview, "page": overview.page})
