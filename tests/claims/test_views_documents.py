"""Downloading a claim's document: the household and staff only, always as a download, never inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimDocument
from claims.services import claim_document_add
from members.models import Membership, User
from tests.claims.conftest import PDF_BYTES

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(claim: Claim, pdf_upload: Any) -> ClaimDocument:
    return claim_document_add(claim=claim, upload=pdf_upload, by=claim.filed_by)


def _url(document: ClaimDocument) -> str:
    return reverse("claims:document", args=[document.pk])


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_it_gives_the_owner_the_file_as_an_attachment(client: Client, alice: User, document: ClaimDocument) -> None:
    client.force_login(alice)
    response = client.get(_url(document))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert _body(response) == PDF_BYTES


def test_it_keeps_the_original_file_name_for_the_download(client: Client, alice: User, document: ClaimDocument) -> None:
    client.force_login(alice)
    disposition = client.get(_url(document))["Content-Disposition"]
    assert "filename*=utf-8''%E8%AF%8A%E6%96%AD%E8%AF%81%E6%98%8E.pdf" in disposition


def test_it_forbids_the_browser_to_sniff_or_run_the_file(client: Client, alice: User, document: ClaimDocument) -> None:
    client.force_login(alice)
    response = client.get(_url(document))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"


def test_it_keeps_the_file_out_of_shared_caches(client: Client, alice: User, document: ClaimDocument) -> None:
    client.force_login(alice)
    assert "private" in client.get(_url(document))["Cache-Control"]


def test_it_gives_the_payer_a_family_members_document(
    client: Client,
    alice: User,
    member: Membership,
    enrol: Callable[..., Membership],
    file_claim: Callable[..., Claim],
    png_upload: Any,
) -> None:
    child = enrol(name="李小宝", payer=member, relationship="child")
    document = claim_document_add(claim=file_claim(child, kind="accident"), upload=png_upload, by=alice)
    client.force_login(alice)
    assert client.get(_url(document)).status_code == 200


def test_it_answers_404_to_another_household(client: Client, charlie: User, document: ClaimDocument) -> None:
    client.force_login(charlie)
    assert client.get(_url(document)).status_code == 404


def test_it_sends_an_anonymous_visitor_to_log_in(client: Client, document: ClaimDocument) -> None:
    response = client.get(_url(document))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("members:login"))


def test_it_gives_staff_every_document(client: Client, admin_user: User, document: ClaimDocument) -> None:
    client.force_login(admin_user)
    response = client.get(_url(document))
    assert response.status_code == 200
    assert _body(response) == PDF_BYTES


def test_it_answers_404_for_a_document_that_does_not_exist(client: Client, alice: User) -> None:
    client.force_login(alice)
    assert client.get(reverse("claims:document", args=[999_999])).status_code == 404


def test_it_answers_404_when_the_stored_file_is_missing(client: Client, alice: User, document: ClaimDocument) -> None:
    document.file.delete(save=False)
    client.force_login(alice)
    assert client.get(_url(document)).status_code == 404
