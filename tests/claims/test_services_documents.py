"""Documents: PDF, JPEG or PNG by their content, at most 10 MB, stored under a name of our own."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims.errors import DocumentTooLarge, UnsupportedDocument
from claims.models import Claim, ClaimDocument
from claims.services import claim_document_add
from members.models import User

pytestmark = pytest.mark.django_db

TEN_MB = 10 * 1024 * 1024
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def png() -> bytes:
    """A real 1×1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


def pdf_of_size(size: int) -> bytes:
    """A PDF with a valid header, padded with a comment to exactly `size` bytes."""
    return PDF + b"%" + b"x" * (size - len(PDF) - 1)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_it_accepts_a_pdf_and_records_its_name_size_and_checksum(claim: Claim, alice: User) -> None:
    document = claim_document_add(claim=claim, upload=upload("诊断证明.pdf", PDF), by=alice)
    assert (document.name, document.size, document.sha256, document.content_type, document.uploaded_by) == (
        "诊断证明.pdf",
        len(PDF),
        hashlib.sha256(PDF).hexdigest(),
        "application/pdf",
        alice,
    )


def test_it_accepts_a_jpeg(claim: Claim, alice: User) -> None:
    document = claim_document_add(claim=claim, upload=upload("photo.jpg", JPEG), by=alice)
    assert (document.content_type, document.size) == ("image/jpeg", len(JPEG))


def test_it_accepts_a_png(claim: Claim, alice: User) -> None:
    document = claim_document_add(claim=claim, upload=upload("scan.png", png()), by=alice)
    assert (document.content_type, document.sha256) == ("image/png", hashlib.sha256(png()).hexdigest())


def test_it_reads_the_type_from_the_content_not_the_name(claim: Claim, alice: User) -> None:
    document = claim_document_add(claim=claim, upload=upload("report.txt", PDF, "text/plain"), by=alice)
    assert document.content_type == "application/pdf"
    assert document.file.name.endswith(".pdf")


def test_it_stores_the_file_under_a_name_of_its_own(claim: Claim, alice: User) -> None:
    document = claim_document_add(claim=claim, upload=upload("张三 诊断证明.pdf", PDF), by=alice)
    stored = Path(document.file.name)
    assert stored.name != "张三 诊断证明.pdf"
    assert "张三" not in document.file.name
    assert stored.suffix == ".pdf"
    assert Path(document.file.path).read_bytes() == PDF


def test_it_refuses_a_text_file_named_pdf(claim: Claim, alice: User) -> None:
    with pytest.raises(UnsupportedDocument) as refused:
        claim_document_add(claim=claim, upload=upload("report.pdf", b"Just some text.\n", "application/pdf"), by=alice)
    assert refused.value.field == "file"
    assert not ClaimDocument.objects.exists()


def test_it_refuses_an_html_file_named_png(claim: Claim, alice: User) -> None:
    page = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    with pytest.raises(UnsupportedDocument):
        claim_document_add(claim=claim, upload=upload("scan.png", page, "image/png"), by=alice)
    assert not ClaimDocument.objects.exists()


def test_it_refuses_an_empty_file(claim: Claim, alice: User) -> None:
    with pytest.raises(UnsupportedDocument):
        claim_document_add(claim=claim, upload=upload("empty.pdf", b""), by=alice)
    assert not ClaimDocument.objects.exists()


def test_it_refuses_a_file_one_byte_over_10_mb(claim: Claim, alice: User, tmp_path: Path) -> None:
    with pytest.raises(DocumentTooLarge) as refused:
        claim_document_add(claim=claim, upload=upload("big.pdf", pdf_of_size(TEN_MB + 1)), by=alice)
    assert refused.value.field == "file"
    assert not ClaimDocument.objects.exists()
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_it_accepts_a_file_of_exactly_10_mb(claim: Claim, alice: User) -> None:
    document = claim_document_add(claim=claim, upload=upload("big.pdf", pdf_of_size(TEN_MB)), by=alice)
    assert (document.size, document.file.size) == (TEN_MB, TEN_MB)


def test_it_keeps_several_documents_per_claim(claim: Claim, alice: User) -> None:
    claim_document_add(claim=claim, upload=upload("a.pdf", PDF), by=alice)
    claim_document_add(claim=claim, upload=upload("b.png", png()), by=alice)
    assert list(claim.documents.values_list("name", flat=True)) == ["a.pdf", "b.png"]
