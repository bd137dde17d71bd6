"""The public notice: published claims, anonymised as the plan published them, and members' objections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.models import Claim, ClaimStatus, Objection
from claims.services import notices_publish
from members.models import Membership, Plan, User
from tests.claims.conftest import JOIN_DAY, on_day

pytestmark = pytest.mark.django_db

NOTICES = reverse("claims:notices")
NOTICE_DAY = date(2025, 6, 7)  # charged on 14 June: objections until the 13th
IN_THE_WINDOW = date(2025, 6, 10)
NEXT_NOTICE_DAY = date(2025, 6, 21)


def _object_url(claim: Claim) -> str:
    return reverse("claims:object", args=[claim.pk])


@pytest.fixture
def publish(plan: Plan, approve: Callable[..., Claim]) -> Callable[..., list[Claim]]:
    """Approve claims (four eyes) and publish them in the notice of `on`."""

    def _publish(*claims: Claim, on: date = NOTICE_DAY) -> list[Claim]:
        for claim in claims:
            approve(Claim.objects.get(pk=claim.pk), on=on - timedelta(days=2))
        notices_publish(plan=plan, on=on)
        return [Claim.objects.get(pk=claim.pk) for claim in claims]

    return _publish


@pytest.fixture
def published(claim: Claim, publish: Callable[..., list[Claim]]) -> Claim:
    """Alice's claim (张三, born 17 May 1990, Beijing), approved and in the notice of 7 June."""
    [in_notice] = publish(claim)
    assert in_notice.status == ClaimStatus.IN_NOTICE
    return in_notice


@pytest.fixture
def english() -> Client:
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def charlie_client(english: Client, charlie: User, enrol: Callable[..., Membership]) -> Client:
    """Charlie has a household of his own, so he may object."""
    enrol(name="赵六", account=charlie)
    english.force_login(charlie)
    return english


@pytest.fixture
def child_claims(
    member: Membership, enrol: Callable[..., Membership], file_claim: Callable[..., Claim]
) -> Callable[[int], list[Claim]]:
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


# --- the public page ---------------------------------------------------------------------------------


def test_it_is_open_to_anyone_without_logging_in(english: Client, published: Claim) -> None:
    assert english.get(NOTICES).status_code == 200


def test_it_shows_the_masked_name_and_never_the_full_name_or_the_id_number(english: Client, published: Claim) -> None:
    html = english.get(NOTICES).content.decode()
    person = published.member.person
    assert "张*" in html
    assert person.name not in html
    assert person.id_number_masked not in html
    assert person.id_number_masked[-4:] not in html


def test_it_never_shows_the_hospital_or_the_description(english: Client, published: Claim) -> None:
    html = english.get(NOTICES).content.decode()
    assert published.hospital not in html
    assert published.description not in html


def test_it_shows_age_sex_province_condition_payout_and_days_since_joining(english: Client, published: Claim) -> None:
    html = english.get(NOTICES).content.decode()
    assert "35 years old" in html
    assert "Male" in html or "male" in html
    assert "Beijing" in html
    assert published.condition.name_en in html
    assert "300,000.00 yuan" in html
    assert "<dd>143</dd>" in html  # joined 10 January, diagnosed 2 June


def test_it_groups_the_cases_by_notice_day(english: Client, published: Claim) -> None:
    assert "Notice of 2025-06-07" in english.get(NOTICES).content.decode()


def test_it_shows_the_page_in_chinese_by_default(client: Client, published: Claim) -> None:
    html = client.get(NOTICES).content.decode()
    assert published.condition.name_zh in html
    assert "300,000.00 元" in html


def test_it_does_not_show_a_claim_that_is_not_published(english: Client, claim: Claim) -> None:
    assert "张*" not in english.get(NOTICES).content.decode()


def test_it_offers_a_member_the_objection_link(charlie_client: Client, published: Claim) -> None:
    assert _object_url(published) in charlie_client.get(NOTICES).content.decode()


def test_it_offers_no_objection_link_to_an_anonymous_visitor(english: Client, published: Claim) -> None:
    assert _object_url(published) not in english.get(NOTICES).content.decode()


