"""Django admin for webhooks: endpoints (disable one: a revocation), and what was sent, read-only.

Events and deliveries are a record of what partners were told: nothing here edits them. The one
action, “retry now”, goes through `deliveries_retry_now`, which never sends a delivered event again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import deliveries_retry_now, endpoint_disable


class _ReadOnly:
    """Shown, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ["url", "partner", "kinds", "active", "created_at", "disabled_at"]
    list_filter = ["active", "partner"]
    list_select_related = ["partner"]
    search_fields = ["url", "partner__name"]
    readonly_fields = ["partner", "url", "kinds", "secret_hint", "active", "description", "created_at", "disabled_at"]
    actions = ["disable"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Partners register their own URLs through the API, which shows them the secret once.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Disable (revoke) the selected endpoints"), permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        endpoints = list(queryset.filter(active=True))
        for endpoint in endpoints:  # a partner's handful of endpoints
            endpoint_disable(endpoint=endpoint)
        messages.success(
            request,
            ngettext("%(n)d endpoint disabled.", "%(n)d endpoints disabled.", len(endpoints)) % {"n": len(endpoints)},
        )


class AttemptInline(_ReadOnly, admin.TabularInline[WebhookAttempt, WebhookDelivery]):
    model = WebhookAttempt
    fields = readonly_fields = ("at", "status_code", "error", "duration_ms", "next_retry_at")
    extra = 0


class DeliveryInline(_ReadOnly, admin.TabularInline[WebhookDelivery, WebhookEvent]):
    model = WebhookDelivery
    fields = readonly_fields = ("endpoint", "status", "attempts", "next_attempt_at", "delivered_at")
    extra = 0
    show_change_link = True


@admin.register(WebhookEvent)
class WebhookEventAdmin(_ReadOnly, admin.ModelAdmin[WebhookEvent]):
    list_display = ["event_id", "kind", "partner", "created_at"]
    list_filter = ["kind", "partner", "deliveries__status"]
    list_select_related = ["partner"]
    search_fields = ["event_id"]
    fields = readonly_fields = ("event_id", "kind", "partner", "payload", "created_at")
    inlines = [DeliveryInline]
    show_full_result_count = False  # an exact count of a table that grows with every status change is slow


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly, admin.ModelAdmin[WebhookDelivery]):
    list_display = ["id", "event_kind", "partner", "endpoint", "status", "attempts", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event__kind", "endpoint__partner"]
    list_select_related = ["event", "endpoint__partner"]
    search_fields = ["event__event_id", "endpoint__url"]
    fields = readonly_fields = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )
    inlines = [AttemptInline]
    actions = ["retry_now"]
    show_full_result_count = False

    @admin.display(description=_("kind"), ordering="event__kind")
    def event_kind(self, delivery: WebhookDelivery) -> str:
        return delivery.event.get_kind_display()

    @admin.display(description=_("partner"), ordering="endpoint__partner__name")
    def partner(self, delivery: WebhookDelivery) -> str:
        return str(delivery.endpoint.partner)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only so that the action shows: the page itself has no editable field.
        return obj is None and bool(request.user.has_perm("webhooks.change_webhookdelivery"))

    @admin.action(description=_("Retry now"), permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        queued = deliveries_retry_now(delivery_ids=list(queryset.values_list("pk", flat=True)))
        skipped = queryset.count() - queued
        messages.success(
            request, ngettext("%(n)d delivery queued.", "%(n)d deliveries queued.", queued) % {"n": queued}
        )
        if skipped:
            messages.info(
                request,
                gettext("%(n)d already delivered (or to a disabled endpoint) and not sent again.") % {"n": skipped},
            )
