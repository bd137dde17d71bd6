"""Writes of webhooks: endpoints, the events of a partner's members, and delivering them.

Events are written in the transaction of the change they describe (the domain signal's receiver runs
inside it), so an event exists exactly when its change committed; the deliveries are queued to Celery
only after that commit. A status change of thousands of memberships at once (the daily job's chunk)
becomes one INSERT … SELECT of events and one of deliveries, whatever the number of rows.

Delivery, per event and endpoint: a task claims the delivery with a conditional UPDATE (pending, due,
not leased by another worker), POSTs it once, records the attempt and either marks it delivered or
schedules the next try on the back-off schedule; after the last one it is failed. A duplicate task, or
one run again after a worker died, finds the delivery delivered, leased or not yet due, and sends
nothing. A beat job (`deliveries_sweep`) queues what is due: retries, and anything a lost task left.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, PositiveSmallIntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce, JSONObject
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim
from members.errors import DomainError
from members.identity import decrypt_id_number, encrypt_id_number
from members.models import Membership, Partner
from mutualaid.api.schema import money
from settlement.models import Period
from webhooks import transport
from webhooks.models import (
    SUBSCRIBABLE_KINDS,
    DeliveryStatus,
    EventKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

# Seconds to wait after the 1st, 2nd, … failed attempt; one attempt more than retries, then failed.
BACKOFF_SECONDS = (60, 5 * 60, 30 * 60, 2 * 3600, 12 * 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
# A worker holds a delivery this long while it sends it: longer than the POST's timeout.
LEASE_SECONDS = 60
# A delivery queued this long ago and still due is queued again (its task was lost).
REQUEUE_AFTER_SECONDS = 10 * 60
# Up to this many deliveries a change queues one task each; more go to the sweeper, in batches.
QUEUE_EACH_MAX = 100
SWEEP_BATCH = 1000
ENDPOINTS_PER_PARTNER_MAX = 10
_URL_MAX = WebhookEndpoint._meta.get_field("url").max_length or 500

_EVENT = WebhookEvent._meta.db_table
_DELIVERY = WebhookDelivery._meta.db_table
_ENDPOINT = WebhookEndpoint._meta.db_table


# --- endpoints -----------------------------------------------------------------------------------------


def endpoint_create(
    *, partner: Partner, url: str, kinds: Sequence[str] | None = None, description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register a URL for the partner's events; returns the endpoint and its signing secret (shown once)."""
    url = (url or "").strip()
    if not url:
        raise DomainError(_("Give the URL events are sent to."), field="url")
    if len(url) > _URL_MAX:
        raise DomainError(_("Use a URL of at most %(max)s characters.") % {"max": _URL_MAX}, field="url")
    transport.url_check(url)
    chosen = list(dict.fromkeys(kinds)) if kinds else list(SUBSCRIBABLE_KINDS)
    unknown = [kind for kind in chosen if kind not in SUBSCRIBABLE_KINDS]
    if unknown:
        raise DomainError(
            _("Unknown event kinds: %(kinds)s. Choose from %(known)s.")
            % {"kinds": ", ".join(unknown), "known": ", ".join(SUBSCRIBABLE_KINDS)},
            field="kinds",
        )
    description = (description or "").strip()
    if len(description) > 200:
        raise DomainError(_("Use at most 200 characters."), field="description")
    with transaction.atomic():
        # The partner's row lock: two requests at once cannot both pass the limit.
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        if WebhookEndpoint.objects.filter(partner=partner, active=True).count() >= ENDPOINTS_PER_PARTNER_MAX:
            raise DomainError(
                _("A partner may have at most %(max)s endpoints; delete one first.")
                % {"max": ENDPOINTS_PER_PARTNER_MAX},
                field="url",
            )
        secret = "whsec_" + secrets.token_urlsafe(32)
        endpoint = WebhookEndpoint.objects.create(
            partner=partner,
            url=url,
            secret_encrypted=encrypt_id_number(secret),
            secret_hint=secret[-4:],
            kinds=chosen,
            description=description,
        )
    logger.info("webhook endpoint %s registered for partner %s", endpoint.pk, partner.pk)
    return endpoint, secret


def endpoint_secret(*, endpoint: WebhookEndpoint) -> str:
    return decrypt_id_number(endpoint.secret_encrypted)


