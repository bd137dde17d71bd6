"""The OpenAPI schema and the interactive docs, served without a key and without outside network."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.test import Client
from drf_spectacular.validation import validate_schema

PATHS = {
    "/api/v1/plan/",
    "/api/v1/members/",
    "/api/v1/members/bulk/",
    "/api/v1/members/{member_id}/",
    "/api/v1/members/{member_id}/exit/",
    "/api/v1/claims/",
    "/api/v1/claims/{claim_id}/",
    "/api/v1/claims/{claim_id}/documents/",
    "/api/v1/periods/",
    "/api/v1/periods/{period_id}/",
    "/api/v1/members/{member_id}/charges/",
    "/api/v1/payments/",
    "/api/v1/payments/{payment_id}/",
}


def schema(client: Client) -> dict[str, Any]:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    loaded: dict[str, Any] = yaml.safe_load(response.content)
    return loaded


def test_the_schema_is_valid_openapi_with_every_path(client: Client, db: Any) -> None:
    document = schema(client)
    validate_schema(document)
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= PATHS


def test_the_schema_describes_the_key_and_the_error_shape(client: Client, db: Any) -> None:
    document = schema(client)
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": document["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    enrol = document["paths"]["/api/v1/members/"]["post"]
    assert {"201", "400", "401", "409", "422", "429"} <= set(enrol["responses"])
    assert enrol["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert any(p["name"] == "Idempotency-Key" for p in enrol["parameters"])
    documents = document["paths"]["/api/v1/claims/{claim_id}/documents/"]["post"]
    assert {"413", "415"} <= set(documents["responses"])
    assert "multipart/form-data" in documents["requestBody"]["content"]


def test_the_docs_page_uses_the_bundled_assets(client: Client, db: Any) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn" not in page.lower()


def component(document: dict[str, Any], ref: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return found


def json_schema(operation: dict[str, Any], status: str) -> dict[str, Any]:
    found: dict[str, Any] = operation["responses"][status]["content"]["application/json"]["schema"]
    return found


@pytest.mark.parametrize(
    ("path", "item"),
    [
        ("/api/v1/members/", "Member"),
        ("/api/v1/claims/", "Claim"),
        ("/api/v1/periods/", "Period"),
        ("/api/v1/members/{member_id}/charges/", "Charge"),
        ("/api/v1/payments/", "Payment"),
    ],
)
def test_every_list_is_described_as_the_page_it_answers_with(client: Client, db: Any, path: str, item: str) -> None:
    document = schema(client)
    operation = document["paths"][path]["get"]
    page = component(document, json_schema(operation, "200")["$ref"])
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    assert page["properties"]["results"]["items"]["$ref"].endswith(f"/{item}")
    assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}
    assert "404" in operation["responses"]  # a page past the last


def test_periods_are_described_with_their_figures_and_anonymised_claims(client: Client, db: Any) -> None:
    document = schema(client)
    period = component(document, json_schema(document["paths"]["/api/v1/periods/{period_id}/"]["get"], "200")["$ref"])
    assert set(period["properties"]) >= {
        "id", "notice_date", "charge_date", "status", "sharers", "claims", "payouts_total", "fee_total", "total",
        "per_member", "operator_subsidy",
    }  # fmt: skip
    assert component(document, period["properties"]["status"]["$ref"])["enum"] == [
        "open",
        "in_notice",
        "settling",
        "settled",
    ]
    claim = component(document, period["properties"]["claims"]["items"]["$ref"])
    assert set(claim["properties"]) >= {"masked_name", "age", "sex", "condition", "payout"}
    assert "404" in document["paths"]["/api/v1/periods/{period_id}/"]["get"]["responses"]


def test_payments_are_described_with_each_answer(client: Client, db: Any) -> None:
    document = schema(client)
    record = document["paths"]["/api/v1/payments/"]["post"]
    assert {"200", "201", "400", "401", "404", "409", "429"} <= set(record["responses"])
    assert "payment_reference_conflict" in record["responses"]["409"]["description"]
    assert any(p["name"] == "Idempotency-Key" for p in record["parameters"])
    body = component(document, record["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert set(body["required"]) == {"payer", "amount", "reference"}
    assert body["properties"]["amount"]["type"] == "string"
    assert "pattern" in body["properties"]["amount"]
    charges = document["paths"]["/api/v1/members/{member_id}/charges/"]["get"]
    assert "404" in charges["responses"]


def test_the_member_balance_is_nullable_money(client: Client, db: Any) -> None:
    document = schema(client)
    balance = component(document, "Member")["properties"]["balance"]
    assert balance["allOf"][0]["$ref"].endswith("/Money") or balance.get("$ref", "").endswith("/Money")
    assert balance.get("nullable") is True
