"""Hostile uploads: bodies too large (refused before they are read), files too large (cut while they stream),
PDFs with scripts, web pages named .png, and files left behind by a transaction that rolled back.

Every request goes through the real middleware, upload handlers and pages; a body that must not be read
is a stream that fails the test when anything reads it.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from claims import pdf_scan
from claims.errors import UnsupportedDocument
from claims.models import Claim, ClaimDocument, CoveredCondition
from claims.services import MAX_DOCUMENT_BYTES, claim_document_add, claim_file
from members.models import Membership, Partner, Plan, User
from members.services import partner_create
from mutualaid.uploads import MAX_UPLOAD_REQUEST_BYTES

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\r\xefF\xb8\x00\x00\x00\x00IEND\xaeB`\x82"
)
# The parser reads ahead by at most a chunk (64 KB) and a boundary: past that, the rest was never read.
READ_AHEAD = 256 * 1024


# --- people, claims, partners ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files(settings: Any) -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


@pytest.fixture
def condition(plan: Plan) -> CoveredCondition:
    found = plan.conditions.order_by("code").first()
    assert found is not None
    return found


@pytest.fixture
def member(enrol: Callable[..., Membership], alice: User) -> Membership:
    return enrol(account=alice, on=timezone.localdate() - timedelta(days=200))


@pytest.fixture
def claim(member: Membership, condition: CoveredCondition, alice: User) -> Claim:
    return claim_file(
        member=member,
        by=alice,
        kind="accident",
        condition=condition,
        diagnosed_on=timezone.localdate() - timedelta(days=3),
        hospital="北京协和医院",
        description="A fall at work.",
    )


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(alice)
    return client


@pytest.fixture
def filing(member: Membership, condition: CoveredCondition) -> Callable[..., dict[str, Any]]:
    def _data(*documents: Any) -> dict[str, Any]:
        return {
            "member": member.pk,
            "kind": "accident",
            "condition": condition.pk,
            "diagnosed_on": (timezone.localdate() - timedelta(days=3)).isoformat(),
            "hospital": "北京协和医院",
            "description": "A fall at work.",
            "documents": list(documents),
        }

    return _data


@pytest.fixture
def partner_claim(plan: Plan, enrol: Callable[..., Membership], condition: CoveredCondition) -> tuple[APIClient, Claim]:
    """A claim of a member the partner enrolled, and that partner's API client."""
    partner, key = partner_create(name="acme")
    member = enrol(partner=partner, external_ref="p-1", on=timezone.localdate() - timedelta(days=200))
    claim = claim_file(
        member=member,
        by=None,
        kind="accident",
        condition=condition,
        diagnosed_on=timezone.localdate() - timedelta(days=3),
        hospital="北京协和医院",
        description="A fall at work.",
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert Partner.objects.filter(pk=partner.pk).exists()
    return api, claim


# --- request bodies the tests control -----------------------------------------------------------------------


class UnreadableBody:
    """A request body that fails the test as soon as anything reads it."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the request body was read")

    readline = read


class CountingBody:
    """A request body that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        line = self._stream.readline(size)
        self.bytes_read += len(line)
        return line


def send(client: Any, method: str, url: str, payload: bytes, body: Any, **environ: Any) -> Any:
    """A request whose WSGI body stream is `body` (the declared Content-Length is `payload`'s unless given)."""
    return client.generic(method, url, payload, **{"wsgi.input": body, **environ})


def post_unread(client: Any, url: str, *, length: int, content_type: str = MULTIPART_CONTENT) -> Any:
    """POST that declares `length` bytes and sends a body nobody may read."""
    return send(client, "POST", url, b"x", UnreadableBody(), content_type=content_type, CONTENT_LENGTH=str(length))


def post_chunked(client: Any, url: str, **environ: Any) -> Any:
    """POST sent in chunks: Transfer-Encoding chunked and no Content-Length, a body nobody may read."""
    return send(
        client,
        "POST",
        url,
        b"x",
        UnreadableBody(),
        content_type=MULTIPART_CONTENT,
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **environ,
    )


def post_counted(client: Any, url: str, data: dict[str, Any]) -> tuple[Any, CountingBody, int]:
    """POST `data` as multipart, the real Content-Length declared; returns the response, the body and its size."""
    payload = encode_multipart(BOUNDARY, data)
    body = CountingBody(payload)
    response = send(client, "POST", url, payload, body, content_type=MULTIPART_CONTENT)
    return response, body, len(payload)


def big_pdf(size: int, name: str = "scan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF + b"%" + b"x" * (size - len(PDF) - 1), content_type="application/pdf")


def documents_url(claim: Claim) -> str:
    return f"/api/v1/claims/{claim.pk}/documents/"


# --- a body over the limit is refused from its Content-Length, unread ---------------------------------------


def test_the_api_refuses_an_upload_over_the_request_limit_with_413_without_reading_it(
    partner_claim: tuple[APIClient, Claim],
) -> None:
    api, claim = partner_claim
    response = post_unread(api, documents_url(claim), length=MAX_UPLOAD_REQUEST_BYTES + 1)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "file_too_large"
    assert "50 MB" in error["message"]
    assert not ClaimDocument.objects.exists()


def test_the_api_refuses_a_json_body_over_2_5_mb_with_413_without_reading_it(
    partner_claim: tuple[APIClient, Claim],
) -> None:
    api, _claim = partner_claim
    response = post_unread(api, "/api/v1/members/bulk/", length=2_621_441, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_the_api_still_reads_a_json_body_at_the_limit(partner_claim: tuple[APIClient, Claim]) -> None:
    api, _claim = partner_claim
    body = b'{"members": []}' + b" " * (2_621_440 - 15)
    response = send(api, "POST", "/api/v1/members/bulk/", body, io.BytesIO(body), content_type="application/json")
    assert response.status_code == 400  # read and parsed: an empty list is not a bulk enrolment
    assert response.json()["error"]["code"] == "invalid"


def test_the_claim_form_sends_an_upload_over_the_limit_back_with_the_reason_without_reading_it(
    alice_client: Client, member: Membership
) -> None:
    url = reverse("claims:new")
    response = post_unread(alice_client, url, length=MAX_UPLOAD_REQUEST_BYTES + 1)
    assert (response.status_code, response["Location"]) == (303, url)
    page = alice_client.get(url)
    assert "These files are too large together" in page.content.decode()
    assert not Claim.objects.exists()


def test_the_claim_page_sends_documents_over_the_limit_back_with_the_reason_without_reading_them(
    alice_client: Client, claim: Claim
) -> None:
    url = reverse("claims:detail", args=[claim.pk])
    response = post_unread(alice_client, url, length=MAX_UPLOAD_REQUEST_BYTES + 1)
    assert (response.status_code, response["Location"]) == (303, url)
    assert "These files are too large together" in alice_client.get(url).content.decode()
    assert not ClaimDocument.objects.exists()


def test_a_form_body_over_2_5_mb_is_sent_back_unread_on_any_page(alice_client: Client) -> None:
    url = reverse("members:join")
    response = post_unread(alice_client, url, length=2_621_441, content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response["Location"]) == (303, url)


def test_a_get_with_a_huge_body_is_413_not_a_redirect_to_itself(alice_client: Client) -> None:
    response = send(alice_client, "GET", reverse("claims:list"), b"x", UnreadableBody(), CONTENT_LENGTH=str(10**9))
    assert response.status_code == 413


def test_an_upload_without_content_length_is_not_read_and_the_form_asks_for_the_file(
    alice_client: Client, filing: Callable[..., dict[str, Any]]
) -> None:
    # A chunked body declares no length; Django limits the stream to the declared length, zero.
    url = reverse("claims:new")
    response = send(
        alice_client, "POST", url, b"x", UnreadableBody(), content_type=MULTIPART_CONTENT, CONTENT_LENGTH=""
    )
    assert response.status_code == 200
    assert "documents" in response.context["form"].errors
    assert not Claim.objects.exists()


# --- one file over 10 MB is cut while it streams in ---------------------------------------------------------


def test_the_claim_form_stops_reading_at_a_file_over_10_mb_and_says_which(
    alice_client: Client, filing: Callable[..., dict[str, Any]], settings: Any
) -> None:
    data = filing(SimpleUploadedFile("a.png", PNG), big_pdf(12 * 1024 * 1024, "大.pdf"), big_pdf(1024))
    response, body, size = post_counted(alice_client, reverse("claims:new"), data)
    assert size < MAX_UPLOAD_REQUEST_BYTES  # the request limit lets it through: the handler must cut it
    assert body.bytes_read < MAX_DOCUMENT_BYTES + READ_AHEAD
    assert response.status_code == 200
    assert response.context["form"].errors["documents"] == [
        "大.pdf: A document can be at most 10 MB; make it smaller (for example a lower-resolution photo)."
    ]
    assert response.context["form"]["hospital"].value() == "北京协和医院"  # the fields before the file are kept
    assert not Claim.objects.exists()
    assert stored_files(settings) == []


def test_the_claim_page_refuses_a_file_of_10_mb_and_one_byte(alice_client: Client, claim: Claim, settings: Any) -> None:
    data = {"documents": [big_pdf(MAX_DOCUMENT_BYTES + 1)]}
    response, _body, _size = post_counted(alice_client, reverse("claims:detail", args=[claim.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors["documents"][0].startswith("scan.pdf: A document can be at most 10 MB")
    assert not ClaimDocument.objects.exists()
    assert stored_files(settings) == []


def test_the_api_stops_reading_at_a_file_over_10_mb_and_answers_413(partner_claim: tuple[APIClient, Claim]) -> None:
    api, claim = partner_claim
    response, body, size = post_counted(api, documents_url(claim), {"file": big_pdf(11 * 1024 * 1024)})
    assert body.bytes_read < MAX_DOCUMENT_BYTES + READ_AHEAD < size
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("file_too_large", ["file"])
    assert not ClaimDocument.objects.exists()


def test_the_api_accepts_a_file_of_exactly_10_mb(partner_claim: tuple[APIClient, Claim]) -> None:
    api, claim = partner_claim
    response, body, size = post_counted(api, documents_url(claim), {"file": big_pdf(MAX_DOCUMENT_BYTES)})
    assert response.status_code == 201, response.json()
    assert response.json()["size"] == MAX_DOCUMENT_BYTES
    assert body.bytes_read == size


# --- PDFs that do something rather than show something ------------------------------------------------------


def pdf(*objects: bytes, trailer: bytes = b"<< /Root 1 0 R >>") -> bytes:
    body = b"".join(b"%d 0 obj\n%s\nendobj\n" % (number, content) for number, content in enumerate(objects, 1))
    return b"%PDF-1.7\n" + body + b"trailer\n" + trailer + b"\n%%EOF\n"


def stream(dictionary: bytes, data: bytes) -> bytes:
    return dictionary[:-2] + b"/Length %d >>\nstream\n%s\nendstream" % (len(data), data)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>"
PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"
SCRIPT_PDF = pdf(CATALOG, PAGES, b"<< /S /JavaScript /JS (app.alert\\('hello'\\)) >>")


def refusal_of(content: bytes, claim: Claim, alice: User, name: str = "report.pdf") -> str:
    """The refusal's message, in English (the messages are written when the refusal is raised)."""
    with translation.override("en"), pytest.raises(UnsupportedDocument) as refused:
        claim_document_add(claim=claim, upload=SimpleUploadedFile(name, content), by=alice)
    assert not ClaimDocument.objects.exists()
    return str(refused.value.message)


def test_a_pdf_that_runs_javascript_when_opened_is_refused(claim: Claim, alice: User) -> None:
    message = refusal_of(SCRIPT_PDF, claim, alice)
    assert "script (JavaScript)" in message
    assert "Save as PDF" in message


def test_a_script_written_with_escaped_names_is_refused(claim: Claim, alice: User) -> None:
    disguised = pdf(CATALOG, PAGES, b"<< /S /J#61va#53cript /J#53 (app.alert\\(1\\)) >>")
    assert "JavaScript" in refusal_of(disguised, claim, alice)


def test_a_pdf_that_launches_a_program_is_refused(claim: Claim, alice: User) -> None:
    launcher = pdf(CATALOG, PAGES, b"<< /S /Launch /Win << /F (cmd.exe) /P (/c calc) >> >>")
    assert "starts a program" in refusal_of(launcher, claim, alice)


def test_a_pdf_with_embedded_files_is_refused(claim: Claim, alice: User) -> None:
    carrier = pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>",
        PAGES,
        b"<< /Names [(invoice.exe) 4 0 R] >>",
        stream(b"<< /Type /EmbeddedFile >>", b"MZ\x90\x00"),
    )
    assert "files hidden inside it" in refusal_of(carrier, claim, alice)


def test_a_script_hidden_in_a_compressed_object_stream_is_refused(claim: Claim, alice: User) -> None:
    hidden = zlib.compress(b"3 0 << /S /JavaScript /JS (app.alert\\(1\\)) >>")
    packed = pdf(CATALOG, PAGES, stream(b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>", hidden))
    assert b"JavaScript" not in packed  # invisible to a scan of the raw bytes
    assert "JavaScript" in refusal_of(packed, claim, alice)


def test_an_encrypted_pdf_with_object_streams_cannot_be_checked_and_is_refused(claim: Claim, alice: User) -> None:
    sealed = pdf(
        CATALOG,
        PAGES,
        stream(b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>", b"\x8f\x11encrypted bytes"),
        trailer=b"<< /Root 1 0 R /Encrypt 5 0 R >>",
    )
    assert "cannot be checked" in refusal_of(sealed, claim, alice)


def test_an_object_stream_in_an_unusual_filter_cannot_be_checked_and_is_refused(claim: Claim, alice: User) -> None:
    hexed = pdf(CATALOG, PAGES, stream(b"<< /Type /ObjStm /N 1 /First 4 /Filter /ASCIIHexDecode >>", b"2f4a53>"))
    assert "cannot be checked" in refusal_of(hexed, claim, alice)


def test_an_object_stream_that_expands_without_end_is_refused(
    claim: Claim, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_scan, "MAX_EXPANDED_BYTES", 1024 * 1024)
    bomb = zlib.compress(b" " * (2 * 1024 * 1024))
    packed = pdf(CATALOG, PAGES, stream(b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>", bomb))
    assert "cannot be checked" in refusal_of(packed, claim, alice)


def test_a_pdf_that_opens_at_a_page_is_accepted(claim: Claim, alice: User) -> None:
    plain = pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /FitH null] >>", PAGES, b"<< /Type /Page >>")
    document = claim_document_add(claim=claim, upload=SimpleUploadedFile("report.pdf", plain), by=alice)
    assert document.content_type == "application/pdf"


def test_image_bytes_that_look_like_a_script_name_are_not_mistaken_for_one(claim: Claim, alice: User) -> None:
    noisy = pdf(CATALOG[:-20] + b">>", PAGES, stream(b"<< /Type /XObject /Subtype /Image >>", b"\x00/JS \xff/Launch\n"))
    document = claim_document_add(claim=claim, upload=SimpleUploadedFile("scan.pdf", noisy), by=alice)
    assert document.content_type == "application/pdf"


def test_a_compressed_object_stream_without_scripts_is_accepted(claim: Claim, alice: User) -> None:
    packed = zlib.compress(b"3 0 << /Type /Page /Parent 2 0 R >>")
    object_stream = stream(b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>", packed)
    modern = pdf(CATALOG[:-20] + b">>", PAGES, object_stream)
    assert claim_document_add(claim=claim, upload=SimpleUploadedFile("scan.pdf", modern), by=alice).pk


def test_the_claim_page_names_the_pdf_with_a_script(alice_client: Client, claim: Claim) -> None:
    upload = SimpleUploadedFile("诊断.pdf", SCRIPT_PDF, content_type="application/pdf")
    response = alice_client.post(reverse("claims:detail", args=[claim.pk]), {"documents": [upload]})
    assert response.status_code == 200
    [error] = response.context["form"].errors["documents"]
    assert error.startswith("诊断.pdf: This PDF contains a script (JavaScript)")
    assert not ClaimDocument.objects.exists()


def test_the_api_answers_415_to_a_pdf_with_a_script(partner_claim: tuple[APIClient, Claim]) -> None:
    api, claim = partner_claim
    upload = SimpleUploadedFile("report.pdf", SCRIPT_PDF)
    response = api.post(documents_url(claim), {"file": upload}, format="multipart")
    assert response.status_code == 415
    assert "JavaScript" in response.json()["error"]["message"]


# --- web pages under an image's name --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    ],
    ids=["html", "svg-with-xml-declaration", "svg"],
)
def test_a_web_page_named_png_is_refused_on_the_claim_page(alice_client: Client, claim: Claim, page: bytes) -> None:
    upload = SimpleUploadedFile("scan.png", page, content_type="image/png")
    response = alice_client.post(reverse("claims:detail", args=[claim.pk]), {"documents": [upload]})
    assert response.status_code == 200
    [error] = response.context["form"].errors["documents"]
    assert error == "scan.png: Only PDF, JPEG and PNG files can be attached; this file is none of them."
    assert not ClaimDocument.objects.exists()


def test_a_png_with_a_web_page_appended_is_served_only_as_a_download(
    alice_client: Client, claim: Claim, alice: User, admin_user: User
) -> None:
    # A polyglot passes the content check (it is a PNG); it must still never be rendered as a page.
    polyglot = PNG + b"<html><script>alert(document.cookie)</script></html>"
    document = claim_document_add(claim=claim, upload=SimpleUploadedFile("x.png", polyglot), by=alice)
    staff = Client()
    staff.force_login(admin_user)
    for client, url in [
        (alice_client, reverse("claims:document", args=[document.pk])),
        (staff, reverse("admin:claims_claim_document", args=[claim.pk, document.pk])),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "sandbox"


# --- a transaction that rolls back leaves no file behind ------------------------------------------------------


def test_a_document_whose_transaction_rolls_back_leaves_no_file(claim: Claim, alice: User, settings: Any) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        document = claim_document_add(claim=claim, upload=SimpleUploadedFile("a.pdf", PDF), by=alice)
        assert Path(document.file.path).is_file()
        raise RuntimeError("something after the document failed")
    assert stored_files(settings) == []


def test_a_document_whose_own_row_fails_leaves_no_file(
    claim: Claim, alice: User, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(ClaimDocument, "save", full_disk)
    with pytest.raises(OSError, match="no space"):
        claim_document_add(claim=claim, upload=SimpleUploadedFile("a.pdf", PDF), by=alice)
    assert stored_files(settings) == []


def test_the_claim_form_leaves_no_file_when_a_later_document_fails(
    alice_client: Client, filing: Callable[..., dict[str, Any]], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def second_fails(**kwargs: Any) -> ClaimDocument:
        calls.append(1)
        if len(calls) == 2:
            raise UnsupportedDocument()
        return claim_document_add(**kwargs)

    monkeypatch.setattr("claims.views.claim_document_add", second_fails)
    data = filing(SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("b.png", PNG))
    response = alice_client.post(reverse("claims:new"), data)
    assert response.status_code == 200
    assert len(calls) == 2
    assert not Claim.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.django_db(transaction=True)
def test_a_committed_document_keeps_its_file_and_a_rolled_back_one_does_not(
    plan: Plan, enrol: Callable[..., Membership], alice: User, condition: CoveredCondition, settings: Any
) -> None:
    member = enrol(account=alice, on=timezone.localdate() - timedelta(days=200))
    claim = claim_file(
        member=member,
        by=alice,
        kind="accident",
        condition=condition,
        diagnosed_on=timezone.localdate() - timedelta(days=3),
        hospital="北京协和医院",
        description="A fall at work.",
    )
    kept = claim_document_add(claim=claim, upload=SimpleUploadedFile("kept.pdf", PDF), by=alice)
    with pytest.raises(RuntimeError), transaction.atomic():
        claim_document_add(claim=claim, upload=SimpleUploadedFile("lost.pdf", PDF), by=alice)
        raise RuntimeError
    assert stored_files(settings) == [Path(kept.file.path)]
    assert list(ClaimDocument.objects.values_list("name", flat=True)) == ["kept.pdf"]


# --- a body without Content-Length (chunked) is refused, not read as empty ------------------------------------


def test_the_api_refuses_a_chunked_upload_with_411_instead_of_reading_it_as_empty(
    partner_claim: tuple[APIClient, Claim],
) -> None:
    api, claim = partner_claim
    response = post_chunked(api, documents_url(claim))
    assert response.status_code == 411
    error = response.json()["error"]
    assert error["code"] == "length_required" and "Content-Length" in error["message"]
    assert response["Connection"] == "close"
    assert not ClaimDocument.objects.exists()


def test_a_page_refuses_a_chunked_post_with_411(alice_client: Client, claim: Claim) -> None:
    response = post_chunked(alice_client, reverse("claims:detail", args=[claim.pk]))
    assert response.status_code == 411
    assert "Content-Length" in response.content.decode()


def test_the_development_server_gets_the_refusals_without_a_connection_header(
    partner_claim: tuple[APIClient, Claim],
) -> None:
    """wsgiref (runserver) refuses a hop-by-hop header from the application with a 500 of its own, and
    closes the connection by itself: the 411 and 413 reach it without `Connection: close`."""
    api, claim = partner_claim
    dev = {"SERVER_SOFTWARE": "WSGIServer/0.2"}
    chunked = post_chunked(api, documents_url(claim), **dev)
    too_large = send(
        api,
        "POST",
        documents_url(claim),
        b"x",
        UnreadableBody(),
        content_type=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(MAX_UPLOAD_REQUEST_BYTES + 1),
        **dev,
    )
    assert (chunked.status_code, too_large.status_code) == (411, 413)
    assert not chunked.has_header("Connection") and not too_large.has_header("Connection")