def endpoint_disable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop sending to an endpoint (the partner's DELETE, or an administrator's revocation); history stays.

    Its pending deliveries are failed now rather than left for a sweeper that would never send them.
    """
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False, disabled_at=timezone.now())
        WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None
        )
    endpoint.refresh_from_db()
    return endpoint


def _subscribed(kind: str) -> list[WebhookEndpoint]:
    """The active endpoints subscribed to `kind`: one small query (a few per partner), filtered here
    because a JSON list cannot be searched the same way on PostgreSQL and SQLite."""
    return [endpoint for endpoint in WebhookEndpoint.objects.filter(active=True) if kind in endpoint.kinds]


# --- events: written in the transaction of the change -------------------------------------------------


def member_events_create(*, membership_ids: Sequence[int]) -> int:
    """member.status_changed for the memberships of partners that listen; set-based. Returns events made."""
    return _rows_events_create(
        EventKind.MEMBER_STATUS_CHANGED,
        Membership.objects.all(),
        membership_ids,
        partner="partner_id",
        member=F("id"),
        external_ref=F("external_ref"),
        payer=F("payer_id"),
        status=F("status"),
        status_reason=F("status_reason"),
        ended_on=F("ended_on"),
    )


def claim_events_create(*, claim_ids: Sequence[int], from_status: str, action: str) -> int:
    """claim.status_changed for the claims of partners' members (the partner that enrolled the member)."""
    return _rows_events_create(
        EventKind.CLAIM_STATUS_CHANGED,
        Claim.objects.all(),
        claim_ids,
        partner="member__partner_id",
        claim=F("id"),
        member=F("member_id"),
        external_ref=F("member__external_ref"),
        status=F("status"),
        previous_status=Value(from_status or None),
        action=Value(action),
        rejection_reason=Coalesce(F("rejection_reason"), Value("")),
    )


def period_events_create(*, period_id: int) -> int:
    """period.settled: periods are public, so every partner with a subscribed endpoint gets it."""
    endpoints = _subscribed(EventKind.PERIOD_SETTLED)
    if not endpoints:
        return 0
    period = Period.objects.get(pk=period_id)
    payload = {
        "period": period.pk,
        "notice_date": period.notice_date.isoformat(),
        "charge_date": period.charge_date.isoformat(),
        "status": period.status,
        "claims": period.claims_count,
        "sharers": period.sharers,
        "total": money(period.total_fen),
        "per_member": money(period.per_member_fen),
        "operator_subsidy": money(period.operator_subsidy_fen),
    }
    events = WebhookEvent.objects.bulk_create(
        WebhookEvent(partner_id=partner_id, kind=EventKind.PERIOD_SETTLED, payload=payload)
        for partner_id in sorted({e.partner_id for e in endpoints})
    )
    _deliver(_deliveries_for([e.pk for e in events], endpoints))
    return len(events)


def ping_create(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A test event for one endpoint, whatever it subscribes to; delivered like any other."""
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            partner_id=endpoint.partner_id, kind=EventKind.PING, payload={"endpoint": endpoint.pk}
        )
        ids = _deliveries_for([event.pk], [endpoint])
        if not ids:
            # Disabled between the partner's look-up and this insert: no delivery was made for it.
            raise Http404
        _deliver(ids)
    return WebhookDelivery.objects.select_related("event").get(pk=ids[0])


def _rows_events_create(
    kind: EventKind, objects: QuerySet[Any, Any], ids: Sequence[int], /, *, partner: str, **payload: Any
) -> int:
    """A `kind` event for each of these rows whose partner (the field `partner`) has an endpoint that
    listens, its payload the JSON object `payload` computes from the row, all in the database."""
    endpoints = _subscribed(kind)
    if not endpoints or not ids:
        return 0
    rows = (
        objects.filter(pk__in=list(ids), **{f"{partner}__in": {e.partner_id for e in endpoints}})
        .order_by()
        .values_list(partner, Value(kind.value), JSONObject(**payload))
    )
    return _insert(rows, endpoints)


def _insert(rows: QuerySet[Any, Any], endpoints: list[WebhookEndpoint]) -> int:
    """INSERT … SELECT the events (partner, kind, payload) `rows` selects, then their deliveries."""
    select, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_EVENT} (partner_id, kind, payload) {select} RETURNING id",
            params,
        )
        event_ids = [row[0] for row in cursor.fetchall()]
    if event_ids:
        _deliver(_deliveries_for(event_ids, endpoints))
    return len(event_ids)


def _deliveries_for(event_ids: list[int], endpoints: list[WebhookEndpoint]) -> list[int]:
    """One delivery per event and endpoint of the event's own partner: the join is the isolation rule."""
    if not event_ids or not endpoints:
        return []
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    events = ", ".join(["%s"] * len(event_ids))
    targets = ", ".join(["%s"] * len(endpoints))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_DELIVERY} (event_id, endpoint_id, status, attempts, next_attempt_at, created_at) "  # noqa: S608
            f"SELECT e.id, ep.id, %s, 0, %s, %s FROM {_EVENT} e JOIN {_ENDPOINT} ep ON ep.partner_id = e.partner_id "
            f"WHERE e.id IN ({events}) AND ep.id IN ({targets}) AND ep.active RETURNING id",
            [DeliveryStatus.PENDING, now, now, *event_ids, *(e.pk for e in endpoints)],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _deliver(delivery_ids: list[int]) -> None:
    """After commit: a task per delivery for a handful, else one sweep that queues them in batches."""
    from webhooks.tasks import deliver, deliveries_sweep

    if not delivery_ids:
        return
    if len(delivery_ids) <= QUEUE_EACH_MAX:
        WebhookDelivery.objects.filter(pk__in=delivery_ids).update(queued_at=timezone.now())
        for delivery_id in delivery_ids:
            transaction.on_commit(partial(deliver.delay, delivery_id))
    else:
        transaction.on_commit(deliveries_sweep.delay)