def test_it_offers_no_objection_link_to_an_account_without_membership(
    english: Client, charlie: User, published: Claim
) -> None:
    english.force_login(charlie)
    assert _object_url(published) not in english.get(NOTICES).content.decode()


def test_the_page_costs_the_same_queries_for_five_cases_as_for_one(
    charlie_client: Client, plan: Plan, claim: Claim, child_claims: Callable[[int], list[Claim]], publish: Any
) -> None:
    publish(claim)
    with CaptureQueriesContext(connection) as one:
        charlie_client.get(NOTICES)
    publish(*child_claims(4), on=NEXT_NOTICE_DAY)
    with CaptureQueriesContext(connection) as five:
        response = charlie_client.get(NOTICES)
    assert len(response.context["cases"]) == 5
    assert len(five) == len(one)


# --- objections --------------------------------------------------------------------------------------


def test_it_sends_an_anonymous_visitor_to_log_in_to_object(english: Client, published: Claim) -> None:
    response = english.get(_object_url(published))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("members:login"))


def test_the_objection_page_names_the_case_only_anonymised(charlie_client: Client, published: Claim) -> None:
    with on_day(IN_THE_WINDOW):
        html = charlie_client.get(_object_url(published)).content.decode()
    assert "张*" in html
    assert published.member.person.name not in html


def test_it_answers_404_for_the_objection_page_of_a_claim_never_published(charlie_client: Client, claim: Claim) -> None:
    assert charlie_client.get(_object_url(claim)).status_code == 404


def test_a_member_objects_during_the_notice_window(charlie_client: Client, charlie: User, published: Claim) -> None:
    with on_day(IN_THE_WINDOW):
        response = charlie_client.post(_object_url(published), {"reason": "He was ill before he joined."})
    assert response.status_code == 302
    assert response["Location"] == NOTICES
    assert Objection.objects.get().by == charlie
    published.refresh_from_db()
    assert published.status == ClaimStatus.INVESTIGATING


def test_it_asks_for_the_reason(charlie_client: Client, published: Claim) -> None:
    with on_day(IN_THE_WINDOW):
        response = charlie_client.post(_object_url(published), {"reason": " "})
    assert response.context["form"].errors["reason"] == ["Say why you object, so the investigators can check it."]
    assert not Objection.objects.exists()


def test_a_second_objection_while_the_claim_is_investigated_again_is_refused(
    charlie_client: Client, published: Claim
) -> None:
    with on_day(IN_THE_WINDOW):
        charlie_client.post(_object_url(published), {"reason": "He was ill before he joined."})
        response = charlie_client.post(_object_url(published), {"reason": "Again."})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "This claim is not in public notice, so it cannot be objected to now."
    ]
    assert Objection.objects.count() == 1


def test_a_member_objects_only_once_to_a_claim_published_again(
    charlie_client: Client, published: Claim, publish: Callable[..., list[Claim]]
) -> None:
    with on_day(IN_THE_WINDOW):
        charlie_client.post(_object_url(published), {"reason": "He was ill before he joined."})
    publish(published, on=NEXT_NOTICE_DAY)
    with on_day(date(2025, 6, 22)):
        response = charlie_client.post(_object_url(published), {"reason": "Still."})
    assert response.context["form"].non_field_errors() == ["You have already objected to this claim."]
    assert Objection.objects.count() == 1


def test_it_refuses_an_objection_after_the_notice_window(charlie_client: Client, published: Claim) -> None:
    with on_day(date(2025, 6, 14)):
        response = charlie_client.post(_object_url(published), {"reason": "Late news."})
    assert response.context["form"].non_field_errors() == ["The notice window for this claim has closed."]
    published.refresh_from_db()
    assert published.status == ClaimStatus.IN_NOTICE


def test_it_refuses_an_objection_from_an_account_without_membership(
    english: Client, charlie: User, published: Claim
) -> None:
    english.force_login(charlie)
    with on_day(IN_THE_WINDOW):
        response = english.post(_object_url(published), {"reason": "I heard so."})
    assert response.context["form"].non_field_errors() == ["Only members of the plan can object to a claim."]
    assert not Objection.objects.exists()
