"""Claims fixtures: Alice's membership well past its waiting period, a covered condition, a second
administrator, and helpers that file and decide claims on given Beijing days.

A claim's filing time is stamped by the clock (the claim window counts from it), so filing and
deciding run with time frozen on the day the test names.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from claims.models import Claim, ClaimStatus, CoveredCondition
from claims.services import claim_approve, claim_file, claim_start_investigation
from members.models import Membership, Plan, User

BEIJING = ZoneInfo("Asia/Shanghai")
JOIN_DAY = date(2025, 1, 10)  # the waiting period runs from 11 January to 10 April 2025
DIAGNOSIS_DAY = date(2025, 6, 2)
FILE_DAY = date(2025, 6, 3)
DECISION_DAY = date(2025, 6, 5)  # before the notice of 7 June (charged on the 14th)


def beijing(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING)


@contextmanager
def on_day(day: date, hour: int = 12) -> Iterator[None]:
    with time_machine.travel(beijing(day, hour), tick=False):
        yield


@pytest.fixture
def condition(plan: Plan) -> CoveredCondition:
    found = plan.conditions.order_by("code").first()
    assert found is not None
    return found


@pytest.fixture
def second_admin(db: Any) -> User:
    return User.objects.create_superuser(username="admin2", password="admin2-pass-123", email="admin2@example.com")


@pytest.fixture
def member(enrol: Callable[..., Membership], alice: User) -> Membership:
    """Alice's own membership: joined on JOIN_DAY, born on 17 May 1990, so 35 at the diagnosis."""
    return enrol(account=alice, on=JOIN_DAY)


@pytest.fixture
def file_claim(condition: CoveredCondition) -> Callable[..., Claim]:
    """File a claim through the service on the day `on`, with the clock on that day."""

    def _file(
        member: Membership,
        *,
        kind: str = "illness",
        diagnosed_on: date = DIAGNOSIS_DAY,
        on: date = FILE_DAY,
        by: User | None = None,
        condition: CoveredCondition = condition,
    ) -> Claim:
        with on_day(on):
            return claim_file(
                member=member,
                by=by or member.account,
                kind=kind,
                condition=condition,
                diagnosed_on=diagnosed_on,
                hospital="北京协和医院",
                description="Diagnosed after a check-up; the hospital's report is attached.",
                on=on,
            )

    return _file


@pytest.fixture
def claim(member: Membership, file_claim: Callable[..., Claim]) -> Claim:
    """Alice's claim for an illness diagnosed on DIAGNOSIS_DAY, filed the day after: submitted."""
    return file_claim(member)


@pytest.fixture
def investigating(claim: Claim, admin_user: User) -> Claim:
    with on_day(DECISION_DAY, hour=9):
        return claim_start_investigation(claim=claim, by=admin_user)


@pytest.fixture
def approve(admin_user: User, second_admin: User) -> Callable[..., Claim]:
    """Investigate (if needed) and approve a claim, the default four eyes: one admin proposes, another confirms."""

    def _approve(claim: Claim, *, on: date = DECISION_DAY) -> Claim:
        with on_day(on):
            if claim.status == ClaimStatus.SUBMITTED:
                claim = claim_start_investigation(claim=claim, by=admin_user)
            claim = claim_approve(claim=claim, by=admin_user)
            return claim_approve(claim=claim, by=second_admin)

    return _approve


# --- the claim pages (test_views_*): uploads, kept in a temporary folder ---------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _png_bytes() -> bytes:
    """A real 1×1 white PNG: the 8-byte signature, IHDR, IDAT and IEND chunks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


PNG_BYTES = _png_bytes()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    """Uploaded documents go to a temporary folder, never the project's media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def pdf_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("诊断证明.pdf", PDF_BYTES, content_type="application/pdf")


@pytest.fixture
def png_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("化验单.png", PNG_BYTES, content_type="image/png")


@pytest.fixture
def fake_pdf_upload() -> SimpleUploadedFile:
    """A text file that only says it is a PDF by its name and declared type."""
    return SimpleUploadedFile("report.pdf", b"This is not a PDF, only text.\n", content_type="application/pdf")


@pytest.fixture
def oversize_pdf_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("scan.pdf", PDF_BYTES + b"0" * (11 * 1024 * 1024), content_type="application/pdf")
