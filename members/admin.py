"""Django admin for members: plans, people, members and credit records.

Every rule-bearing field is read-only here: a member's status changes only through
`membership_change_status`, credit records only through a previewed bureau-file import, and people
and members are created only by enrolment. The raw resident ID number is never rendered: every page
shows the masked form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminRadioSelect
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.forms import BaseModelForm
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey
from simple_history.admin import SimpleHistoryAdmin
from simple_history.utils import update_change_reason

from members.dates import add_years
from members.errors import CreditImportInvalid, DomainError
from members.models import (
    CreditImport,
    CreditRecord,
    HealthQuestion,
    IdNumberReveal,
    Membership,
    MembershipStatus,
    Partner,
    PartnerAPIKey,
    PayoutTier,
    Person,
    Plan,
    User,
)
from members.services import (
    _ADMIN_TRANSITIONS,
    credit_import_apply,
    credit_import_preview,
    membership_change_status,
    partner_key_create,
    partner_keys_revoke,
    person_reveal_id_number,
)

CREDIT_FILE_MAX_BYTES = 5 * 1024 * 1024
CREDIT_PREVIEW_MAX_ROWS = 500
# The history table keeps at most this many characters of a change reason.
REASON_MAX_LENGTH = 100

# The masked form keeps the last four characters, so only those can be searched for.
_ID_TAIL = re.compile(r"\d{1,4}|\d{0,3}X")


def _staff_user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _change_link(obj: Model, text: str | None = None) -> SafeString:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, str(obj) if text is None else text)


def _search_id_tail(queryset: QuerySet[Any], found: QuerySet[Any], term: str, field: str) -> QuerySet[Any]:
    """Add the rows whose masked ID number ends with `term` (when it looks like an ID's last digits)."""
    tail = term.strip().upper()
    if not _ID_TAIL.fullmatch(tail):
        return found
    return found | queryset.filter(**{f"{field}__endswith": tail})


class NoRevertHistoryAdmin(SimpleHistoryAdmin):
    """History to read, never to revert: a revert would save an old status past the rules."""

    def revert_disabled(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "POST":
            raise PermissionDenied
        response: HttpResponse = super().history_form_view(request, object_id, version_id, extra_context)
        return response


# --- users ---------------------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    list_display = ["username", "phone", "email", "is_staff", "is_active"]
    search_fields = ["username", "phone", "email"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Member login"), {"fields": ["phone"]}),
        (_("Second factor"), {"fields": ["require_2fa"]}),
    )


# --- plans ---------------------------------------------------------------------------------------


class PayoutTierInline(admin.TabularInline[PayoutTier, Plan]):
    model = PayoutTier
    extra = 0


class HealthQuestionInline(admin.TabularInline[HealthQuestion, Plan]):
    model = HealthQuestion
    extra = 0
    fields = ["position", "code", "text_zh", "text_en"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> forms.Field | None:
        if db_field.name in {"text_zh", "text_en"}:
            kwargs["widget"] = forms.Textarea(attrs={"rows": 3, "cols": 32})
        field: forms.Field | None = super().formfield_for_dbfield(db_field, request, **kwargs)
        return field


@admin.register(Plan)
class PlanAdmin(SimpleHistoryAdmin, admin.ModelAdmin[Plan]):
    list_display = ["name", "code", "is_active", "waiting_period_days", "credit_min_score", "management_fee_rate"]
    inlines = [PayoutTierInline, HealthQuestionInline]
    fieldsets = (
        (None, {"fields": ["code", "name", "is_active"]}),
        (
            _("Joining"),
            {
                "fields": [
                    "min_age_days",
                    "max_entry_age_years",
                    "age_out_years",
                    "waiting_period_days",
                    "credit_min_score",
                ]
            },
        ),
        (_("Claims"), {"fields": ["claim_window_days", "four_eyes_threshold_fen"]}),
        (
            _("Sharing"),
            {
                "fields": [
                    "management_fee_rate",
                    "per_claim_cap_fen",
                    "annual_cap_fen",
                    "first_notice_day",
                    "first_charge_day",
                    "second_notice_day",
                    "second_charge_day",
                    "grace_days_before_next_charge",
                ]
            },
        ),
        (
            _("Jury"),
            {"fields": ["jury_quorum", "jury_voting_hours", "juror_min_age_years", "juror_min_membership_days"]},
        ),
    )

    def has_delete_permission(self, request: HttpRequest, obj: Plan | None = None) -> bool:
        return False  # a plan closes (“open for joining” off); deleting would take its rules and history

    def save_related(
        self,
        request: HttpRequest,
        form: BaseModelForm[Plan],
        formsets: Sequence[BaseInlineFormSet[Any, Plan, Any]],
        change: bool,
    ) -> None:
        super().save_related(request, form, formsets, change)
        # Tiers and questions have no history of their own: say in the plan's history what changed.
        summary = _inline_changes(formsets)
        if summary:
            update_change_reason(form.instance, summary[:REASON_MAX_LENGTH])


def _inline_changes(formsets: Sequence[BaseInlineFormSet[Any, Plan, Any]]) -> str:
    parts = []
    for formset in formsets:
        added, changed, deleted = (
            len(formset.new_objects),
            len(formset.changed_objects),
            len(formset.deleted_objects),
        )
        if added or changed or deleted:
            parts.append(
                gettext("%(items)s: %(added)s added, %(changed)s changed, %(deleted)s deleted")
                % {
                    "items": formset.model._meta.verbose_name_plural,
                    "added": added,
                    "changed": changed,
                    "deleted": deleted,
                }
            )
    return "; ".join(parts)


# --- people --------------------------------------------------------------------------------------


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_(
            "Why you need the full number (for example the claim or the request it is for). Kept with your name."
        ),
    )


@admin.register(Person)
class PersonAdmin(NoRevertHistoryAdmin, admin.ModelAdmin[Person]):
    list_display = ["name", "id_number_masked", "birth_date", "sex", "phone"]
    list_filter = ["sex"]
    search_fields = ["name"]
    search_help_text = _("Name, or the last digits of the ID number.")
    fields = ["name", "id_number_masked", "birth_date", "sex", "phone", "created_at"]
    readonly_fields = ["id_number_masked", "reveal_link", "birth_date", "sex", "phone", "created_at"]
    ordering = ["-id"]

    def get_fields(self, request: HttpRequest, obj: Person | None = None) -> list[Any]:
        fields: list[Any] = list(super().get_fields(request, obj))
        # Only those who may reveal see the way to it; the view checks the permission again.
        if obj is not None and request.user.has_perm("members.reveal_id_number"):
            fields.insert(fields.index("id_number_masked") + 1, "reveal_link")
        return fields

    @admin.display(description=_("full ID number"))
    def reveal_link(self, obj: Person) -> SafeString:
        url = reverse("admin:members_person_reveal", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Reveal, giving a reason…"))

    def get_urls(self) -> list[URLPattern]:
        reveal = path(
            "<path:object_id>/reveal/",
            self.admin_site.admin_view(self.reveal_view),
            name="members_person_reveal",
        )
        urls: list[URLPattern] = super().get_urls()
        return [reveal, *urls]

    def reveal_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A reason first; then the number, on this one page, which no cache keeps."""
        # The permission before the lookup: a 404 for a missing id would tell staff without it which ids exist.
        if not request.user.has_perm("members.reveal_id_number"):
            raise PermissionDenied
        person = self.get_object(request, object_id)
        if person is None:
            raise Http404
        form = RevealForm(request.POST if request.method == "POST" else None)
        number = None
        if request.method == "POST" and form.is_valid():
            try:
                number = person_reveal_id_number(
                    person=person, by=_staff_user(request), reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                form.add_error("reason", str(exc.message))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reveal the ID number of %(person)s") % {"person": person.name},
            "opts": self.model._meta,
            "original": person,
            "form": form,
            "number": number,
        }
        response = TemplateResponse(request, "admin/members/person/reveal.html", context)
        add_never_cache_headers(response)
        return response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people come into the plan only through enrolment

    def has_delete_permission(self, request: HttpRequest, obj: Person | None = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Person], search_term: str
    ) -> tuple[QuerySet[Person], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return _search_id_tail(queryset, found, search_term, "id_number_masked"), may_have_duplicates


@admin.register(IdNumberReveal)
class IdNumberRevealAdmin(admin.ModelAdmin[IdNumberReveal]):
    """Every reveal of a full ID number, to read: nobody adds, changes or deletes one here."""

    list_display = ["revealed_at", "revealed_by", "person", "reason"]
    list_filter = ["revealed_at", "revealed_by"]
    list_select_related = ["revealed_by", "person"]
    search_fields = ["person__name", "revealed_by__username", "reason"]
    fields = ["revealed_at", "revealed_by", "person", "reason"]
    readonly_fields = ["revealed_at", "revealed_by", "person", "reason"]
    date_hierarchy = "revealed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: IdNumberReveal | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IdNumberReveal | None = None) -> bool:
        return False


# --- members -------------------------------------------------------------------------------------


class AgeBandsFilter(admin.SimpleListFilter):
    """The plan's age bands (children, the 300,000-yuan tier, the 100,000-yuan tier, aged out).

    Subclasses say which age they filter on by turning a band into a condition.
    """

    bands: dict[str, tuple[int, int | None]] = {
        "0-17": (0, 17),
        "18-39": (18, 39),
        "40-59": (40, 59),
        "60-": (60, None),
    }

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(key, f"{low}–{high}" if high is not None else f"{low}+") for key, (low, high) in self.bands.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        band = self.bands.get(self.value() or "")
        if band is None:
            return queryset
        return self.filter_band(queryset, low=band[0], high=band[1])

    def filter_band(self, queryset: QuerySet[Any], *, low: int, high: int | None) -> QuerySet[Any]:
        raise NotImplementedError


class AgeBandFilter(AgeBandsFilter):
    """Age today (Beijing date), as birth-date ranges so the database can use its index."""

    title = _("age band")
    parameter_name = "age_band"

    def filter_band(self, queryset: QuerySet[Any], *, low: int, high: int | None) -> QuerySet[Any]:
        today = timezone.localdate()
        condition = Q(person__birth_date__lte=add_years(today, -low))
        if high is not None:
            condition &= Q(person__birth_date__gt=add_years(today, -(high + 1)))
        return queryset.filter(condition)


class MembershipStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("new status"), widget=AdminRadioSelect(attrs={"class": "radiolist"}))
    reason = forms.CharField(
        label=_("reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the member's history with your name."),
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = _status_choices(membership)


def _status_choices(membership: Membership) -> list[tuple[str, str]]:
    """The statuses the service lets an admin set from the member's current one."""
    allowed = _ADMIN_TRANSITIONS.get(membership.status, set())
    if membership.status == MembershipStatus.PENDING_REVIEW:
        labels: dict[str, str] = {
            MembershipStatus.WAITING: gettext("Approve: the waiting period starts today"),
            MembershipStatus.EXITED: gettext("Decline: the person does not join"),
        }
    else:
        labels = {}
    return [(status.value, labels.get(status, str(status.label))) for status in MembershipStatus if status in allowed]


@admin.register(Membership)
class MembershipAdmin(NoRevertHistoryAdmin, admin.ModelAdmin[Membership]):
    list_display = [
        "member_name",
        "id_number",
        "relationship",
        "payer_name",
        "status",
        "joined_on",
        "waiting_period_ends",
        "external_ref",
    ]
    list_display_links = ["member_name", "id_number"]
    list_filter = ["status", "relationship", AgeBandFilter, "joined_on"]
    list_select_related = ["person", "payer__person"]
    date_hierarchy = "joined_on"
    search_fields = ["person__name", "external_ref"]
    search_help_text = _("Name, external reference, or the last digits of the ID number.")
    ordering = ["-id"]
    fieldsets = (
        (None, {"fields": ["person_link", "plan_link", "relationship", "payer_link", "account_link", "household"]}),
        (_("Status"), {"fields": ["status", "status_reason", "joined_on", "waiting_period_ends", "ended_on"]}),
        (_("Eligibility"), {"fields": ["declaration", "credit_source", "credit_score"]}),
        (_("Partner"), {"fields": ["external_ref"]}),
    )
    readonly_fields = [
        "person_link",
        "plan_link",
        "relationship",
        "payer_link",
        "account_link",
        "household",
        "status",
        "status_reason",
        "joined_on",
        "waiting_period_ends",
        "ended_on",
        "declaration",
        "credit_source",
        "credit_score",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("person", "payer__person")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # enrolment goes through the service, which checks every rule

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Membership], search_term: str
    ) -> tuple[QuerySet[Membership], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return _search_id_tail(queryset, found, search_term, "person__id_number_masked"), may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Membership, form: BaseModelForm[Membership], change: bool) -> None:
        # Write only what the form changed, so a status set meanwhile by the service is never overwritten.
        obj._history_user = request.user  # type: ignore[attr-defined]  # read by simple-history
        obj.save(update_fields=form.changed_data)

    @admin.display(description=_("name"), ordering="person__name")
    def member_name(self, obj: Membership) -> str:
        return obj.person.name

    @admin.display(description=_("ID number"), ordering="person__id_number_masked")
    def id_number(self, obj: Membership) -> str:
        return obj.person.id_number_masked

    @admin.display(description=_("payer"), ordering="payer__person__name")
    def payer_name(self, obj: Membership) -> str | None:
        return obj.payer.person.name if obj.payer else None

    @admin.display(description=_("person"))
    def person_link(self, obj: Membership) -> SafeString:
        return _change_link(obj.person)

    @admin.display(description=_("plan"))
    def plan_link(self, obj: Membership) -> SafeString:
        return _change_link(obj.plan)

    @admin.display(description=_("payer"))
    def payer_link(self, obj: Membership) -> SafeString | None:
        return _change_link(obj.payer) if obj.payer else None

    @admin.display(description=_("login account"))
    def account_link(self, obj: Membership) -> SafeString | None:
        return _change_link(obj.account) if obj.account else None

    @admin.display(description=_("household"))
    def household(self, obj: Membership) -> SafeString:
        payer = obj.payer or obj
        people = [payer, *payer.dependants.select_related("person").order_by("id")]
        head = format_html_join(
            "",
            "<th>{}</th>",
            ((label,) for label in (_("name"), _("ID number"), _("relationship"), _("status"), _("joined on"))),
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    format_html("<strong>{}</strong>", member.person.name)
                    if member.pk == obj.pk
                    else _change_link(member, member.person.name),
                    member.person.id_number_masked,
                    member.get_relationship_display(),
                    member.get_status_display(),
                    date_format(member.joined_on),
                )
                for member in people
            ),
        )
        return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)

    @admin.display(description=_("health declaration"))
    def declaration(self, obj: Membership) -> SafeString:
        answers = obj.health_declaration or {}
        return format_html_join(
            ", ", "{}: {}", ((code, gettext("yes") if answer else gettext("no")) for code, answer in answers.items())
        )

    def get_urls(self) -> list[URLPattern]:
        status = path(
            "<path:object_id>/status/",
            self.admin_site.admin_view(self.status_view),
            name="members_membership_status",
        )
        urls: list[URLPattern] = super().get_urls()
        return [status, *urls]

    def status_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        # The permission before the lookup: a 404 for a missing id would tell staff without it which ids exist.
        if not self.has_change_permission(request):
            raise PermissionDenied
        membership = self.get_object(request, object_id)
        if membership is None:
            raise Http404
        if not self.has_change_permission(request, membership):
            raise PermissionDenied
        form = MembershipStatusForm(request.POST if request.method == "POST" else None, membership=membership)
        if request.method == "POST" and form.is_valid():
            try:
                changed = membership_change_status(
                    membership=membership,
                    status=form.cleaned_data["status"],
                    reason=form.cleaned_data["reason"],
                    by=_staff_user(request),
                )
            except DomainError as exc:
                if exc.field in form.fields:
                    form.add_error(exc.field, str(exc.message))
                else:
                    messages.error(request, str(exc.message))
            else:
                messages.success(
                    request,
                    gettext("%(member)s is now “%(status)s”.")
                    % {"member": changed.person.name, "status": changed.get_status_display()},
                )
                return redirect("admin:members_membership_change", membership.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Change status: %(member)s") % {"member": membership},
            "opts": self.model._meta,
            "original": membership,
            "form": form,
        }
        return TemplateResponse(request, "admin/members/membership/status_form.html", context)


