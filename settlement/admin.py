"""Django admin for settlement: the periods, each with its report, its settlement progress and one button;
the payments received and the payouts disbursed, each recorded through its service.

Nothing about a period is edited here: its figures are fixed by the settlement services. The period
page reads the same selectors as the public report, and its one button runs the jobs due for the period,
exactly as `manage.py period_close --on <day>` does, through `period_jobs_run`.

Payments and payouts are money moved: they are recorded once, by `payment_record` and `payout_disburse`
(which post their journal entries), never edited or deleted; a mistake is corrected by a reversal.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
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

from claims.models import Claim, ClaimStatus
from members.errors import DomainError
from members.models import Membership
from settlement.models import Payment, Payout, Period, PeriodStatus
from settlement.selectors import (
    FIGURES_FIXED,
    claim_costs,
    period_claims,
    period_next_job_day,
    period_progress,
)
from settlement.services import payment_record, payout_disburse, period_jobs_run


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


# --- money in and out: payments and payouts, recorded through their services -------------------------


def _payer_label(payer: Membership) -> str:
    return f"{payer.person.name} ({payer.person.id_number_masked})"


class _PayerRawIdWidget(ForeignKeyRawIdWidget):
    """The payer's id, with a lookup that lists payers only (memberships paying for themselves)."""

    def url_parameters(self) -> dict[str, str]:
        params: dict[str, str] = super().url_parameters()
        params["payer__isnull"] = "True"
        return params


class PaymentRecordForm(forms.Form):
    payer = forms.ModelChoiceField(
        label=_("payer"),
        queryset=Membership.objects.filter(payer__isnull=True).select_related("person"),
        error_messages={"invalid_choice": _("Choose the payer of a household.")},
    )
    amount = forms.DecimalField(
        label=_("amount (yuan)"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("In yuan, with at most two decimal places."),
    )
    reference = forms.CharField(
        label=_("reference"),
        max_length=64,
        help_text=_("The transfer's reference: the same reference again records nothing more."),
    )

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rel = Payment._meta.get_field("payer").remote_field
        self.fields["payer"].widget = _PayerRawIdWidget(rel, admin_site)

    def amount_fen(self) -> int:
        return int(self.cleaned_data["amount"] * 100)


class _SharedClaimField(forms.ModelChoiceField[Claim]):
    def label_from_instance(self, obj: Claim) -> str:
        return f"{obj} — {obj.member.person.name}: {_yuan(obj.payout_fen or 0)}"


class PayoutDisburseForm(forms.Form):
    claim = _SharedClaimField(
        label=_("claim"),
        queryset=Claim.objects.filter(status=ClaimStatus.SHARED)
        .select_related("member__person", "condition")
        .order_by("pk"),
        error_messages={"invalid_choice": _("Choose a claim that is shared and not paid out yet.")},
    )


M = TypeVar("M", Payment, Payout)


class _RecordedThroughServiceAdmin(admin.ModelAdmin[M]):
    """A read-only list whose "add" page is a small form handed to a service, never to the model's save."""

    form_fields: list[str] = []

    def has_change_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False  # money moved is corrected by a reversal, not edited

    def has_delete_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False

    def make_form(self, request: HttpRequest) -> forms.Form:
        raise NotImplementedError

    def record(self, request: HttpRequest, form: forms.Form) -> M:
        """Call the service; a DomainError it raises becomes an error on the form."""
        raise NotImplementedError

    def recorded_message(self, obj: M) -> str:
        raise NotImplementedError

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = self.make_form(request)
        if request.method == "POST" and form.is_valid():
            try:
                obj = self.record(request, form)
            except DomainError as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, str(exc.message))
            else:
                self.log_addition(request, obj, [{"added": {}}])
                self.message_user(request, self.recorded_message(obj), messages.SUCCESS)
                return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        # A plain form, not a model form: the admin's helpers only read its fields and errors.
        adminform = helpers.AdminForm(
            form,  # type: ignore[arg-type]
            [(None, {"fields": self.form_fields})],
            {},
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Add %(name)s") % {"name": self.opts.verbose_name},
            "subtitle": None,
            "adminform": adminform,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + adminform.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),  # type: ignore[arg-type]
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)


