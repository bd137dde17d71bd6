"""The claims endpoints: file, attach documents, list, read with the timeline; a partner's own claims only."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims.models import Claim, ClaimDocument
from claims.services import MAX_DOCUMENT_BYTES
from tests.api.conftest import Caller, error_code
from tests.claims.conftest import PDF_BYTES, PNG_BYTES

CLAIM_FIELDS = {
    "id", "member", "kind", "condition", "diagnosed_on", "status", "rejection_reason", "payout", "period",
    "timeline", "hospital", "description", "filed_at", "documents",
}  # fmt: skip


@pytest.fixture
def claim(acme: Caller, claim_body: dict[str, Any]) -> dict[str, Any]:
    response = acme.post("/api/v1/claims/", claim_body)
    assert response.status_code == 201, response.json()
    filed: dict[str, Any] = response.json()
    return filed


def test_it_files_a_claim(acme: Caller, claim: dict[str, Any], claim_body: dict[str, Any]) -> None:
    assert set(claim) == CLAIM_FIELDS
    assert claim["member"] == claim_body["member"]
    assert claim["status"] == "submitted"
    assert claim["rejection_reason"] is None
    assert claim["payout"] is None
    assert claim["period"] is None
    assert [step["status"] for step in claim["timeline"]] == ["submitted"]
    assert claim["timeline"][0]["at"].endswith("+08:00")
    assert Claim.objects.get(pk=claim["id"]).filed_by is None


def test_it_refuses_a_claim_for_another_partners_member(globex: Caller, claim_body: dict[str, Any]) -> None:
    response = globex.post("/api/v1/claims/", claim_body)
    assert response.status_code == 400
    assert "member" in response.json()["error"]["fields"]
    assert not Claim.objects.exists()


def test_it_refuses_an_unknown_condition(acme: Caller, claim_body: dict[str, Any]) -> None:
    response = acme.post("/api/v1/claims/", {**claim_body, "condition": "ZZZ"})
    assert response.status_code == 400
    assert "condition" in response.json()["error"]["fields"]


def test_a_second_claim_in_progress_is_422(acme: Caller, claim: dict[str, Any], claim_body: dict[str, Any]) -> None:
    response = acme.post("/api/v1/claims/", claim_body)
    assert response.status_code == 422
    assert error_code(response) == "claim_not_allowed"


def test_it_reads_a_claim_with_its_timeline(acme: Caller, claim: dict[str, Any]) -> None:
    response = acme.get(f"/api/v1/claims/{claim['id']}/")
    assert response.status_code == 200
    assert response.json() == claim


def test_another_partners_claim_is_404(globex: Caller, claim: dict[str, Any]) -> None:
    assert error_code(globex.get(f"/api/v1/claims/{claim['id']}/")) == "not_found"
    upload = SimpleUploadedFile("report.pdf", PDF_BYTES)
    response = globex.client.post(f"/api/v1/claims/{claim['id']}/documents/", {"file": upload}, format="multipart")
    assert response.status_code == 404
    assert globex.get("/api/v1/claims/").json()["count"] == 0
    assert globex.get("/api/v1/claims/", {"member": claim["member"]}).json()["count"] == 0


def test_it_lists_claims_by_member_and_status(acme: Caller, claim: dict[str, Any]) -> None:
    assert acme.get("/api/v1/claims/", {"member": claim["member"]}).json()["count"] == 1
    assert acme.get("/api/v1/claims/", {"status": "submitted"}).json()["count"] == 1
    assert acme.get("/api/v1/claims/", {"status": "paid"}).json()["count"] == 0


def test_it_attaches_a_document(acme: Caller, claim: dict[str, Any]) -> None:
    upload = SimpleUploadedFile("report.pdf", PDF_BYTES)
    response = acme.client.post(f"/api/v1/claims/{claim['id']}/documents/", {"file": upload}, format="multipart")
    assert response.status_code == 201
    document = response.json()
    assert set(document) == {"id", "name", "size", "sha256"}
    assert document["size"] == len(PDF_BYTES)
    assert ClaimDocument.objects.get(pk=document["id"]).content_type == "application/pdf"
    assert acme.get(f"/api/v1/claims/{claim['id']}/").json()["documents"] == [document]


def test_a_document_that_is_not_pdf_jpeg_or_png_is_415(acme: Caller, claim: dict[str, Any]) -> None:
    upload = SimpleUploadedFile("report.pdf", b"just some text, not a PDF at all")
    response = acme.client.post(f"/api/v1/claims/{claim['id']}/documents/", {"file": upload}, format="multipart")
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"
    assert not ClaimDocument.objects.exists()


def test_a_document_over_10_mb_is_413(acme: Caller, claim: dict[str, Any]) -> None:
    upload = SimpleUploadedFile("scan.png", PNG_BYTES + b"\0" * (MAX_DOCUMENT_BYTES + 1 - len(PNG_BYTES)))
    response = acme.client.post(f"/api/v1/claims/{claim['id']}/documents/", {"file": upload}, format="multipart")
    assert response.status_code == 413
    assert error_code(response) == "file_too_large"


def test_a_request_without_a_file_is_400(acme: Caller, claim: dict[str, Any]) -> None:
    response = acme.client.post(f"/api/v1/claims/{claim['id']}/documents/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


def test_a_json_body_for_a_document_is_415(acme: Caller, claim: dict[str, Any]) -> None:
    response = acme.post(f"/api/v1/claims/{claim['id']}/documents/", {"file": "x"})
    assert response.status_code == 415


def test_a_claims_filter_sent_empty_is_400(acme: Caller) -> None:
    response = acme.get("/api/v1/claims/?status=")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"status"}


def test_a_number_where_the_schema_says_text_is_400(acme: Caller, claim_body: dict[str, Any]) -> None:
    response = acme.post("/api/v1/claims/", {**claim_body, "hospital": 12, "member": str(claim_body["member"])})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"hospital", "member"}
