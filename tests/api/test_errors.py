"""The one error shape: conflicts are 409 not 500, throttling is 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

from django.db import IntegrityError
from rest_framework.settings import api_settings

from members import bulk
from tests.api.conftest import Caller, error_code

Body = Callable[..., dict[str, Any]]


def test_a_database_conflict_is_409_never_500(acme: Caller, body: Body) -> None:
    with mock.patch.object(bulk, "membership_enrol", side_effect=IntegrityError("duplicate key")):
        response = acme.post("/api/v1/members/", body(1))
    assert response.status_code == 409
    assert error_code(response) == "conflict"


def test_too_many_requests_are_429_with_retry_after(acme: Caller, settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"partner": "2/minute"}}
    assert api_settings.DEFAULT_THROTTLE_RATES["partner"] == "2/minute"
    assert acme.get("/api/v1/plan/").status_code == 200
    assert acme.get("/api/v1/plan/").status_code == 200
    response = acme.get("/api/v1/plan/")
    assert response.status_code == 429
    assert error_code(response) == "throttled"
    assert int(response["Retry-After"]) > 0


def test_partners_are_throttled_separately(acme: Caller, globex: Caller, settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"partner": "1/minute"}}
    assert acme.get("/api/v1/plan/").status_code == 200
    assert globex.get("/api/v1/plan/").status_code == 200


def test_a_wrong_method_is_405_in_the_error_shape(acme: Caller) -> None:
    response = acme.client.delete("/api/v1/plan/")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
