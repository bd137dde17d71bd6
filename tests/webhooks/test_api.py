"""The webhooks API: register, list, read, delete, deliveries and a test event; another partner's → 404."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from members.services import partner_create
from tests.webhooks.conftest import Hooked, Receiver, verify
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

Capture = Callable[..., Any]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def client_for(hooked: Hooked) -> APIClient:
    from members.services import partner_key_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner_key_create(partner=hooked.partner)}")
    return client


@pytest.fixture
def acme_api(acme: Hooked) -> APIClient:
    return client_for(acme)


def test_it_registers_an_endpoint_and_shows_its_secret_once(acme_api: APIClient, receiver: Receiver) -> None:
    response = acme_api.post(
        "/api/v1/webhooks/", {"url": receiver.url, "kinds": ["claim.status_changed"]}, format="json"
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["kinds"] == ["claim.status_changed"]
    assert created["secret_hint"] == created["secret"][-4:]
    read = acme_api.get(f"/api/v1/webhooks/{created['id']}/").json()
    assert "secret" not in read
    assert read["url"] == receiver.url
    listed = acme_api.get("/api/v1/webhooks/").json()
    assert listed["count"] == 2  # the fixture's endpoint and this one
    assert all("secret" not in e for e in listed["results"])


def test_it_subscribes_to_every_kind_when_none_is_given(acme_api: APIClient, receiver: Receiver) -> None:
    created = acme_api.post("/api/v1/webhooks/", {"url": receiver.url}, format="json").json()
    assert created["kinds"] == ["claim.status_changed", "member.status_changed", "period.settled"]


def test_the_same_idempotency_key_registers_one_endpoint(acme_api: APIClient, receiver: Receiver) -> None:
    first = acme_api.post("/api/v1/webhooks/", {"url": receiver.url}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = acme_api.post("/api/v1/webhooks/", {"url": receiver.url}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert WebhookEndpoint.objects.filter(url=receiver.url).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "https://user:pw@example.com/hook"}, "url"),
        ({"url": "https://example.invalid./hook"}, "url"),
        ({"url": "http://127.0.0.1:8000/hook", "kinds": ["member.deleted"]}, "kinds.0"),
        ({"url": "http://127.0.0.1:8000/hook", "kinds": []}, "kinds"),
        ({}, "url"),
        ({"url": "https://" + "a" * 600 + ".example.com/"}, "url"),
        ({"url": 123}, "url"),  # JSON types as the schema says: a number is not quietly made text
        ({"url": "http://127.0.0.1:8000/hook", "description": 5}, "description"),
        ({"url": "http://127.0.0.1:8000/hook", "kinds": [1]}, "kinds.0"),
    ],
)
def test_it_refuses_a_bad_registration_with_400(acme_api: APIClient, body: dict[str, Any], field: str) -> None:
    response = acme_api.post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]


def test_in_production_it_refuses_plain_http_and_private_addresses(acme_api: APIClient, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    for url in (
        "http://127.0.0.1:8000/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://example.com/hook",
    ):
        response = acme_api.post("/api/v1/webhooks/", {"url": url}, format="json")
        assert response.status_code == 400, url
        assert "url" in response.json()["error"]["fields"], url


def test_another_partners_endpoint_is_404_everywhere(acme: Hooked, globex: Hooked, acme_api: APIClient) -> None:
    theirs = globex.endpoint.pk
    assert acme_api.get(f"/api/v1/webhooks/{theirs}/").status_code == 404
    assert acme_api.delete(f"/api/v1/webhooks/{theirs}/").status_code == 404
    assert acme_api.get(f"/api/v1/webhooks/{theirs}/deliveries/").status_code == 404
    assert acme_api.post(f"/api/v1/webhooks/{theirs}/test/").status_code == 404
    assert acme_api.get(f"/api/v1/webhooks/{theirs}/").json()["error"]["code"] == "not_found"
    assert [e["id"] for e in acme_api.get("/api/v1/webhooks/").json()["results"]] == [acme.endpoint.pk]
    assert WebhookEndpoint.objects.get(pk=theirs).active
    assert globex.receiver.requests == []


def test_delete_disables_the_endpoint_and_hides_it(acme: Hooked, acme_api: APIClient) -> None:
    assert acme_api.delete(f"/api/v1/webhooks/{acme.endpoint.pk}/").status_code == 204
    assert acme_api.get(f"/api/v1/webhooks/{acme.endpoint.pk}/").status_code == 404
    assert acme_api.get("/api/v1/webhooks/").json()["count"] == 0
    acme.endpoint.refresh_from_db()
    assert not acme.endpoint.active and acme.endpoint.disabled_at is not None


def test_the_test_endpoint_sends_a_signed_ping_to_that_endpoint(
    acme: Hooked, acme_api: APIClient, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_api.post(f"/api/v1/webhooks/{acme.endpoint.pk}/test/")
    assert response.status_code == 202, response.json()
    assert response.json()["kind"] == "ping"
    [request] = acme.receiver.requests
    assert request.headers["Mutualaid-Event"] == "ping"
    assert verify(secret=acme.secret, header=request.headers["Mutualaid-Signature"], body=request.body)
    assert request.json()["data"] == {"endpoint": acme.endpoint.pk}


def test_it_lists_the_deliveries_with_every_attempt_in_a_fixed_number_of_queries(
    acme: Hooked, acme_api: APIClient, django_capture_on_commit_callbacks: Capture
) -> None:
    acme.receiver.statuses = [500]
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            acme_api.post(f"/api/v1/webhooks/{acme.endpoint.pk}/test/")
    with CaptureQueriesContext(connection) as queries:
        page = acme_api.get(f"/api/v1/webhooks/{acme.endpoint.pk}/deliveries/").json()
    assert page["count"] == 3
    newest_first = page["results"]
    assert [d["status"] for d in newest_first] == ["delivered", "delivered", "pending"]
    failed = newest_first[-1]
    assert failed["attempts"][0]["status_code"] == 500
    assert failed["attempts"][0]["next_retry_at"] is not None
    assert failed["event"] == str(WebhookDelivery.objects.get(pk=failed["id"]).event.event_id)
    # key, partner, throttle aside: the endpoint, the count, the page, its events' attempts
    assert len(queries) <= 7, [q["sql"][:80] for q in queries]


def test_the_api_needs_a_key(receiver: Receiver) -> None:
    assert APIClient().get("/api/v1/webhooks/").status_code == 401


def test_a_partner_may_register_at_most_ten_endpoints(acme_api: APIClient, receiver: Receiver) -> None:
    for _ in range(9):
        assert acme_api.post("/api/v1/webhooks/", {"url": receiver.url}, format="json").status_code == 201
    response = acme_api.post("/api/v1/webhooks/", {"url": receiver.url}, format="json")
    assert response.status_code == 400
    assert "url" in response.json()["error"]["fields"]


def test_the_schema_describes_the_webhooks_endpoints(db: Any) -> None:
    schema = APIClient().get("/api/schema/?format=json").json()
    assert {
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{endpoint_id}/",
        "/api/v1/webhooks/{endpoint_id}/deliveries/",
        "/api/v1/webhooks/{endpoint_id}/test/",
    } <= set(schema["paths"])


def test_no_event_is_created_for_a_partner_without_endpoints(db: Any, plan: Any) -> None:
    partner_create(name="quiet")
    assert not WebhookEvent.objects.exists()
