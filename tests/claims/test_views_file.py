"""Filing a claim in the browser: who is ill, what, when, where, and the documents, in one step."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from claims import views
from claims.errors import UnsupportedDocument
from claims.models import Claim, ClaimDocument, ClaimStatus, CoveredCondition
from members.models import Membership, Plan, User
from tests.claims.conftest import DIAGNOSIS_DAY, FILE_DAY, on_day

pytestmark = pytest.mark.django_db

URL = reverse("claims:new")


@pytest.fixture(autouse=True)
def _on_the_filing_day() -> Iterator[None]:
    with on_day(FILE_DAY):
        yield


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(alice)
    return client


@pytest.fixture
def form_data(member: Membership, condition: CoveredCondition) -> Callable[..., dict[str, Any]]:
    """The form as Alice fills it in for herself, with the diagnosis report attached."""

    def _data(*documents: SimpleUploadedFile, **overrides: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "member": member.pk,
            "kind": "illness",
            "condition": condition.pk,
            "diagnosed_on": DIAGNOSIS_DAY.isoformat(),
            "hospital": "北京协和医院",
            "description": "Diagnosed after a check-up.",
            "documents": list(documents),
        }
        data.update(overrides)
        return data

    return _data


def _errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200
    return dict(response.context["form"].errors)


# --- the page ------------------------------------------------------------------------------------


def test_it_requires_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("members:login"))


def test_it_offers_the_covered_members_of_the_household(
    alice_client: Client, member: Membership, enrol: Callable[..., Membership]
) -> None:
    child = enrol(name="李小宝", payer=member, relationship="child", birth_date=date(2018, 9, 9))
    choices = alice_client.get(URL).context["form"].fields["member"].queryset
    assert set(choices) == {member, child}


def test_it_leaves_out_a_member_whose_membership_has_ended(
    alice_client: Client, member: Membership, enrol: Callable[..., Membership]
) -> None:
    child = enrol(name="李小宝", payer=member, relationship="child", birth_date=date(2018, 9, 9))
    Membership.objects.filter(pk=child.pk).update(status="exited")
    assert list(alice_client.get(URL).context["form"].fields["member"].queryset) == [member]


def test_it_names_the_conditions_in_english_after_the_switch(
    alice_client: Client, member: Membership, condition: CoveredCondition
) -> None:
    html = alice_client.get(URL).content.decode()
    assert condition.name_en in html
    assert condition.name_zh not in html


def test_it_names_the_conditions_in_chinese_by_default(
    client: Client, alice: User, member: Membership, condition: CoveredCondition
) -> None:
    client.force_login(alice)
    assert condition.name_zh in client.get(URL).content.decode()


def test_it_explains_that_there_is_nobody_to_file_for_without_a_covered_member(
    alice_client: Client, plan: Plan
) -> None:
    response = alice_client.get(URL)
    assert "there is nobody to file a claim for" in response.content.decode()


def test_it_accepts_several_files_in_one_input(alice_client: Client, member: Membership) -> None:
    assert "multiple" in str(alice_client.get(URL).context["form"]["documents"])


# --- filing --------------------------------------------------------------------------------------


def test_it_files_a_claim_with_one_document(
    alice_client: Client, alice: User, member: Membership, form_data: Callable[..., dict[str, Any]], pdf_upload: Any
) -> None:
    response = alice_client.post(URL, form_data(pdf_upload))
    claim = Claim.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("claims:detail", args=[claim.pk])
    assert (claim.member, claim.filed_by, claim.status) == (member, alice, ClaimStatus.SUBMITTED)
    assert list(claim.documents.values_list("name", "content_type")) == [("诊断证明.pdf", "application/pdf")]


def test_it_files_a_claim_with_several_documents(
    alice_client: Client, form_data: Callable[..., dict[str, Any]], pdf_upload: Any, png_upload: Any
) -> None:
    alice_client.post(URL, form_data(pdf_upload, png_upload))
    assert sorted(Claim.objects.get().documents.values_list("content_type", flat=True)) == [
        "application/pdf",
        "image/png",
    ]


def test_it_files_a_claim_for_a_family_member(
    alice_client: Client,
    member: Membership,
    enrol: Callable[..., Membership],
    form_data: Callable[..., dict[str, Any]],
    pdf_upload: Any,
) -> None:
    child = enrol(name="李小宝", payer=member, relationship="child", birth_date=date(2018, 9, 9))
    alice_client.post(URL, form_data(pdf_upload, member=child.pk, kind="accident"))
    assert Claim.objects.get().member == child


def test_it_requires_at_least_one_document(alice_client: Client, form_data: Callable[..., dict[str, Any]]) -> None:
    errors = _errors(alice_client.post(URL, form_data()))
    assert errors["documents"] == ["Attach at least one document, for example a photo of the diagnosis report."]
    assert not Claim.objects.exists()


def test_it_refuses_a_diagnosis_date_in_the_future(
    alice_client: Client, form_data: Callable[..., dict[str, Any]], pdf_upload: Any
) -> None:
    tomorrow = (FILE_DAY + timedelta(days=1)).isoformat()
    errors = _errors(alice_client.post(URL, form_data(pdf_upload, diagnosed_on=tomorrow)))
    assert errors["diagnosed_on"] == ["The diagnosis date cannot be in the future."]
    assert not Claim.objects.exists()


def test_it_refuses_a_missing_hospital(
    alice_client: Client, form_data: Callable[..., dict[str, Any]], pdf_upload: Any
) -> None:
    errors = _errors(alice_client.post(URL, form_data(pdf_upload, hospital="  ")))
    assert errors["hospital"] == ["Enter the hospital that made the diagnosis."]


def test_it_refuses_a_condition_of_another_plan(
    alice_client: Client, form_data: Callable[..., dict[str, Any]], pdf_upload: Any
) -> None:
    other_plan = Plan.objects.create(code="other", name="Other plan")
    elsewhere = CoveredCondition.objects.create(plan=other_plan, code="X01", name_zh="其他", name_en="Other")
    errors = _errors(alice_client.post(URL, form_data(pdf_upload, condition=elsewhere.pk)))
    assert errors["condition"] == ["Choose one of the plan's covered conditions."]
    assert not Claim.objects.exists()


def test_it_refuses_a_member_of_another_household(
    alice_client: Client,
    charlie: User,
    enrol: Callable[..., Membership],
    form_data: Callable[..., dict[str, Any]],
    pdf_upload: Any,
) -> None:
    charlies = enrol(name="赵六", account=charlie)
    errors = _errors(alice_client.post(URL, form_data(pdf_upload, member=charlies.pk)))
    assert errors["member"] == ["Choose someone in your household who is covered by the plan."]
    assert not Claim.objects.exists()


def test_it_refuses_a_member_still_waiting_for_review(
    enrol: Callable[..., Membership],
    plan: Plan,
    condition: CoveredCondition,
    pdf_upload: Any,
) -> None:
    dora = User.objects.create_user(username="13800000004", phone="13800000004", password="dora-pass-123")
    pending = enrol(name="孙丽", account=dora, attested_score=None)
    assert pending.status == "pending_review"
    client = Client(headers={"accept-language": "en"})
    client.force_login(dora)
    data = {
        "member": pending.pk,
        "kind": "accident",
        "condition": condition.pk,
        "diagnosed_on": DIAGNOSIS_DAY.isoformat(),
        "hospital": "北京协和医院",
        "description": "A fall.",
        "documents": [pdf_upload],
    }
    errors = _errors(client.post(URL, data))
    assert errors["member"] == ["Choose someone in your household who is covered by the plan."]
    assert not Claim.objects.exists()


def test_it_refuses_a_second_open_claim_for_the_same_person(
    alice_client: Client,
    member: Membership,
    file_claim: Callable[..., Claim],
    form_data: Callable[..., dict[str, Any]],
    pdf_upload: Any,
) -> None:
    file_claim(member)
    errors = _errors(alice_client.post(URL, form_data(pdf_upload)))
    assert errors["member"] == ["This person already has a claim in progress; add documents to it instead."]
    assert Claim.objects.count() == 1


def test_it_refuses_a_file_that_is_not_a_pdf_by_its_content_and_files_nothing(
    alice_client: Client, form_data: Callable[..., dict[str, Any]], pdf_upload: Any, fake_pdf_upload: Any
) -> None:
    errors = _errors(alice_client.post(URL, form_data(pdf_upload, fake_pdf_upload)))
    assert errors["documents"] == [
        "report.pdf: Only PDF, JPEG and PNG files can be attached; this file is none of them."
    ]
    assert not Claim.objects.exists()
    assert not ClaimDocument.objects.exists()


def test_it_refuses_a_document_over_10_mb_and_files_nothing(
    alice_client: Client, form_data: Callable[..., dict[str, Any]], oversize_pdf_upload: Any
) -> None:
    errors = _errors(alice_client.post(URL, form_data(oversize_pdf_upload)))
    assert errors["documents"] == [
        "scan.pdf: A document can be at most 10 MB; make it smaller (for example a lower-resolution photo)."
    ]
    assert not Claim.objects.exists()


def test_it_leaves_no_claim_behind_when_the_service_refuses_a_document(
    alice_client: Client,
    form_data: Callable[..., dict[str, Any]],
    pdf_upload: Any,
    png_upload: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_add = views.claim_document_add

    def add_then_refuse_the_png(**kwargs: Any) -> ClaimDocument:
        if kwargs["upload"].name.endswith(".png"):
            raise UnsupportedDocument()
        return real_add(**kwargs)

    monkeypatch.setattr(views, "claim_document_add", add_then_refuse_the_png)
    errors = _errors(alice_client.post(URL, form_data(pdf_upload, png_upload)))
    assert errors["documents"] == ["Only PDF, JPEG and PNG files can be attached; this file is none of them."]
    assert not Claim.objects.exists()
    assert not ClaimDocument.objects.exists()


def test_it_shows_service_errors_in_chinese_by_default(
    client: Client, alice: User, form_data: Callable[..., dict[str, Any]], pdf_upload: Any
) -> None:
    client.force_login(alice)
    tomorrow = (FILE_DAY + timedelta(days=1)).isoformat()
    response = client.post(URL, form_data(pdf_upload, diagnosed_on=tomorrow))
    assert "确诊日期不能" in response.content.decode()
