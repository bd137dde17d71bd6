"""Paths under /api/ that name no endpoint, and wrong methods: JSON in the one error shape, never HTML."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.conftest import Caller, error_code


@pytest.mark.parametrize(
    "path", ["/api/", "/api/v1/", "/api/v1/nothing/", "/api/v2/members/", "/api/v1/members/abc/", "/api/v1/periods/x/"]
)
def test_an_unknown_path_is_a_json_404(acme: Caller, path: str) -> None:
    response = acme.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert error_code(response) == "not_found"
    assert "/api/docs/" in response.json()["error"]["message"]


def test_it_needs_no_key_to_say_so(client: Client, db: None) -> None:
    response = client.get("/api/v1/nothing/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_any_method_gets_the_same_answer_without_a_csrf_refusal(client: Client, db: None, method: str) -> None:
    response = getattr(client, method)("/api/v1/nothing/", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_a_missing_final_slash_is_named_rather_than_redirected(acme: Caller) -> None:
    response = acme.post("/api/v1/members", {})
    assert response.status_code == 404
    assert "/api/v1/members/" in response.json()["error"]["message"]


def test_pages_outside_the_api_keep_the_sites_404(client: Client, db: None) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/plan/"),
        ("put", "/api/v1/members/"),
        ("delete", "/api/v1/periods/"),
        ("post", "/api/v1/periods/1/"),
        ("patch", "/api/v1/payments/"),
        ("post", "/api/v1/members/1/charges/"),
    ],
)
def test_a_wrong_method_is_a_json_405(acme: Caller, method: str, path: str) -> None:
    response = getattr(acme.client, method)(path)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert error_code(response) == "method_not_allowed"
