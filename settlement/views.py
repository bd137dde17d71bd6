"""The public period report: every period's figures and its claims, anonymised, with no login.

Transparency is what kept such plans trusted: anyone can check what a period cost and why. The pages
show only what the selectors give them: the period's own figures and the claims' anonymised form.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from settlement.selectors import claim_costs, period_claims, period_for_report, periods_for_report

PERIODS_PER_PAGE = 24  # a year of periods
CLAIMS_PER_PAGE = 100


@require_http_methods(["GET"])
def period_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(periods_for_report(), PERIODS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "settlement/period_list.html", {"page": page})


@require_http_methods(["GET"])
def period_report(request: HttpRequest, period_id: int) -> HttpResponse:
    period = period_for_report(period_id=period_id)
    page = Paginator(period_claims(period=period), CLAIMS_PER_PAGE).get_page(request.GET.get("page"))
    costs = claim_costs(period=period, claims=list(page), language=get_language())
    return render(request, "settlement/period_report.html", {"period": period, "page": page, "costs": costs})