@admin.register(Payment)
class PaymentAdmin(_RecordedThroughServiceAdmin[Payment]):
    list_display = ["payer_name", "amount", "reference", "source", "received_at", "recorded_by"]
    list_filter = ["source"]
    list_select_related = ["payer__person", "recorded_by"]
    search_fields = ["=reference", "payer__person__name"]
    date_hierarchy = "received_at"
    ordering = ["-received_at", "-pk"]
    fields = ["payer_name", "amount", "reference", "source", "received_at", "recorded_by", "recorded_at"]
    readonly_fields = ["payer_name", "amount", "reference", "source", "received_at", "recorded_by", "recorded_at"]
    form_fields = ["payer", "amount", "reference"]

    @admin.display(description=_("payer"), ordering="payer__person__name")
    def payer_name(self, obj: Payment) -> str:
        return _payer_label(obj.payer)

    @admin.display(description=_("amount (yuan)"), ordering="amount_fen")
    def amount(self, obj: Payment) -> str:
        return _yuan(obj.amount_fen)

    def make_form(self, request: HttpRequest) -> forms.Form:
        return PaymentRecordForm(request.POST or None, admin_site=self.admin_site)

    def record(self, request: HttpRequest, form: forms.Form) -> Payment:
        assert isinstance(form, PaymentRecordForm)
        try:
            return payment_record(
                payer=form.cleaned_data["payer"],
                amount_fen=form.amount_fen(),
                reference=form.cleaned_data["reference"],
                by=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            if exc.field == "amount_fen":
                exc.field = "amount"
            raise

    def recorded_message(self, obj: Payment) -> str:
        return gettext("Payment %(reference)s of %(amount)s yuan from %(payer)s is recorded.") % {
            "reference": obj.reference,
            "amount": _yuan(obj.amount_fen),
            "payer": _payer_label(obj.payer),
        }


@admin.register(Payout)
class PayoutAdmin(_RecordedThroughServiceAdmin[Payout]):
    list_display = ["claim", "payer_name", "gross", "arrears_deducted", "net", "paid_on"]
    list_select_related = ["claim__condition", "payer__person"]
    search_fields = ["=claim__id", "payer__person__name"]
    date_hierarchy = "paid_on"
    ordering = ["-paid_on", "-pk"]
    fields = ["claim", "payer_name", "gross", "arrears_deducted", "net", "paid_on", "paid_by"]
    readonly_fields = ["claim", "payer_name", "gross", "arrears_deducted", "net", "paid_on", "paid_by"]
    form_fields = ["claim"]

    @admin.display(description=_("payer"), ordering="payer__person__name")
    def payer_name(self, obj: Payout) -> str:
        return _payer_label(obj.payer)

    @admin.display(description=_("payout (yuan)"), ordering="gross_fen")
    def gross(self, obj: Payout) -> str:
        return _yuan(obj.gross_fen)

    @admin.display(description=_("arrears deducted (yuan)"), ordering="arrears_deducted_fen")
    def arrears_deducted(self, obj: Payout) -> str:
        return _yuan(obj.arrears_deducted_fen)

    @admin.display(description=_("paid (yuan)"), ordering="net_fen")
    def net(self, obj: Payout) -> str:
        return _yuan(obj.net_fen)

    def make_form(self, request: HttpRequest) -> forms.Form:
        return PayoutDisburseForm(request.POST or None)

    def record(self, request: HttpRequest, form: forms.Form) -> Payout:
        return payout_disburse(claim=form.cleaned_data["claim"], by=request.user)  # type: ignore[arg-type]

    def recorded_message(self, obj: Payout) -> str:
        return gettext("Claim %(claim)s is paid: %(net)s yuan, after %(arrears)s yuan of arrears.") % {
            "claim": obj.claim,
            "net": _yuan(obj.net_fen),
            "arrears": _yuan(obj.arrears_deducted_fen),
        }
