"""Schemathesis against the served schema (/api/schema/), in-process through the WSGI app, as a partner.

Every operation gets generated requests, valid and invalid, and three checks: no 5xx, every response as
the schema describes it, and invalid input refused with a 4xx. The stateful run chains operations by the
links Schemathesis infers from the schema (enrol → read → exit, file a claim → read it, pay → read it).
Runs are small and derandomized, so the suite stays fast and gives the same cases each time.

The schema is fetched once, when the module is collected (it needs no database); the data each case can
find (a partner, its household, a settled period) is made per operation by the fixtures.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance

from members.models import Plan
from tests.api.conftest import Caller
from tests.api.money import partner_household
from tests.settlement.money import settle_period

CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection]
EXAMPLES = 20

CONFIG = schemathesis.Config.from_dict(
    {
        # The partner's key is sent with each call; generated Authorization headers would only test the 401.
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "with-security-parameters": False},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG).exclude(
    # Webhooks have their own run (tests/webhooks/test_schemathesis.py), with the endpoints they need set up.
    path_regex=r"^/api/v1/webhooks/"
)


@pytest.fixture
def auth(acme: Caller, plan: Plan, settings: Any, keep_the_test_connection: None) -> dict[str, str]:
    """Acme's key, no throttling in the way, and data for the generated requests to find."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"partner": "100000/minute"}}
    partner_household(plan, acme.partner, dependants=1)
    settle_period(plan)
    return {"Authorization": f"Api-Key {acme.key}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: schemathesis.Case, auth: dict[str, str]) -> None:
    case.call_and_validate(headers=auth, checks=CHECKS)


def test_chains_of_operations_answer_as_documented(auth: dict[str, str]) -> None:
    """Operations chained by the links inferred from the schema: a created or listed object's id is fed
    to the operations that take it (enrol → read → exit → charges, claim → read → documents, pay → read)."""

    answered: set[tuple[str, str, int]] = set()

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": auth}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            answered.add((case.method, case.path, response.status_code))
            case.validate_response(response, checks=CHECKS, headers=auth)

    Machine.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The chains reached real objects: an id from one answer was found by the next operation.
    assert any("{" in path and status == 200 for _method, path, status in answered), sorted(answered)