# --- credit records ------------------------------------------------------------------------------


class CreditFileForm(forms.Form):
    file = forms.FileField(
        label=_("bureau file (CSV)"),
        help_text=_("UTF-8 CSV with the header id_number,score,dishonest_debtor; at most 5 MB."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > CREDIT_FILE_MAX_BYTES:
            raise forms.ValidationError(
                _("This file is %(size)s; files up to %(limit)s can be imported. Split it and import each part."),
                params={"size": filesizeformat(upload.size), "limit": filesizeformat(CREDIT_FILE_MAX_BYTES)},
            )
        return upload


@admin.register(CreditRecord)
class CreditRecordAdmin(admin.ModelAdmin[CreditRecord]):
    list_display = ["id_number_masked", "score", "dishonest_debtor", "imported_at", "credit_import"]
    list_filter = ["dishonest_debtor", "imported_at"]
    list_select_related = ["credit_import"]
    search_fields = ["id_number_masked__endswith"]
    search_help_text = _("The last digits of the ID number.")
    ordering = ["-imported_at", "-id"]

    def has_change_permission(self, request: HttpRequest, obj: CreditRecord | None = None) -> bool:
        return False  # a record changes only by importing a newer bureau file

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CreditRecord], search_term: str
    ) -> tuple[QuerySet[CreditRecord], bool]:
        # A typed lower-case x is the masked number's upper-case X.
        return super().get_search_results(request, queryset, search_term.strip().upper())

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path("import/", self.admin_site.admin_view(self.import_view), name="members_creditrecord_import"),
            path(
                "import/<int:import_id>/confirm/",
                self.admin_site.admin_view(require_POST(self.import_confirm_view)),
                name="members_creditrecord_import_confirm",
            ),
        ]
        urls: list[URLPattern] = super().get_urls()
        return [*extra, *urls]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Records come only from a bureau file, checked as a whole.
        return redirect("admin:members_creditrecord_import")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload → the service checks the whole file → a preview of every row, or every error."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CreditFileForm(request.POST, request.FILES) if request.method == "POST" else CreditFileForm()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import a bureau file"),
            "opts": self.model._meta,
            "form": form,
        }
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                credit_import, rows = credit_import_preview(
                    file_name=upload.name or "", content=upload.read(), by=_staff_user(request)
                )
            except CreditImportInvalid as exc:
                context["file_errors"] = exc.errors
            else:
                context.update(
                    title=gettext("Check the file before importing it"),
                    credit_import=credit_import,
                    # Only the masked number leaves this function.
                    rows=[(r.line, r.masked, r.score, r.dishonest_debtor) for r in rows[:CREDIT_PREVIEW_MAX_ROWS]],
                    more_rows=max(len(rows) - CREDIT_PREVIEW_MAX_ROWS, 0),
                )
                return TemplateResponse(request, "admin/members/creditrecord/import_preview.html", context)
        return TemplateResponse(request, "admin/members/creditrecord/import_form.html", context)

    def import_confirm_view(self, request: HttpRequest, import_id: int) -> HttpResponseRedirect:
        if not self.has_add_permission(request):
            raise PermissionDenied
        credit_import = get_object_or_404(CreditImport, pk=import_id)
        try:
            count = credit_import_apply(credit_import=credit_import, by=_staff_user(request))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request,
                gettext("%(count)s credit records imported from %(file)s.")
                % {"count": count, "file": credit_import.file_name},
            )
        return redirect("admin:members_creditrecord_changelist")