# --- delivery ------------------------------------------------------------------------------------------


def envelope(*, event: WebhookEvent) -> bytes:
    """The request body: the same bytes on every attempt, so a signature can be checked on any of them."""
    body = {
        "id": str(event.event_id),
        "kind": event.kind,
        "created_at": timezone.localtime(event.created_at).isoformat(),
        "data": event.payload,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def delivery_attempt(*, delivery_id: int) -> WebhookAttempt | None:
    """Send one delivery once if it is still due; record the attempt. None when there was nothing to do."""
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .exclude(locked_until__gt=now)
        .update(locked_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    if claimed != 1:
        return None
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery_id).update(status=DeliveryStatus.FAILED, locked_until=None)
        return None
    body = envelope(event=event)
    sent_at = timezone.now()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "mutualaid-webhooks/1",
        "Mutualaid-Event": event.kind,
        "Mutualaid-Delivery": str(delivery.pk),
        "Mutualaid-Signature": transport.signature_header(
            secret=endpoint_secret(endpoint=endpoint), timestamp=int(sent_at.timestamp()), body=body
        ),
    }
    outcome = transport.post(url=endpoint.url, body=body, headers=headers)
    return _record(delivery=delivery, at=sent_at, outcome=outcome)


def _record(*, delivery: WebhookDelivery, at: datetime, outcome: transport.Outcome) -> WebhookAttempt:
    attempts = delivery.attempts + 1
    next_at: datetime | None = None
    if outcome.ok:
        status = DeliveryStatus.DELIVERED
    elif attempts >= MAX_ATTEMPTS:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
        next_at = at + timedelta(seconds=BACKOFF_SECONDS[attempts - 1])
    with transaction.atomic():
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            at=at,
            status_code=outcome.status_code,
            error=outcome.error[:300],
            duration_ms=outcome.duration_ms,
            next_retry_at=next_at,
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=status,
            attempts=attempts,
            next_attempt_at=next_at,
            delivered_at=at if outcome.ok else None,
            locked_until=None,
            queued_at=None,
        )
    if not outcome.ok:
        logger.info(
            "webhook delivery %s attempt %s failed: %s", delivery.pk, attempts, outcome.status_code or outcome.error
        )
    return attempt


def deliveries_sweep(*, limit: int = SWEEP_BATCH) -> list[int]:
    """Mark up to `limit` due deliveries queued and return their ids (the task queues one `deliver` each).

    Due: pending, its time has come, not queued in the last few minutes (a task already waits for it).
    """
    now = timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .exclude(queued_at__gt=now - timedelta(seconds=REQUEUE_AFTER_SECONDS))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=due).update(queued_at=now)
    return due


def deliveries_retry_now(*, delivery_ids: Sequence[int]) -> int:
    """An administrator's “retry now”: pending or failed deliveries are due at once, with one attempt more.

    A delivered one is never sent again. Returns how many were queued.
    """
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(pk__in=list(delivery_ids), endpoint__active=True)
            .exclude(status=DeliveryStatus.DELIVERED)
            .values_list("pk", flat=True)
        )
        # One statement for all of them; a failed delivery gets one more attempt: its count goes back to
        # one below the last.
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now(),
            queued_at=None,  # due for the sweep at once; a handful get their own task below
            locked_until=None,
            attempts=Case(
                When(attempts__gt=MAX_ATTEMPTS - 1, then=Value(MAX_ATTEMPTS - 1)),
                default=F("attempts"),
                output_field=PositiveSmallIntegerField(),
            ),
        )
        # Queued as new deliveries are: a task each for a handful, the sweep for more.
        _deliver(ids)
    return len(ids)
