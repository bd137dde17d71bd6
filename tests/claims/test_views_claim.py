"""The household's claims and a claim's page: details, a timeline in plain words, the decision, documents,
more documents while it is open, and withdrawal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.models import Claim, ClaimStatus
from claims.services import claim_document_add, claim_reject, claim_start_investigation
from members.models import Membership, User
from tests.claims.conftest import DECISION_DAY, JOIN_DAY, on_day

pytestmark = pytest.mark.django_db

LIST = reverse("claims:list")


def _page(claim: Claim) -> str:
    return reverse("claims:detail", args=[claim.pk])


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(alice)
    return client


@pytest.fixture
def charlie_client(charlie: User, enrol: Callable[..., Membership]) -> Client:
    enrol(name="赵六", account=charlie)
    client = Client(headers={"accept-language": "en"})
    client.force_login(charlie)
    return client


@pytest.fixture
def child_claims(
    member: Membership, enrol: Callable[..., Membership], file_claim: Callable[..., Claim]
) -> Callable[[int], list[Claim]]:
    """Add `n` children to Alice's household, each with a claim of their own."""
    serials = iter(range(1, 29))

    def _add(n: int) -> list[Claim]:
        claims = []
        for _ in range(n):
            serial = next(serials)
            child = enrol(
                name=f"李小{serial}", payer=member, relationship="child", birth_date=date(2015, 1, serial), on=JOIN_DAY
            )
            claims.append(file_claim(child, kind="accident"))
        return claims

    return _add


# --- the list ----------------------------------------------------------------------------------------


def test_it_requires_login_for_the_list(client: Client) -> None:
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("members:login"))


def test_it_lists_the_households_claims(alice_client: Client, claim: Claim) -> None:
    html = alice_client.get(LIST).content.decode()
    assert _page(claim) in html
    assert "Submitted" in html


def test_it_does_not_list_another_households_claims(charlie_client: Client, claim: Claim) -> None:
    assert _page(claim) not in charlie_client.get(LIST).content.decode()


def test_it_lists_only_one_members_claims_when_asked(
    alice_client: Client, claim: Claim, child_claims: Callable[[int], list[Claim]]
) -> None:
    [childs] = child_claims(1)
    html = alice_client.get(LIST, {"member": childs.member_id}).content.decode()
    assert _page(childs) in html
    assert _page(claim) not in html


def test_the_list_costs_the_same_queries_for_five_claims_as_for_one(
    alice_client: Client, claim: Claim, child_claims: Callable[[int], list[Claim]]
) -> None:
    with CaptureQueriesContext(connection) as one:
        alice_client.get(LIST)
    child_claims(4)
    with CaptureQueriesContext(connection) as five:
        response = alice_client.get(LIST)
    assert len(response.context["claims"]) == 5
    assert len(five) == len(one)


# --- the claim page ----------------------------------------------------------------------------------


def test_it_shows_the_claims_details(alice_client: Client, claim: Claim) -> None:
    html = alice_client.get(_page(claim)).content.decode()
    assert "北京协和医院" in html
    assert "2025-06-02" in html
    assert claim.condition.name_en in html


def test_it_answers_404_for_another_households_claim(charlie_client: Client, claim: Claim) -> None:
    assert charlie_client.get(_page(claim)).status_code == 404


def test_it_answers_404_for_a_claim_that_does_not_exist(alice_client: Client, member: Membership) -> None:
    assert alice_client.get(reverse("claims:detail", args=[999_999])).status_code == 404


def test_the_timeline_shows_every_step_with_its_date(alice_client: Client, claim: Claim, admin_user: User) -> None:
    with on_day(DECISION_DAY, hour=9):
        claim_start_investigation(claim=claim, by=admin_user)
    timeline = alice_client.get(_page(claim)).context["timeline"]
    assert [(str(step.title), step.at.date()) for step in timeline] == [
        ("Claim filed", date(2025, 6, 3)),
        ("Investigation started", date(2025, 6, 5)),
    ]


def test_the_timeline_shows_a_four_eyes_proposal_only_as_under_review(
    alice_client: Client, investigating: Claim, admin_user: User
) -> None:
    from claims.services import claim_approve

    with on_day(DECISION_DAY):
        claim_approve(claim=investigating, by=admin_user)
    html = alice_client.get(_page(investigating)).content.decode()
    assert "Under review" in html
    assert "propos" not in html.lower()


def test_it_shows_the_rejection_reason_in_plain_words_and_the_note(
    alice_client: Client, investigating: Claim, admin_user: User
) -> None:
    with on_day(DECISION_DAY):
        claim_reject(claim=investigating, by=admin_user, reason="not_covered", note="The report names a benign tumour.")
    html = alice_client.get(_page(investigating)).content.decode()
    assert "Why the claim was rejected" in html
    assert "The condition is not one the plan covers." in html
    assert "The report names a benign tumour." in html
    assert "not_covered" not in html


