"""The OpenAPI schema and the interactive docs, served without a key and without outside network."""

from __future__ import annotations

from typing import Any

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
