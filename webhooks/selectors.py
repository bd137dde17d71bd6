"""Reads of webhooks; the partner's access check is written once, here: another partner's endpoint is 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from members.models import Partner
from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoints_for_partner(*, partner: Partner) -> QuerySet[WebhookEndpoint]:
    """The partner's endpoints still in use (a deleted one stays in admin with its history, not here)."""
    return WebhookEndpoint.objects.filter(partner=partner, active=True).order_by("id")


def endpoint_for_partner(*, partner: Partner, endpoint_id: int) -> WebhookEndpoint:
    try:
        return endpoints_for_partner(partner=partner).get(pk=endpoint_id)
    except WebhookEndpoint.DoesNotExist as exc:
        raise Http404 from exc


def deliveries_for_endpoint(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """Newest first, each with its event and its attempts (two queries a page, whatever its size)."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related("attempt_rows")
        .order_by("-id")
    )
