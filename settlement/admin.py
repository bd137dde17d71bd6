"""Django admin for settlement: the periods, each with its report, its settlement progress and one button.

Nothing about a period is edited here: its figures are fixed by the settlement services. The period
page reads the same selectors as the public report, and its one button runs the jobs due for the period,
exactly as `manage.py period_close --on <day>` does, through `period_jobs_run`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from members.errors import DomainError
from settlement.models import Period, PeriodStatus
from settlement.selectors import (
    FIGURES_FIXED,
    claim_costs,
    period_claims,
    period_next_job_day,
    period_progress,
)
from settlement.services import period_jobs_run


def _yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole:,}.{cents:02d}"


def _run_jobs(request: HttpRequest, period: Period, *, today: date) -> None:
    """The jobs of the period's next day, when it has come; what happened, or why not, as a message."""
    day = period_next_job_day(period=period)
    if day is None:
        messages.info(request, gettext("Period %(period)s is settled: no job is left to run.") % {"period": period})
        return
    if day > today:
        messages.warning(
            request,
            gettext("Nothing is due yet for period %(period)s: its next jobs run on %(day)s.")
            % {"period": period, "day": day.isoformat()},
        )
        return
    try:
        period_jobs_run(on=day)
    except DomainError as exc:
        messages.error(request, gettext("Period %(period)s: %(error)s") % {"period": period, "error": exc.message})
        return
    period.refresh_from_db()
    messages.success(
        request,
        gettext("Ran the jobs of %(day)s: period %(period)s is now “%(status)s”.")
        % {"day": day.isoformat(), "period": period, "status": period.get_status_display()},
    )


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin[Period]):
    list_display = [
        "notice_date",
        "charge_date",
        "status",
        "sharers",
        "total",
        "per_member",
        "subsidy",
    ]
    list_filter = ["status", "plan"]
    ordering = ["-notice_date"]
    actions = ["run_jobs_action"]
    fieldsets = (
        (None, {"fields": ["plan", "notice_date", "charge_date", "status", "settled_at"]}),
        (
            _("Figures"),
            {
                "fields": [
                    "claims_count",
                    "sharers",
                    "payouts",
                    "fee",
                    "total",
                    "per_member_and_extra",
                    "largest_charge",
                    "subsidy",
                ]
            },
        ),
    )
    readonly_fields = [
        "plan",
        "notice_date",
        "charge_date",
        "status",
        "settled_at",
        "claims_count",
        "sharers",
        "payouts",
        "fee",
        "subsidy",
        "total",
        "per_member_and_extra",
        "largest_charge",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # periods are opened by the notice-day job

    def has_change_permission(self, request: HttpRequest, obj: Period | None = None) -> bool:
        return False  # the figures are the services' to fix; the page is read-only

    def has_delete_permission(self, request: HttpRequest, obj: Period | None = None) -> bool:
        return False

    def has_run_jobs_permission(self, request: HttpRequest) -> bool:
        """Running jobs needs the model's change permission, which the page itself never uses for editing."""
        codename = get_permission_codename("change", self.opts)
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(f"settlement.{codename}"))

    # --- columns and fields ------------------------------------------------------------------------

    @admin.display(description=_("total (yuan)"), ordering="total_fen")
    def total(self, obj: Period) -> str:
        return _yuan(obj.total_fen) if obj.status in FIGURES_FIXED else "—"

    @admin.display(description=_("payouts (yuan)"))
    def payouts(self, obj: Period) -> str:
        return _yuan(obj.payouts_total_fen) if obj.status in FIGURES_FIXED else "—"

    @admin.display(description=_("management fee (yuan)"))
    def fee(self, obj: Period) -> str:
        return _yuan(obj.fee_fen) if obj.status in FIGURES_FIXED else "—"

    @admin.display(description=_("operator subsidy (yuan)"), ordering="operator_subsidy_fen")
    def subsidy(self, obj: Period) -> str:
        return _yuan(obj.operator_subsidy_fen) if obj.status == PeriodStatus.SETTLED else "—"

    @admin.display(description=_("per member (yuan)"), ordering="per_member_fen")
    def per_member(self, obj: Period) -> str:
        return _yuan(obj.per_member_fen) if obj.status in FIGURES_FIXED else "—"

    @admin.display(description=_("per member (yuan)"))
    def per_member_and_extra(self, obj: Period) -> str:
        """⌊total / N⌋, and how many sharers the rotation picks to pay the total's remaining fen."""
        if obj.status not in FIGURES_FIXED:
            return "—"
        extra = ngettext("%(extra)s sharer pays 0.01 more", "%(extra)s sharers pay 0.01 more each", obj.extra_fen) % {
            "extra": f"{obj.extra_fen:,}"
        }
        return f"{_yuan(obj.per_member_fen)} ({extra})"

    @admin.display(description=_("largest charge, after the caps (yuan)"))
    def largest_charge(self, obj: Period) -> str:
        return _yuan(obj.max_charge_fen) if obj.status in FIGURES_FIXED else "—"

    # --- the period page ---------------------------------------------------------------------------

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Period | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self._report_context(request, obj))
        response: HttpResponse = super().render_change_form(request, context, add, change, form_url, obj)
        return response

    def _report_context(self, request: HttpRequest, period: Period) -> dict[str, Any]:
        claims = list(period_claims(period=period))
        return {
            "title": gettext("Period %(period)s") % {"period": period},
            "subtitle": None,
            "claim_costs": claim_costs(period=period, claims=claims, language=get_language()),
            "progress": period_progress(period=period),
            "settling": period.status == PeriodStatus.SETTLING,
            "next_job_day": period_next_job_day(period=period),
            "may_run_jobs": self.has_run_jobs_permission(request),
            "run_jobs_url": reverse("admin:settlement_period_run_jobs", args=[period.pk]),
        }

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "<int:object_id>/run-jobs/",
                self.admin_site.admin_view(require_POST(self.run_jobs_view)),
                name="settlement_period_run_jobs",
            ),
        ]
        urls: list[URLPattern] = super().get_urls()
        return [*extra, *urls]

    def run_jobs_view(self, request: HttpRequest, object_id: int) -> HttpResponseRedirect:
        if not self.has_run_jobs_permission(request):
            raise PermissionDenied
        period = self.get_object(request, str(object_id))
        if period is None:
            raise Http404
        _run_jobs(request, period, today=timezone.localdate())
        return redirect("admin:settlement_period_change", period.pk)

    @admin.action(description=_("Run the jobs due for the selected periods"), permissions=["run_jobs"])
    def run_jobs_action(self, request: HttpRequest, queryset: QuerySet[Period]) -> None:
        today = timezone.localdate()
        # Oldest first: a period settles only after the earlier ones of its plan.
        for period in queryset.order_by("charge_date"):
            _run_jobs(request, period, today=today)
