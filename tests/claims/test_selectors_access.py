"""Who reaches a claim and its documents: staff, the claimant's household; anyone else gets 404."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from claims.models import Claim, ClaimDocument
from claims.selectors import claim_for_account, claims_for_account, document_for_user
from claims.services import claim_document_add
from members.models import Membership, User
from tests.claims.conftest import JOIN_DAY

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def child_claim(
    member: Membership, enrol: Callable[..., Membership], file_claim: Callable[..., Claim], alice: User
) -> Claim:
    """A claim for Alice's son, a dependant in her household."""
    son = enrol(birth_date=date(2015, 3, 3), name="王小明", payer=member, relationship="child", on=JOIN_DAY)
    return file_claim(son, by=alice)


@pytest.fixture
def document(child_claim: Claim, alice: User) -> ClaimDocument:
    return claim_document_add(claim=child_claim, upload=SimpleUploadedFile("report.pdf", PDF), by=alice)


@pytest.fixture
def outsider(enrol: Callable[..., Membership], charlie: User) -> User:
    """Charlie, a member with his own household."""
    enrol(account=charlie, birth_date=date(1985, 1, 1), on=JOIN_DAY)
    return charlie


def test_staff_reach_any_document(document: ClaimDocument, admin_user: User) -> None:
    assert document_for_user(user=admin_user, document_id=document.pk) == document


def test_the_payer_reaches_the_document_of_a_dependants_claim(document: ClaimDocument, alice: User) -> None:
    assert document_for_user(user=alice, document_id=document.pk) == document


def test_an_outsider_gets_404_for_another_households_document(document: ClaimDocument, outsider: User) -> None:
    with pytest.raises(Http404):
        document_for_user(user=outsider, document_id=document.pk)


def test_an_anonymous_visitor_gets_404_for_a_document(document: ClaimDocument) -> None:
    with pytest.raises(Http404):
        document_for_user(user=AnonymousUser(), document_id=document.pk)  # type: ignore[arg-type]


def test_a_missing_document_is_404(admin_user: User) -> None:
    with pytest.raises(Http404):
        document_for_user(user=admin_user, document_id=999_999)


def test_the_payer_reaches_a_dependants_claim(child_claim: Claim, alice: User) -> None:
    assert claim_for_account(account=alice, claim_id=child_claim.pk) == child_claim


def test_an_outsider_gets_404_for_another_households_claim(child_claim: Claim, outsider: User) -> None:
    with pytest.raises(Http404):
        claim_for_account(account=outsider, claim_id=child_claim.pk)


def test_a_household_lists_its_own_claims_and_no_one_elses(
    child_claim: Claim, outsider: User, alice: User, file_claim: Callable[..., Claim]
) -> None:
    charlies = file_claim(outsider.memberships.get())
    assert list(claims_for_account(account=alice)) == [child_claim]
    assert list(claims_for_account(account=outsider)) == [charlies]


def test_an_anonymous_visitor_has_no_claims(child_claim: Claim) -> None:
    assert list(claims_for_account(account=AnonymousUser())) == []  # type: ignore[arg-type]
