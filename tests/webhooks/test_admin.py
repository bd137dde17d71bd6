"""Admin: endpoints (disable), events and deliveries read-only with their attempts, and “retry now”."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from members.models import Membership, User
from members.services import membership_exit
from tests.webhooks.conftest import Hooked
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent

Capture = Callable[..., Any]


@pytest.fixture
def staff(client: Client, admin_user: User, settings: Any) -> Client:
    settings.ADMIN_REQUIRE_2FA = False
    client.force_login(admin_user)
    return client


@pytest.fixture
def failed_once(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> WebhookDelivery:
    acme.receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol_for(acme), by=None)
    return WebhookDelivery.objects.get()


@pytest.mark.parametrize("page", ["webhookendpoint", "webhookevent", "webhookdelivery"])
def test_the_lists_render_in_a_fixed_number_of_queries(
    staff: Client, failed_once: WebhookDelivery, globex: Hooked, page: str
) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(f"/admin/webhooks/{page}/")
    assert response.status_code == 200
    assert len(queries) <= 12, [q["sql"][:80] for q in queries]


def test_the_lists_filter_by_partner_kind_and_status(staff: Client, failed_once: WebhookDelivery, acme: Hooked) -> None:
    url = "/admin/webhooks/webhookdelivery/"
    assert staff.get(url, {"status": "pending"}).context["cl"].result_count == 1
    assert staff.get(url, {"status": "delivered"}).context["cl"].result_count == 0
    assert staff.get(url, {"event__kind": "member.status_changed"}).context["cl"].result_count == 1
    assert staff.get(url, {"endpoint__partner__id__exact": acme.partner.pk}).context["cl"].result_count == 1
    events = "/admin/webhooks/webhookevent/"
    assert staff.get(events, {"kind": "claim.status_changed"}).context["cl"].result_count == 0
    assert staff.get(events, {"partner__id__exact": acme.partner.pk}).context["cl"].result_count == 1


def test_an_event_and_a_delivery_show_their_attempts_read_only(staff: Client, failed_once: WebhookDelivery) -> None:
    event = WebhookEvent.objects.get()
    page = staff.get(f"/admin/webhooks/webhookevent/{event.pk}/change/")
    assert page.status_code == 200
    assert str(event.event_id) in page.content.decode()
    delivery_page = staff.get(f"/admin/webhooks/webhookdelivery/{failed_once.pk}/change/").content.decode()
    assert "500" in delivery_page
    assert 'name="_save"' not in delivery_page
    assert staff.get(f"/admin/webhooks/webhookevent/{event.pk}/delete/").status_code == 403


def test_retry_now_sends_a_pending_delivery_at_once(
    staff: Client, failed_once: WebhookDelivery, acme: Hooked, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/admin/webhooks/webhookdelivery/", {"action": "retry_now", "_selected_action": [failed_once.pk]}
        )
    assert response.status_code == 302
    failed_once.refresh_from_db()
    assert failed_once.status == DeliveryStatus.DELIVERED
    assert len(acme.receiver.requests) == 2


def test_retry_now_gives_a_failed_delivery_one_more_attempt_and_never_resends_a_delivered_one(
    staff: Client, failed_once: WebhookDelivery, acme: Hooked, django_capture_on_commit_callbacks: Capture
) -> None:
    WebhookDelivery.objects.filter(pk=failed_once.pk).update(status=DeliveryStatus.FAILED, attempts=6)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post("/admin/webhooks/webhookdelivery/", {"action": "retry_now", "_selected_action": [failed_once.pk]})
    failed_once.refresh_from_db()
    assert (failed_once.status, failed_once.attempts) == (DeliveryStatus.DELIVERED, 6)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post("/admin/webhooks/webhookdelivery/", {"action": "retry_now", "_selected_action": [failed_once.pk]})
    assert len(acme.receiver.requests) == 2


def test_disabling_an_endpoint_in_admin_fails_its_pending_deliveries(
    staff: Client, failed_once: WebhookDelivery, acme: Hooked
) -> None:
    staff.post("/admin/webhooks/webhookendpoint/", {"action": "disable", "_selected_action": [acme.endpoint.pk]})
    acme.endpoint.refresh_from_db()
    failed_once.refresh_from_db()
    assert not acme.endpoint.active
    assert failed_once.status == DeliveryStatus.FAILED