def test_it_shows_the_payout_in_yuan_once_approved(
    alice_client: Client, claim: Claim, approve: Callable[..., Claim]
) -> None:
    approve(claim)
    assert "300,000.00 yuan" in alice_client.get(_page(claim)).content.decode()


def test_it_shows_no_payout_before_approval(alice_client: Client, claim: Claim) -> None:
    assert "yuan" not in alice_client.get(_page(claim)).content.decode()


def test_it_links_each_document_for_download(alice_client: Client, claim: Claim, pdf_upload: Any) -> None:
    document = claim_document_add(claim=claim, upload=pdf_upload, by=None)
    html = alice_client.get(_page(claim)).content.decode()
    assert reverse("claims:document", args=[document.pk]) in html
    assert "诊断证明.pdf" in html


# --- more documents ----------------------------------------------------------------------------------


def test_it_adds_documents_to_an_open_claim(
    alice_client: Client, claim: Claim, pdf_upload: Any, png_upload: Any
) -> None:
    response = alice_client.post(_page(claim), {"documents": [pdf_upload, png_upload]})
    assert response.status_code == 302
    assert claim.documents.count() == 2


def test_it_asks_for_a_file_when_none_was_chosen(alice_client: Client, claim: Claim) -> None:
    response = alice_client.post(_page(claim), {})
    assert response.status_code == 200
    assert response.context["form"].errors["documents"] == [
        "Attach at least one document, for example a photo of the diagnosis report."
    ]


def test_it_refuses_a_document_that_is_not_a_pdf_by_its_content_on_the_claim_page(
    alice_client: Client, claim: Claim, fake_pdf_upload: Any
) -> None:
    response = alice_client.post(_page(claim), {"documents": [fake_pdf_upload]})
    assert response.status_code == 200
    assert "report.pdf: Only PDF, JPEG and PNG files can be attached" in response.content.decode()
    assert not claim.documents.exists()


def test_it_offers_no_upload_on_a_decided_claim(alice_client: Client, investigating: Claim, admin_user: User) -> None:
    claim_reject(claim=investigating, by=admin_user, reason="fraud")
    assert 'type="file"' not in alice_client.get(_page(investigating)).content.decode()


def test_it_refuses_documents_posted_to_a_decided_claim(
    alice_client: Client, investigating: Claim, admin_user: User, pdf_upload: Any
) -> None:
    claim_reject(claim=investigating, by=admin_user, reason="fraud")
    response = alice_client.post(_page(investigating), {"documents": [pdf_upload]})
    assert response.status_code == 200
    assert "Documents can be added only while the claim is submitted or under investigation." in (
        response.content.decode()
    )
    assert not investigating.documents.exists()


def test_it_answers_404_when_charlie_posts_documents_to_alices_claim(
    charlie_client: Client, claim: Claim, pdf_upload: Any
) -> None:
    assert charlie_client.post(_page(claim), {"documents": [pdf_upload]}).status_code == 404
    assert not claim.documents.exists()


# --- withdrawal --------------------------------------------------------------------------------------


def test_it_asks_to_confirm_before_withdrawing(alice_client: Client, claim: Claim) -> None:
    response = alice_client.get(reverse("claims:withdraw", args=[claim.pk]))
    assert "Yes, withdraw the claim" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED


def test_it_withdraws_a_submitted_claim_on_confirmation(alice_client: Client, alice: User, claim: Claim) -> None:
    response = alice_client.post(reverse("claims:withdraw", args=[claim.pk]))
    assert response["Location"] == _page(claim)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WITHDRAWN
    assert claim.transitions.last().by == alice  # type: ignore[union-attr]


def test_it_withdraws_a_claim_under_investigation(alice_client: Client, investigating: Claim) -> None:
    alice_client.post(reverse("claims:withdraw", args=[investigating.pk]))
    investigating.refresh_from_db()
    assert investigating.status == ClaimStatus.WITHDRAWN


def test_it_refuses_to_withdraw_an_approved_claim_with_a_clear_message(
    alice_client: Client, claim: Claim, approve: Callable[..., Claim]
) -> None:
    approve(claim)
    response = alice_client.post(reverse("claims:withdraw", args=[claim.pk]))
    assert response.status_code == 200
    assert "cannot be" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED


def test_it_answers_404_when_charlie_withdraws_alices_claim(charlie_client: Client, claim: Claim) -> None:
    assert charlie_client.post(reverse("claims:withdraw", args=[claim.pk])).status_code == 404
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
