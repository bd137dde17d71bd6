"""Schemathesis against the served schema, for the webhooks operations only (the API suite runs the rest):
no 5xx, every answer as documented, invalid input refused with a 4xx. Partner acme has an endpoint, so
generated ids can find one; nothing is sent, because a test's transaction never commits."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance

from members.services import partner_key_create
from tests.webhooks.conftest import Hooked

CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection]
EXAMPLES = 20

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    get_wsgi_application(),
    config=schemathesis.Config.from_dict(
        {"generation": {"max-examples": EXAMPLES, "deterministic": True, "with-security-parameters": False}}
    ),
).include(path_regex=r"^/api/v1/webhooks/")


@pytest.fixture
def auth(acme: Hooked, settings: Any, keep_the_test_connection: None) -> dict[str, str]:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"partner": "100000/minute"}}
    return {"Authorization": f"Api-Key {partner_key_create(partner=acme.partner)}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_webhooks_operation_answers_as_documented(case: schemathesis.Case, auth: dict[str, str]) -> None:
    case.call_and_validate(headers=auth, checks=CHECKS)