@admin.register(CreditImport)
class CreditImportAdmin(admin.ModelAdmin[CreditImport]):
    """The record of who imported which file and when; the rows themselves are never shown."""

    list_display = ["file_name", "row_count", "status", "created_by", "created_at", "applied_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    fields = ["file_name", "row_count", "status", "created_by", "created_at", "applied_at"]
    readonly_fields = ["file_name", "row_count", "status", "created_by", "created_at", "applied_at"]
    ordering = ["-id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CreditImport | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CreditImport | None = None) -> bool:
        return False


# --- API partners ----------------------------------------------------------------------------------

# The package's own key model is not used (partners' keys are PartnerAPIKey): keep it out of admin.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class PartnerAPIKeyInline(admin.TabularInline[PartnerAPIKey, Partner]):
    model = PartnerAPIKey
    fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    readonly_fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Partner | None = None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin[Partner]):
    """Partners and their keys: a new key is shown once, in the message after the action."""

    list_display = ["name", "created_at", "usable_keys"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]
    inlines = [PartnerAPIKeyInline]
    actions = ["issue_key", "revoke_keys"]

    @admin.display(description=_("usable API keys"))
    def usable_keys(self, partner: Partner) -> int:
        return partner.api_keys.filter(revoked=False).count()

    def save_model(self, request: HttpRequest, obj: Partner, form: BaseModelForm[Partner], change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            self._show_key(request, obj, partner_key_create(partner=obj))

    @admin.action(description=_("Issue a new API key (shown once)"))
    def issue_key(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            self._show_key(request, partner, partner_key_create(partner=partner))

    @admin.action(description=_("Revoke every API key of the selected partners"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        count = sum(partner_keys_revoke(partner=partner) for partner in queryset)
        self.message_user(request, gettext("%(count)s API keys revoked.") % {"count": count}, messages.SUCCESS)

    def _show_key(self, request: HttpRequest, partner: Partner, key: str) -> None:
        self.message_user(
            request,
            gettext("The API key of %(partner)s is %(key)s — store it now: it will not be shown again.")
            % {"partner": partner.name, "key": key},
            messages.WARNING,
        )


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(APIKeyModelAdmin):
    """Keys one by one: tick “revoked” to revoke a key (it cannot be undone)."""

    list_display = ("prefix", "partner", "name", "created", "expiry_date", "_has_expired", "revoked")  # type: ignore[assignment]
    list_filter = ("partner", "revoked")  # type: ignore[assignment]
    list_select_related = ["partner"]
