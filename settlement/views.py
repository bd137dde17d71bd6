"""The public period report: every period's figures and its claims, anonymised, with no login.

Transparency is what kept such plans trusted: anyone can check what a period cost and why. The pages
show only what the selectors give them: the period's own figures and the claims' anonymised form.
The rules in plain words, the charts of the plan over time and each report as CSV are public too; the
administrators' dashboard is staff only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from itertools import chain, islice

from django.contrib import admin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from settlement import charts
from settlement.models import Period
from settlement.selectors import (
    claim_costs,
    claims_waiting,
    coming_periods_expected,
    ledger_checks,
    member_counts_over_time,
    period_claims,
    period_for_report,
    periods_for_report,
    plan_for_public,
    plan_rules,
    transparency_figures,
)

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


@require_http_methods(["GET"])
def rules(request: HttpRequest) -> HttpResponse:
    language = get_language()
    return render(request, "settlement/rules.html", {"rules": plan_rules(plan=plan_for_public(), language=language)})


@require_http_methods(["GET"])
def transparency(request: HttpRequest) -> HttpResponse:
    figures = transparency_figures(plan=plan_for_public())
    language = get_language()
    context = {
        "figures": figures,
        "members_chart": charts.members_chart(figures.member_counts, language=language),
        "claims_chart": charts.claims_chart(figures.periods, language=language),
        "per_member_chart": charts.per_member_chart(figures.periods),
        "age_band_chart": charts.age_band_chart(figures.age_bands, language=language),
        "condition_chart": charts.condition_chart(figures.conditions, language=language),
    }
    return render(request, "settlement/transparency.html", context)


# --- the period report as CSV ----------------------------------------------------------------------------

CSV_CLAIMS_PER_BATCH = 500
# A cell that starts with one of these is a formula to a spreadsheet; a leading apostrophe keeps it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """csv.writer writes each row here and gets the line back, so rows stream out one by one."""

    def write(self, value: str) -> str:
        return value


@require_http_methods(["GET"])
def period_report_csv(request: HttpRequest, period_id: int) -> StreamingHttpResponse:
    """The period report as a spreadsheet: its figures, then each claim anonymised with its payout and its
    cost per member. UTF-8 with a byte-order mark, which is what makes Excel on a Chinese Windows read it
    as UTF-8 rather than GBK; streamed, so a period of thousands of claims never sits in memory."""
    period = period_for_report(period_id=period_id)
    writer = csv.writer(_Echo())
    lines = (writer.writerow(row) for row in _report_rows(period, language=get_language()))
    response = StreamingHttpResponse(chain(["\ufeff"], lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="period-{period.notice_date.isoformat()}.csv"'
    return response


def _report_rows(period: Period, *, language: str | None) -> Iterator[list[str]]:
    # The rows are made while the response streams, after the view returned: the page's language is
    # set again here rather than trusted to still be active.
    with translation.override(language):
        fixed = period.status in ("settling", "settled")
        yield [_("Period of %(day)s") % {"day": period.notice_date.isoformat()}, str(period.get_status_display())]
        yield [_("Notice date"), period.notice_date.isoformat()]
        yield [_("Charge date"), period.charge_date.isoformat()]
        if fixed:
            yield [_("Claims"), str(period.claims_count)]
            yield [_("Sharers"), str(period.sharers)]
            yield [_("Payouts (yuan)"), _yuan(period.payouts_total_fen)]
            yield [_("Management fee (yuan)"), _yuan(period.fee_fen)]
            yield [_("Total (yuan)"), _yuan(period.total_fen)]
            yield [_("Share per member (yuan)"), _yuan(period.per_member_fen)]
            yield [_("Most a member is charged (yuan)"), _yuan(period.max_charge_fen)]
            if period.status == "settled":
                yield [_("Operator subsidy (yuan)"), _yuan(period.operator_subsidy_fen)]
        yield []
        yield [
            _("Claim"),
            _("Name"),
            _("Age at diagnosis"),
            _("Sex"),
            _("Province"),
            _("Condition code"),
            _("Condition"),
            _("Payout (yuan)"),
            _("Days from joining to diagnosis"),
            _("Cost per member (yuan)"),
            _("Above the per-claim cap"),
        ]
        claims = period_claims(period=period).iterator(chunk_size=CSV_CLAIMS_PER_BATCH)
        while batch := list(islice(claims, CSV_CLAIMS_PER_BATCH)):
            for cost in claim_costs(period=period, claims=batch, language=language):
                case = cost.case
                yield [
                    str(case.claim_id),
                    _as_text(case.masked_name),
                    str(case.age) if case.age is not None else "",
                    case.sex,
                    _as_text(case.province),
                    _as_text(case.condition_code),
                    _as_text(case.condition),
                    _yuan(case.payout_fen) if case.payout_fen is not None else "",
                    str(case.days_since_joining),
                    str(cost.per_member_yuan) if cost.per_member_yuan is not None else "",
                    (_("yes") if cost.capped else _("no")) if cost.per_member_yuan is not None else "",
                ]


def _yuan(fen: int) -> str:
    """Plain “300000.00”: a number a spreadsheet reads as one (no grouping, no unit)."""
    whole, cents = divmod(fen, 100)
    return f"{whole}.{cents:02d}"


def _as_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


# --- the administrators' dashboard ----------------------------------------------------------------------


def _dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    plan = plan_for_public()
    counts = member_counts_over_time(plan=plan)
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "today": today,
        "checks": ledger_checks(),
        "waiting": claims_waiting(on=today),
        "expected": coming_periods_expected(plan=plan, on=today),
        "member_counts": counts,
        "members_chart": charts.members_chart(counts, language=get_language(), key="dashboard-members"),
        "plan": plan,
    }
    return render(request, "admin/dashboard.html", context)


# admin_view: staff only (anyone else is sent to the admin login), never cached, and under /admin/ so
# the second factor that guards admin guards it too.
admin_dashboard = require_http_methods(["GET"])(admin.site.admin_view(_dashboard))
