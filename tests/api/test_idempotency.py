"""Idempotency-Key: the same key and body replay the first answer; the same key with another body is 409."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from claims.models import Claim
from members.models import IdempotencyKey, Membership
from tests.api.conftest import Caller, error_code
from tests.concurrency import at_once

Body = Callable[..., dict[str, Any]]


def test_the_same_key_and_body_replay_the_first_response(acme: Caller, body: Body) -> None:
    first = acme.post("/api/v1/members/", body(1), HTTP_IDEMPOTENCY_KEY="k-1")
    again = acme.post("/api/v1/members/", body(1), HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Membership.objects.count() == 1


def test_key_order_and_spacing_of_the_body_do_not_matter(acme: Caller, body: Body) -> None:
    import json

    data = body(1)
    acme.post("/api/v1/members/", data, HTTP_IDEMPOTENCY_KEY="k-1")
    reordered = json.dumps(dict(reversed(list(data.items()))), indent=2)
    again = acme.client.post("/api/v1/members/", reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert Membership.objects.count() == 1


def test_the_same_key_with_another_body_is_409(acme: Caller, body: Body) -> None:
    acme.post("/api/v1/members/", body(1), HTTP_IDEMPOTENCY_KEY="k-1")
    response = acme.post("/api/v1/members/", body(2), HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 409
    assert error_code(response) == "idempotency_conflict"
    assert Membership.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_409(acme: Caller, body: Body) -> None:
    acme.post("/api/v1/members/", body(1), HTTP_IDEMPOTENCY_KEY="k-1")
    response = acme.post("/api/v1/members/bulk/", {"members": [body(1)]}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert error_code(response) == "idempotency_conflict"


def test_keys_belong_to_one_partner(acme: Caller, globex: Caller, body: Body) -> None:
    acme.post("/api/v1/members/", body(1), HTTP_IDEMPOTENCY_KEY="k-1")
    response = globex.post("/api/v1/members/", body(2), HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201


def test_a_failed_request_keeps_no_key_and_may_be_corrected(acme: Caller, body: Body) -> None:
    refused = acme.post("/api/v1/members/", body(1, credit_score=600), HTTP_IDEMPOTENCY_KEY="k-1")
    assert refused.status_code == 422
    assert not IdempotencyKey.objects.exists()
    assert acme.post("/api/v1/members/", body(1), HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201


def test_without_a_key_a_repeat_is_a_new_request(acme: Caller, body: Body) -> None:
    acme.post("/api/v1/members/", body(1))
    assert error_code(acme.post("/api/v1/members/", body(1))) == "already_enrolled"


def test_bulk_replays_its_results(acme: Caller, body: Body) -> None:
    data = {"members": [body(1), body(2)]}
    first = acme.post("/api/v1/members/bulk/", data, HTTP_IDEMPOTENCY_KEY="b-1")
    again = acme.post("/api/v1/members/bulk/", data, HTTP_IDEMPOTENCY_KEY="b-1")
    assert again.json() == first.json()
    assert Membership.objects.count() == 2


def test_claims_replay_too(acme: Caller, enrolled: dict[str, Any], claim_body: dict[str, Any]) -> None:
    first = acme.post("/api/v1/claims/", claim_body, HTTP_IDEMPOTENCY_KEY="c-1")
    again = acme.post("/api/v1/claims/", claim_body, HTTP_IDEMPOTENCY_KEY="c-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Claim.objects.count() == 1


def test_a_key_longer_than_255_characters_is_400(acme: Caller, body: Body) -> None:
    response = acme.post("/api/v1/members/", body(1), HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]


def test_a_key_with_a_control_character_is_400(acme: Caller, body: Body) -> None:
    response = acme.post("/api/v1/members/", body(1), HTTP_IDEMPOTENCY_KEY="a\x00b")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_twenty_identical_requests_at_once_create_one_member(acme: Caller, body: Body) -> None:
    data = body(1)

    def send() -> tuple[int, Any, str | None]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {acme.key}")
        response = client.post("/api/v1/members/", data, format="json", HTTP_IDEMPOTENCY_KEY="race")
        return response.status_code, response.json(), response.get("Idempotent-Replayed")

    results = at_once(*[send] * 20, timeout=60)
    assert {status for status, _, _ in results} == {201}, results
    assert len({answer["id"] for _, answer, _ in results}) == 1
    assert sorted(replayed or "" for _, _, replayed in results) == [""] + ["true"] * 19
    assert Membership.objects.count() == 1
