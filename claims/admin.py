"""Django admin for claims: the review queue, the claim page with its decision buttons, notices.

Nothing about a claim is edited here: its status and money move only through the services
(`claim_start_investigation`, `claim_approve`, `claim_reject`, `claim_withdraw`), which lock the row,
check the status the administrator saw and record every step. The claim page is therefore a view-only
page with a decision panel whose buttons post to `<id>/transition/`. Documents are served as downloads
only, and the raw resident ID number is never rendered: every page shows the masked form.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, DateTimeField, F, IntegerField, Model, Q, QuerySet, Value, When
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import ExtractDay, ExtractMonth, ExtractYear
from django.db.models.lookups import GreaterThan
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_fsm import can_proceed
from django_stubs_ext import StrPromise

from claims.errors import ApprovalRefused
from claims.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    ClaimTransition,
    CoveredCondition,
    Notice,
    RejectionReason,
)
from claims.selectors import claim_days_since_filing, document_for_user
from claims.services import (
    claim_approve,
    claim_check_rules,
    claim_reject,
    claim_start_investigation,
    claim_withdraw,
)
from members.admin import AgeBandsFilter
from members.dates import age_in_years
from members.errors import DomainError
from members.models import HealthQuestion, User

# The decisions an administrator takes with the buttons; each is a transition of the model's state machine.
ADMIN_ACTIONS = ("start_investigation", "approve", "reject", "withdraw")
# Claims waiting for an administrator: the queue shows them first, oldest first.
AWAITING_DECISION = (ClaimStatus.SUBMITTED, ClaimStatus.INVESTIGATING)
NOTE_MAX_LENGTH = 2000

# The masked ID number keeps its last four characters, so only those can be searched for.
_ID_TAIL = re.compile(r"\d{1,4}|\d{0,3}X")
_CLAIM_ID = re.compile(r"#?(\d{1,18})")

ACTION_LABELS: dict[str, StrPromise] = {
    "file": _("filed"),
    "start_investigation": _("investigation started"),
    "propose_approval": _("approval proposed"),
    "approve": _("approved"),
    "reject": _("rejected"),
    "withdraw": _("withdrawn"),
    "publish": _("published in the notice"),
    "objection": _("objection received"),
    "share": _("shared on the charge day"),
    "mark_paid": _("paid"),
    "appeal": _("appealed to the jury"),
    "approve_on_appeal": _("approved on appeal"),
    "uphold_rejection": _("rejection upheld on appeal"),
    "escalate_appeal": _("appeal sent to a senior administrator"),
}


def _staff_user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole:,}.{cents:02d}"


def _change_link(obj: Model, text: str | None = None) -> SafeString:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, str(obj) if text is None else text)


def _table(headers: list[Any], rows: list[tuple[Any, ...]], empty: str) -> SafeString:
    if not rows:
        return format_html("<p>{}</p>", empty)
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html('<table class="claim-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)


def _status_label(status: str) -> str:
    return str(ClaimStatus(status).label) if status in ClaimStatus.values else status or "—"


def _reason_label(reason: str) -> str:
    if reason in RejectionReason.values:
        return f"{RejectionReason(reason).label} ({reason})"
    return reason


def _user_name(user: User | None) -> str:
    return user.get_username() if user is not None else gettext("the system")


def _when(moment: datetime) -> str:
    """A moment as a Beijing date and time, compact and the same in both languages."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- list filters --------------------------------------------------------------------------------


class AgeAtDiagnosisFilter(AgeBandsFilter):
    """Age on the diagnosis date (the age that fixes the payout), computed in the database."""

    title = _("age at diagnosis")
    parameter_name = "age_at_diagnosis"

    def filter_band(self, queryset: QuerySet[Any], *, low: int, high: int | None) -> QuerySet[Any]:
        condition = Q(diagnosis_age__gte=low)
        if high is not None:
            condition &= Q(diagnosis_age__lte=high)
        filtered: QuerySet[Any] = queryset.alias(diagnosis_age=_age_at_diagnosis()).filter(condition)
        return filtered


def _age_at_diagnosis() -> CombinedExpression:
    """Completed years from birth to diagnosis, as `members.dates.age_in_years` counts them.

    Month and day compared as one number (month × 100 + day): someone born on 29 February is a year
    older from 1 March in a common year, as the plan counts birthdays.
    """
    birth = "member__person__birth_date"
    years = ExtractYear("diagnosed_on") - ExtractYear(birth)
    birthday_ahead: GreaterThan[int] = GreaterThan(
        ExtractMonth(birth) * 100 + ExtractDay(birth),
        ExtractMonth("diagnosed_on") * 100 + ExtractDay("diagnosed_on"),
    )
    return years - Case(When(birthday_ahead, then=Value(1)), default=Value(0), output_field=IntegerField())


