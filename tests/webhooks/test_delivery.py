"""Delivery over real HTTP: the signed body a partner receives, retries on the back-off schedule, and
nothing sent twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from members.models import Membership
from members.services import membership_exit
from tests.webhooks.conftest import Hooked, verify
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from webhooks.services import BACKOFF_SECONDS, MAX_ATTEMPTS
from webhooks.tasks import deliver, deliveries_sweep

Capture = Callable[..., Any]


def test_it_posts_a_signed_json_event_to_the_partners_url(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    member = enrol_for(acme)
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=member, by=None)
    [request] = acme.receiver.requests
    assert request.path == "/hooks/mutualaid"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["Mutualaid-Event"] == "member.status_changed"
    delivery = WebhookDelivery.objects.get()
    assert request.headers["Mutualaid-Delivery"] == str(delivery.pk)
    assert verify(secret=acme.secret, header=request.headers["Mutualaid-Signature"], body=request.body)
    body = request.json()
    assert body["id"] == str(delivery.event.event_id)
    assert body["kind"] == "member.status_changed"
    assert body["data"] == {
        "member": member.pk,
        "external_ref": member.external_ref,
        "payer": None,
        "status": "exited",
        "status_reason": "voluntary",
        "ended_on": timezone.localdate().isoformat(),
    }
    assert delivery.status == DeliveryStatus.DELIVERED
    [attempt] = delivery.attempt_rows.all()
    assert attempt.status_code == 200 and attempt.next_retry_at is None


def test_its_signature_is_refused_with_another_secret_or_another_body(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol_for(acme), by=None)
    [request] = acme.receiver.requests
    header = request.headers["Mutualaid-Signature"]
    assert not verify(secret="whsec_someone-else", header=header, body=request.body)
    assert not verify(secret=acme.secret, header=header, body=request.body.replace(b"exited", b"active"))
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert abs(timestamp - timezone.now().timestamp()) < 60


def test_it_sends_nothing_for_a_change_that_is_rolled_back(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    from django.db import transaction

    member = enrol_for(acme)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        membership_exit(membership=member, by=None)
        raise RuntimeError("the request failed after the exit")
    assert acme.receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_it_retries_after_a_500_and_delivers_on_the_next_attempt(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    acme.receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol_for(acme), by=None)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    [failed] = delivery.attempt_rows.all()
    assert failed.status_code == 500
    assert failed.next_retry_at == failed.at + timedelta(seconds=60)

    deliveries_sweep.delay()  # too early: nothing is due yet
    assert len(acme.receiver.requests) == 1
    with time_machine.travel(failed.at + timedelta(seconds=61), tick=False):
        deliveries_sweep.delay()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 2
    assert [a.status_code for a in delivery.attempt_rows.all()] == [500, 200]
    first, second = acme.receiver.requests
    assert first.body == second.body, "every attempt sends the same event"


def test_it_backs_off_1_5_30_120_720_minutes_then_gives_up(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    acme.receiver.statuses = [503] * 10
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol_for(acme), by=None)
    delivery = WebhookDelivery.objects.get()
    waits = []
    while delivery.status == DeliveryStatus.PENDING:
        assert delivery.next_attempt_at is not None
        last = delivery.attempt_rows.order_by("-at").first()
        assert last is not None
        waits.append(int((delivery.next_attempt_at - last.at).total_seconds()))
        with time_machine.travel(delivery.next_attempt_at, tick=False):
            deliveries_sweep.delay()
        delivery.refresh_from_db()
    assert waits == [60, 300, 1800, 7200, 43200] == list(BACKOFF_SECONDS)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == MAX_ATTEMPTS == len(acme.receiver.requests)
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        deliveries_sweep.delay()
    assert len(acme.receiver.requests) == MAX_ATTEMPTS, "a failed delivery is not retried by itself"


def test_it_records_a_connection_error_as_an_attempt(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    acme.endpoint.url = "http://127.0.0.1:9/nobody-listens"  # the discard port: connection refused
    acme.endpoint.save(update_fields=["url"])
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol_for(acme), by=None)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "Connection" in attempt.error or "refused" in attempt.error
    assert attempt.next_retry_at is not None


def test_a_delivered_event_is_not_sent_again_when_its_task_runs_twice(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol_for(acme), by=None)
    delivery = WebhookDelivery.objects.get()
    assert deliver.delay(delivery.pk).get() is None
    deliveries_sweep.delay()
    assert len(acme.receiver.requests) == 1


def test_a_delivery_another_worker_is_sending_is_left_to_it(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    acme.receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol_for(acme), by=None)
    delivery = WebhookDelivery.objects.get()
    later = delivery.next_attempt_at
    assert later is not None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(locked_until=later + timedelta(seconds=30))
    with time_machine.travel(later + timedelta(seconds=1), tick=False):
        assert deliver.delay(delivery.pk).get() is None
    assert len(acme.receiver.requests) == 1


def test_the_sweeper_does_not_queue_a_delivery_twice_while_it_waits(
    acme: Hooked, enrol_for: Callable[..., Membership]
) -> None:
    from webhooks.services import deliveries_sweep as sweep

    membership_exit(membership=enrol_for(acme), by=None)  # on_commit never runs: the task was "lost"
    delivery = WebhookDelivery.objects.get()
    assert delivery.queued_at is not None
    assert sweep() == []
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        assert sweep() == [delivery.pk]
        assert sweep() == []
