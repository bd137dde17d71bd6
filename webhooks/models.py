"""Partner webhooks: endpoints partners register, the events of their members, and each delivery attempt.

An event belongs to one partner (its members' events, or a public one such as a settled period, copied
to each partner); a delivery is that event on its way to one of the partner's endpoints, and every HTTP
attempt of it is kept.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from members.models import Partner


class EventKind(models.TextChoices):
    CLAIM_STATUS_CHANGED = "claim.status_changed", _("claim status changed")
    MEMBER_STATUS_CHANGED = "member.status_changed", _("member status changed")
    PERIOD_SETTLED = "period.settled", _("period settled")
    PING = "ping", _("ping (a test sent on request)")


# What an endpoint may subscribe to; a ping goes only to the endpoint it tests.
SUBSCRIBABLE_KINDS = [
    EventKind.CLAIM_STATUS_CHANGED.value,
    EventKind.MEMBER_STATUS_CHANGED.value,
    EventKind.PERIOD_SETTLED.value,
]


class RandomUUID(models.Func):
    """A random event id made by the database, so an INSERT … SELECT of many events needs no Python per row."""

    output_field = models.UUIDField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return "gen_random_uuid()", []

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # SQLite keeps a UUIDField as 32 hexadecimal characters.
        return "lower(hex(randomblob(16)))", []


class WebhookEndpoint(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    # Fernet-encrypted (the same keys as ID numbers): the signing key must be read back to sign, so it
    # cannot be hashed like an API key; it is shown to the partner once, when the endpoint is created.
    secret_encrypted = models.TextField(editable=False)
    secret_hint = models.CharField(_("secret (last characters)"), max_length=8, editable=False)
    kinds = models.JSONField(_("events subscribed"), default=list)
    active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)

    class Meta:
        ordering = ["partner", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["partner", "active"], name="webhook_endpoint_partner")]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """Something a partner is told about; `event_id` is the id partners de-duplicate on."""

    event_id = models.UUIDField(_("event id"), unique=True, db_default=RandomUUID(), editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_events")
    kind = models.CharField(_("kind"), max_length=30, choices=EventKind.choices)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created at"), db_default=Now())

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        indexes = [models.Index(fields=["partner", "kind"], name="webhook_event_partner_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed (no retries left)")


class WebhookDelivery(models.Model):
    """One event on its way to one endpoint: pending until a 2xx answer, or failed after the last retry."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, db_default=Now())
    # Set while a worker sends it (a lease, so a duplicate task does not send it twice at once), and
    # when it is queued (so the sweeper does not queue it again while it waits in the queue).
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), db_default=Now())

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once_per_endpoint"),
        ]
        indexes = [
            # The sweeper's look-up: only the deliveries still pending are in this index.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One HTTP POST of a delivery: when, the answer's status or the error, how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    next_retry_at = models.DateTimeField(_("next retry at"), null=True, blank=True)

    class Meta:
        ordering = ["delivery", "at", "id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