class ConditionFilter(admin.RelatedOnlyFieldListFilter):
    """Only the conditions that have claims (the plan lists 28), under a translatable title."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = str(CoveredCondition._meta.verbose_name)


class WaitingPeriodFilter(admin.SimpleListFilter):
    title = _("diagnosis and waiting period")
    parameter_name = "waiting_period"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, Any]]:
        return [
            ("within", _("diagnosed within the waiting period")),
            ("after", _("diagnosed after the waiting period")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # waiting_period_ends is the last day of waiting: a diagnosis on that day is within it. A
        # diagnosis before joining is in neither: the person was not a member then.
        if self.value() == "within":
            return queryset.filter(
                diagnosed_on__gte=F("member__joined_on"), diagnosed_on__lte=F("member__waiting_period_ends")
            )
        if self.value() == "after":
            return queryset.filter(diagnosed_on__gt=F("member__waiting_period_ends"))
        return queryset


class DaysSinceFilingFilter(admin.SimpleListFilter):
    """Days since filing, counted in Beijing dates, as ranges of filed_at so the index serves them."""

    title = _("days since filing")
    parameter_name = "filed_days"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, Any]]:
        return [("0-7", _("0–7 days")), ("8-30", _("8–30 days")), ("31-", _("more than 30 days"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = timezone.localdate()
        week_start = _start_of(today - timedelta(days=7))
        month_start = _start_of(today - timedelta(days=30))
        if self.value() == "0-7":
            return queryset.filter(filed_at__gte=week_start)
        if self.value() == "8-30":
            return queryset.filter(filed_at__gte=month_start, filed_at__lt=week_start)
        if self.value() == "31-":
            return queryset.filter(filed_at__lt=month_start)
        return queryset


# --- the decision form ---------------------------------------------------------------------------


class ClaimDecisionForm(forms.Form):
    """What a decision button posts; the rules are the services' to check."""

    action = forms.ChoiceField(choices=[(action, action) for action in ADMIN_ACTIONS])
    expected_status = forms.ChoiceField(choices=ClaimStatus.choices)
    reason = forms.ChoiceField(choices=[("", "—"), *RejectionReason.choices], required=False)
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH)


def _decide(*, claim: Claim, by: User, action: str, expected_status: str, reason: str, note: str) -> Claim:
    if action == "start_investigation":
        return claim_start_investigation(claim=claim, by=by, expected_status=expected_status, note=note)
    if action == "approve":
        return claim_approve(claim=claim, by=by, expected_status=expected_status, note=note)
    if action == "reject":
        return claim_reject(claim=claim, by=by, reason=reason, note=note, expected_status=expected_status)
    return claim_withdraw(claim=claim, by=by, expected_status=expected_status, note=note)


def _decision_message(claim: Claim, action: str) -> str:
    if action == "approve" and claim.status == ClaimStatus.INVESTIGATING:
        return gettext(
            "You proposed to approve claim #%(id)s. A second, different administrator must confirm the approval."
        ) % {"id": claim.pk}
    if claim.status == ClaimStatus.APPROVED and claim.payout_fen is not None:
        return gettext("Claim #%(id)s approved: the payout is %(amount)s yuan.") % {
            "id": claim.pk,
            "amount": _yuan(claim.payout_fen),
        }
    if claim.status == ClaimStatus.REJECTED:
        return gettext("Claim #%(id)s rejected: %(reason)s") % {
            "id": claim.pk,
            "reason": _reason_label(claim.rejection_reason),
        }
    return gettext("Claim #%(id)s is now “%(status)s”.") % {"id": claim.pk, "status": claim.get_status_display()}


def legal_actions(claim: Claim) -> list[str]:
    """The buttons the state machine allows from the claim's status (an appeal is the jury's to decide)."""
    if claim.status == ClaimStatus.APPEALED:
        return []
    return [action for action in ADMIN_ACTIONS if can_proceed(getattr(claim, action))]


