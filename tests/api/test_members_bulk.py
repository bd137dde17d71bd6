"""POST /api/v1/members/bulk/: each item succeeds or fails alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from members.models import Membership
from tests.api.conftest import Caller, error_code

Body = Callable[..., dict[str, Any]]


def test_each_item_succeeds_or_fails_alone(acme: Caller, body: Body) -> None:
    items = [
        body(1),
        body(2, id_number="123"),
        body(3, birth_date=date(1950, 1, 1)),
        "not an object",
        body(4),
        body(1, external_ref="p-again"),
    ]
    response = acme.post("/api/v1/members/bulk/", {"members": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4, 5]
    assert [r["status"] for r in results] == [201, 400, 422, 400, 201, 422]
    assert results[0]["member"]["external_ref"] == "p-1"
    assert "id_number" in results[1]["error"]["fields"]
    assert results[2]["error"]["code"] == "age_out_of_range"
    assert results[5]["error"]["code"] == "already_enrolled"
    assert Membership.objects.filter(partner=acme.partner).count() == 2


def test_it_refuses_more_than_1000_items(acme: Caller, body: Body) -> None:
    response = acme.post("/api/v1/members/bulk/", {"members": [body(1)] * 1001})
    assert response.status_code == 400
    assert "members" in response.json()["error"]["fields"]
    assert not Membership.objects.exists()


def test_it_refuses_an_empty_list(acme: Caller) -> None:
    response = acme.post("/api/v1/members/bulk/", {"members": []})
    assert response.status_code == 400
    assert error_code(response) == "invalid"
