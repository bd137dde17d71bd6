"""Django admin for the jury: each appeal with its live counts, the escalated queue and its decisions,
the jury rules and the juror test of each plan, and the jurors.

Administrators see the counts while a vote is open (jurors do not). An appeal is never edited here:
the vote closes by the deadline job, and an escalated appeal is decided with the two buttons of its
page, which call jury.services.appeal_decide_escalated (senior administrators only: the permission
"Can decide an appeal the jury left without quorum", which a superuser has).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from claims.errors import ApprovalRefused
from jury.models import Appeal, AppealStatus, Juror, JurorQuestion, JuryRules
from jury.selectors import appeals_with_live_counts
from jury.services import appeal_decide_escalated
from members.errors import DomainError
from members.models import User

NOTE_MAX_LENGTH = 2000


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("uphold", "uphold")])
    note = forms.CharField(max_length=NOTE_MAX_LENGTH, required=False)


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin[Appeal]):
    list_display = [
        "appeal_number",
        "claim_link",
        "status",
        "outcome",
        "deadline_column",
        "live_for_column",
        "live_against_column",
        "quorum_column",
    ]
    list_filter = ["status", "outcome"]
    list_select_related = ["claim__member__plan"]
    list_per_page = 50
    ordering = ["-pk"]
    fields = (
        "claim_link",
        "status",
        "outcome",
        "filed_at",
        "deadline",
        "live_for_column",
        "live_against_column",
        "quorum_column",
        "closed_at",
        "decided_by",
        "decided_at",
        "statement",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Appeal]:
        # The escalated queue first (a senior administrator acts on it), then open votes by deadline.
        first = Case(
            When(status=AppealStatus.ESCALATED, then=Value(0)),
            When(status=AppealStatus.OPEN, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        return appeals_with_live_counts().annotate(queue=first).order_by("queue", "deadline", "pk")

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["queue", "deadline", "pk"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Appeal | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Appeal | None = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return bool(
            request.user.is_active and request.user.is_staff and request.user.has_perm("jury.decide_escalated_appeal")
        )

    @admin.display(description=_("appeal"), ordering="pk")
    def appeal_number(self, obj: Appeal) -> str:
        return f"#{obj.pk}"

    @admin.display(description=_("claim"))
    def claim_link(self, obj: Appeal) -> SafeString:
        url = reverse("admin:claims_claim_change", args=[obj.claim_id])
        return format_html('<a href="{}">#{}</a>', url, obj.claim_id)

    @admin.display(description=_("voting closes"), ordering="deadline")
    def deadline_column(self, obj: Appeal) -> str:
        return timezone.localtime(obj.deadline).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=_("for (live)"))
    def live_for_column(self, obj: Appeal) -> int:
        return int(getattr(obj, "live_for", obj.votes_for))

    @admin.display(description=_("against (live)"))
    def live_against_column(self, obj: Appeal) -> int:
        return int(getattr(obj, "live_against", obj.votes_against))

    @admin.display(description=_("quorum"))
    def quorum_column(self, obj: Appeal) -> int:
        # Fixed when the vote closes; until then the plan's quorum today.
        return obj.quorum if obj.closed_at else obj.claim.member.plan.jury_quorum

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Appeal | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["title"] = gettext("Appeal #%(id)s of claim #%(claim)s") % {"id": obj.pk, "claim": obj.claim_id}
            context["decision"] = {
                "escalated": obj.status == AppealStatus.ESCALATED,
                "may_decide": self.has_decide_permission(request),
                "url": reverse("admin:jury_appeal_decide", args=[obj.pk]),
                "note_max_length": NOTE_MAX_LENGTH,
            }
        response: HttpResponse = super().render_change_form(request, context, add, change, form_url, obj)
        return response

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "<int:object_id>/decide/",
                self.admin_site.admin_view(require_POST(self.decide_view)),
                name="jury_appeal_decide",
            )
        ]
        urls: list[URLPattern] = super().get_urls()
        return [*extra, *urls]

    def decide_view(self, request: HttpRequest, object_id: int) -> HttpResponseRedirect:
        """A decision button of an escalated appeal: parse, call the one service, say what happened."""
        if not self.has_decide_permission(request) or not isinstance(request.user, User):
            raise PermissionDenied
        appeal = self.get_object(request, str(object_id))
        if appeal is None:
            raise Http404
        back = redirect(reverse("admin:jury_appeal_change", args=[appeal.pk]))
        form = DecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("Nothing was changed: the request was incomplete. Reload the page."))
            return back
        approve = form.cleaned_data["decision"] == "approve"
        try:
            decided = appeal_decide_escalated(
                appeal=appeal, by=request.user, approve=approve, note=form.cleaned_data["note"]
            )
        except ApprovalRefused as exc:
            messages.error(request, gettext("Cannot approve: %(reason)s") % {"reason": exc.message})
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request,
                gettext("Appeal #%(id)s decided: %(outcome)s.")
                % {"id": decided.pk, "outcome": decided.get_outcome_display()},
            )
        return back


@admin.register(JuryRules)
class JuryRulesAdmin(admin.ModelAdmin[JuryRules]):
    list_display = ["plan", "appeal_window_days", "quiz_pass_percent"]


@admin.register(JurorQuestion)
class JurorQuestionAdmin(admin.ModelAdmin[JurorQuestion]):
    list_display = ["code", "plan", "position", "text_zh", "answer"]
    list_filter = ["plan"]
    ordering = ["plan", "position", "code"]


@admin.register(Juror)
class JurorAdmin(admin.ModelAdmin[Juror]):
    """Who has passed the test: read only (the test and the rules are the juror's own acts)."""

    list_display = ["pk", "user", "plan", "passed_at", "rules_accepted_at", "last_score", "attempts"]
    list_filter = ["plan"]
    readonly_fields = ["plan", "user", "passed_at", "rules_accepted_at", "last_score", "attempts", "created_at"]
    search_fields = ["user__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Juror | None = None) -> bool:
        return False