# --- claims --------------------------------------------------------------------------------------


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin[Claim]):
    list_display = [
        "claim_number",
        "member_column",
        "kind",
        "condition_code",
        "diagnosis_date",
        "status",
        "payout",
        "days_since_filing",
        "filed",
    ]
    list_display_links = ["claim_number", "member_column"]
    list_filter = [
        "status",
        "kind",
        ("condition", ConditionFilter),
        AgeAtDiagnosisFilter,
        WaitingPeriodFilter,
        DaysSinceFilingFilter,
    ]
    list_select_related = ["member__person", "condition"]
    list_per_page = 50
    # The real order is get_ordering's queue; this only stops the list from marking "filed at" (the
    # model's default order) as the sorted column.
    ordering = ["-pk"]
    search_fields = ["member__person__name", "hospital"]
    search_help_text = _("Claim number, member name, hospital, or the last digits of the ID number.")
    fieldsets = (
        (
            None,
            {
                "fields": [
                    "claim_number",
                    "status",
                    "kind",
                    "condition_link",
                    "diagnosed_on",
                    "hospital",
                    "description",
                    "filed_by_link",
                    "filed_at",
                    "days_since_filing",
                ]
            },
        ),
        (
            _("Member"),
            {
                "fields": [
                    "member_link",
                    "member_status",
                    "age_on_diagnosis",
                    "member_joined_on",
                    "member_waiting_period_ends",
                    "declaration",
                    "other_claims",
                ]
            },
        ),
        (
            _("Outcome"),
            {"fields": ["payout", "rejection_reason", "proposer", "decided_at", "notice_link"]},
        ),
        (_("Documents"), {"fields": ["documents_table"]}),
        (_("Timeline"), {"fields": ["timeline"]}),
        (_("Objections"), {"fields": ["objections_table"]}),
    )
    readonly_fields = [
        "claim_number",
        "status",
        "kind",
        "condition_link",
        "diagnosed_on",
        "hospital",
        "description",
        "filed_by_link",
        "filed_at",
        "days_since_filing",
        "member_link",
        "member_status",
        "age_on_diagnosis",
        "member_joined_on",
        "member_waiting_period_ends",
        "declaration",
        "other_claims",
        "payout",
        "rejection_reason",
        "proposer",
        "decided_at",
        "notice_link",
        "documents_table",
        "timeline",
        "objections_table",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        # ModelAdmin.get_queryset orders before it returns; the queue's sort keys must exist first.
        queue_rank = Case(When(status__in=AWAITING_DECISION, then=Value(0)), default=Value(1))
        waiting_since = Case(When(status__in=AWAITING_DECISION, then=F("filed_at")), output_field=DateTimeField())
        return (
            Claim.objects.select_related("member__person", "condition")
            .alias(queue_rank=queue_rank, waiting_since=waiting_since)
            .order_by(*self.get_ordering(request))
        )

    def get_ordering(self, request: HttpRequest) -> list[str]:
        # The queue: claims awaiting a decision first, the longest-waiting on top; then the rest, newest first.
        return ["queue_rank", "waiting_since", "-pk"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members and partners file claims, through the service that checks them

    def has_change_permission(self, request: HttpRequest, obj: Claim | None = None) -> bool:
        return False  # nothing is edited: decisions are the buttons of the decision panel

    def has_delete_permission(self, request: HttpRequest, obj: Claim | None = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        """Deciding needs the model's change permission, which the page itself never uses for editing."""
        codename = get_permission_codename("change", self.opts)
        return request.user.is_active and request.user.is_staff and request.user.has_perm(f"claims.{codename}")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Claim], search_term: str
    ) -> tuple[QuerySet[Claim], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().upper()
        claim_id = _CLAIM_ID.fullmatch(term)
        if claim_id:
            found = found | queryset.filter(pk=int(claim_id.group(1)))
        if _ID_TAIL.fullmatch(term):
            found = found | queryset.filter(member__person__id_number_masked__endswith=term)
        return found, may_have_duplicates

    # --- columns and fields ----------------------------------------------------------------------

    @admin.display(description=_("claim"), ordering="id")
    def claim_number(self, obj: Claim) -> str:
        return f"#{obj.pk}"

    @admin.display(description=_("member"), ordering="member__person__name")
    def member_column(self, obj: Claim) -> SafeString:
        person = obj.member.person
        return format_html("{}<br><small>{}</small>", person.name, person.id_number_masked)

    @admin.display(description=_("condition"), ordering="condition__code")
    def condition_code(self, obj: Claim) -> str:
        return obj.condition.code

    @admin.display(description=_("diagnosis date"), ordering="diagnosed_on")
    def diagnosis_date(self, obj: Claim) -> str:
        return obj.diagnosed_on.isoformat()

    @admin.display(description=_("filed at"), ordering="filed_at")
    def filed(self, obj: Claim) -> str:
        return _when(obj.filed_at)

    @admin.display(description=_("payout (yuan)"), ordering="payout_fen")
    def payout(self, obj: Claim) -> str:
        return _yuan(obj.payout_fen) if obj.payout_fen is not None else self.get_empty_value_display()

    @admin.display(description=_("days since filing"), ordering="-filed_at")
    def days_since_filing(self, obj: Claim) -> int:
        return claim_days_since_filing(claim=obj)

    @admin.display(description=_("covered condition"))
    def condition_link(self, obj: Claim) -> SafeString:
        return _change_link(obj.condition)

    @admin.display(description=_("filed by"))
    def filed_by_link(self, obj: Claim) -> SafeString:
        if obj.filed_by is None:
            return self.get_empty_value_display()
        return _change_link(obj.filed_by, obj.filed_by.get_username())

    @admin.display(description=_("approval proposed by"))
    def proposer(self, obj: Claim) -> str:
        proposer = obj.approval_proposed_by
        return _user_name(proposer) if proposer else self.get_empty_value_display()

    @admin.display(description=_("notice"))
    def notice_link(self, obj: Claim) -> SafeString:
        return _change_link(obj.notice) if obj.notice else self.get_empty_value_display()

    @admin.display(description=_("member"))
    def member_link(self, obj: Claim) -> SafeString:
        person = obj.member.person
        return _change_link(obj.member, f"{person.name} ({person.id_number_masked})")

    @admin.display(description=_("member status"))
    def member_status(self, obj: Claim) -> str:
        member = obj.member
        reason = f" ({member.status_reason})" if member.status_reason else ""
        return f"{member.get_status_display()}{reason}"

    @admin.display(description=_("age at diagnosis"))
    def age_on_diagnosis(self, obj: Claim) -> int:
        return age_in_years(obj.member.person.birth_date, obj.diagnosed_on)

    @admin.display(description=_("joined on"))
    def member_joined_on(self, obj: Claim) -> str:
        return date_format(obj.member.joined_on)

    @admin.display(description=_("waiting period ends"))
    def member_waiting_period_ends(self, obj: Claim) -> SafeString:
        ends = obj.member.waiting_period_ends
        # Accidents are covered from the first day; only an illness is caught by the waiting period.
        if obj.kind == ClaimKind.ILLNESS and obj.member.joined_on <= obj.diagnosed_on <= ends:
            return format_html(
                '{} <strong class="claim-warning">{}</strong>',
                date_format(ends),
                gettext("diagnosed within the waiting period"),
            )
        return format_html("{}", date_format(ends))

    @admin.display(description=_("health declaration"))
    def declaration(self, obj: Claim) -> SafeString:
        answers: dict[str, Any] = obj.member.health_declaration or {}
        language = get_language()
        questions = {q.code: q.text(language) for q in HealthQuestion.objects.filter(plan_id=obj.member.plan_id)}
        rows = [
            (questions.get(code, code), gettext("yes") if answer else gettext("no")) for code, answer in answers.items()
        ]
        return _table([_("question"), _("answer")], rows, gettext("No declaration recorded."))

    @admin.display(description=_("other claims of this person"))
    def other_claims(self, obj: Claim) -> SafeString:
        others = (
            Claim.objects.filter(member__person_id=obj.member.person_id)
            .exclude(pk=obj.pk)
            .select_related("condition")
            .order_by("-filed_at")
        )
        rows = [
            (
                _change_link(other, f"#{other.pk}"),
                timezone.localtime(other.filed_at).date().isoformat(),
                other.condition.code,
                other.get_status_display(),
                _yuan(other.payout_fen) if other.payout_fen is not None else "—",
            )
            for other in others
        ]
        headers = [_("claim"), _("filed at"), _("condition"), _("status"), _("payout (yuan)")]
        return _table(headers, rows, gettext("None."))

    @admin.display(description=_("documents"))
    def documents_table(self, obj: Claim) -> SafeString:
        rows = [
            (
                format_html(
                    '<a href="{}" download>{}</a>',
                    reverse("admin:claims_claim_document", args=[obj.pk, document.pk]),
                    document.name,
                ),
                document.content_type,
                filesizeformat(document.size),
                _when(document.uploaded_at),
            )
            for document in obj.documents.all()
        ]
        headers = [_("file (download)"), _("type"), _("size"), _("uploaded at")]
        return _table(headers, rows, gettext("No documents yet."))

    @admin.display(description=_("timeline"))
    def timeline(self, obj: Claim) -> SafeString:
        rows = [
            (
                _when(step.at),
                _user_name(step.by),
                _status_label(step.from_status),
                _status_label(step.to_status),
                ACTION_LABELS.get(step.action, step.action),
                _reason_label(step.reason),
                step.note,
            )
            for step in obj.transitions.select_related("by")
        ]
        headers = [_("when"), _("who"), _("from"), _("to"), _("action"), _("reason"), _("note")]
        return _table(headers, rows, gettext("No steps recorded."))

    @admin.display(description=_("objections"))
    def objections_table(self, obj: Claim) -> SafeString:
        rows = [
            (
                _when(objection.at),
                _user_name(objection.by),
                objection.reason,
            )
            for objection in obj.objections.select_related("by")
        ]
        return _table([_("when"), _("who"), _("reason")], rows, gettext("No objections."))

    # --- the claim page and its decision panel ---------------------------------------------------

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Claim | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["title"] = gettext("Claim #%(id)s") % {"id": obj.pk}
            context["subtitle"] = f"{obj.member.person.name} · {obj.condition} · {obj.get_kind_display()}"
            context["decision"] = self._decision_context(request, obj)
        response: HttpResponse = super().render_change_form(request, context, add, change, form_url, obj)
        return response

    def _decision_context(self, request: HttpRequest, claim: Claim) -> dict[str, Any]:
        actions = legal_actions(claim)
        rules_payout, rules_refusal = None, None
        if "approve" in actions:
            try:
                rules_payout = claim_check_rules(claim=claim)
            except ApprovalRefused as exc:
                rules_refusal = exc.reason
        selected = request.GET.get("reject_reason", "")
        # The proposer stays recorded after the confirmation; the panel names them only while it is pending.
        proposer = claim.approval_proposed_by if claim.status == ClaimStatus.INVESTIGATING else None
        return {
            "may_decide": self.has_decide_permission(request),
            "actions": actions,
            "url": self._transition_url(request, claim),
            "proposed_by": _user_name(proposer) if proposer else None,
            "proposed_by_me": proposer is not None and proposer.pk == request.user.pk,
            "reasons": [(code, label) for code, label in RejectionReason.choices],
            "selected_reason": selected if selected in RejectionReason.values else rules_refusal or "",
            "rules_payout": _yuan(rules_payout) if rules_payout is not None else None,
            "four_eyes": rules_payout is not None and rules_payout >= claim.member.plan.four_eyes_threshold_fen,
            "rules_refusal": _reason_label(rules_refusal) if rules_refusal else None,
            "note_max_length": NOTE_MAX_LENGTH,
        }

    def _preserve_filters(self, request: HttpRequest, url: str) -> str:
        preserved = self.get_preserved_filters(request)
        return str(add_preserved_filters({"preserved_filters": preserved, "opts": self.opts}, url))

    def _transition_url(self, request: HttpRequest, claim: Claim) -> str:
        return self._preserve_filters(request, reverse("admin:claims_claim_transition", args=[claim.pk]))

    def _change_url(self, request: HttpRequest, claim: Claim, **params: str) -> str:
        url = reverse("admin:claims_claim_change", args=[claim.pk])
        if params:
            url = f"{url}?{urlencode(params)}"
        return self._preserve_filters(request, url)

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "<int:object_id>/transition/",
                self.admin_site.admin_view(require_POST(self.transition_view)),
                name="claims_claim_transition",
            ),
            path(
                "<int:object_id>/documents/<int:document_id>/",
                self.admin_site.admin_view(self.document_view),
                name="claims_claim_document",
            ),
        ]
        urls: list[URLPattern] = super().get_urls()
        return [*extra, *urls]

    def transition_view(self, request: HttpRequest, object_id: int) -> HttpResponseRedirect:
        """A decision button: parse, call the one service, say what happened, back to the claim page."""
        if not self.has_decide_permission(request):
            raise PermissionDenied
        claim = self.get_object(request, str(object_id))
        if claim is None:
            raise Http404
        form = ClaimDecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("Nothing was changed: the request was incomplete. Reload the page."))
            return redirect(self._change_url(request, claim))
        data = form.cleaned_data
        try:
            decided = _decide(claim=claim, by=_staff_user(request), **data)
        except ApprovalRefused as exc:
            messages.error(
                request,
                gettext("Cannot approve: %(reason)s (%(code)s)")
                % {"reason": RejectionReason(exc.reason).label, "code": exc.reason},
            )
            return redirect(self._change_url(request, claim, reject_reason=exc.reason))
        except DomainError as exc:
            messages.error(request, str(exc.message))
            if data["action"] == "reject" and data["reason"]:
                # Keep the reason the admin chose, so adding the missing note is one step.
                return redirect(self._change_url(request, claim, reject_reason=data["reason"]))
        else:
            messages.success(request, _decision_message(decided, data["action"]))
        return redirect(self._change_url(request, claim))

    def document_view(self, request: HttpRequest, object_id: int, document_id: int) -> FileResponse:
        """One document as a download, never shown inline: a member's file is not trusted content."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = document_for_user(user=_staff_user(request), document_id=document_id)
        if document.claim_id != object_id:
            raise Http404
        try:
            handle = document.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(handle, as_attachment=True, filename=document.name, content_type=document.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox"
        return response


# --- notices and the audit trail -----------------------------------------------------------------


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin[Notice]):
    """Notices are published by the notice-day job; here they are read."""

    list_display = ["notice_date", "charge_date", "claim_count", "published_at", "plan"]
    list_select_related = ["plan"]
    fields = ["plan", "notice_date", "charge_date", "published_at", "claims_table"]
    readonly_fields = ["plan", "notice_date", "charge_date", "published_at", "claims_table"]
    ordering = ["-notice_date"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notice]:
        return super().get_queryset(request).annotate(claim_count=Count("claims"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notice | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Notice | None = None) -> bool:
        return False

    @admin.display(description=_("number of claims"), ordering="claim_count")
    def claim_count(self, obj: Notice) -> int:
        return int(getattr(obj, "claim_count", 0))

    @admin.display(description=_("claims"))
    def claims_table(self, obj: Notice) -> SafeString:
        rows = [
            (
                _change_link(claim, f"#{claim.pk}"),
                claim.condition.code,
                claim.get_status_display(),
                _yuan(claim.payout_fen) if claim.payout_fen is not None else "—",
            )
            for claim in obj.claims.select_related("condition").order_by("id")
        ]
        headers = [_("claim"), _("condition"), _("status"), _("payout (yuan)")]
        return _table(headers, rows, gettext("None."))


@admin.register(ClaimTransition)
class ClaimTransitionAdmin(admin.ModelAdmin[ClaimTransition]):
    """Every step of every claim, to read: a step is never edited or deleted."""

    list_display = ["at", "claim_link", "from_label", "to_label", "action_label", "by", "reason"]
    list_filter = ["action", "to_status"]
    list_select_related = ["claim", "by"]
    search_fields = ["=claim__id"]
    search_help_text = _("Claim number.")
    fields = ["claim_link", "from_status", "to_status", "action", "by", "at", "reason", "note"]
    readonly_fields = ["claim_link", "from_status", "to_status", "action", "by", "at", "reason", "note"]
    ordering = ["-at", "-id"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ClaimTransition], search_term: str
    ) -> tuple[QuerySet[ClaimTransition], bool]:
        claim_id = _CLAIM_ID.fullmatch(search_term.strip())
        if not search_term.strip():
            return queryset, False
        if claim_id is None:
            return queryset.none(), False
        return queryset.filter(claim_id=int(claim_id.group(1))), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ClaimTransition | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ClaimTransition | None = None) -> bool:
        return False

    @admin.display(description=_("claim"), ordering="claim_id")
    def claim_link(self, obj: ClaimTransition) -> SafeString:
        return _change_link(obj.claim, f"#{obj.claim_id}")

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, obj: ClaimTransition) -> str:
        return str(ACTION_LABELS.get(obj.action, obj.action))

    @admin.display(description=_("from"), ordering="from_status")
    def from_label(self, obj: ClaimTransition) -> str:
        return _status_label(obj.from_status)

    @admin.display(description=_("to"), ordering="to_status")
    def to_label(self, obj: ClaimTransition) -> str:
        return _status_label(obj.to_status)


# --- plan data -----------------------------------------------------------------------------------


@admin.register(CoveredCondition)
class CoveredConditionAdmin(admin.ModelAdmin[CoveredCondition]):
    list_display = ["code", "name_zh", "name_en", "plan"]
    list_filter = ["plan"]
    search_fields = ["code", "name_zh", "name_en"]
