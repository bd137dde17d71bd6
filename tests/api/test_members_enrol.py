"""POST /api/v1/members/: one person, the member object back, each refusal with its code."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from members import services
from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, CreditSource, Membership
from tests.api.conftest import Caller, error_code
from tests.concurrency import at_once

Body = Callable[..., dict[str, Any]]

MEMBER_FIELDS = {
    "id", "external_ref", "name", "id_number_masked", "birth_date", "sex", "relationship", "payer",
    "status", "status_reason", "joined_on", "waiting_period_ends", "coverage", "balance",
}  # fmt: skip


def test_it_enrols_a_person_and_returns_the_member_object(acme: Caller, body: Body) -> None:
    data = body(1)
    response = acme.post("/api/v1/members/", data)
    assert response.status_code == 201
    member = response.json()
    assert set(member) == MEMBER_FIELDS
    assert member["external_ref"] == "p-1"
    assert member["id_number_masked"] == mask_id_number(data["id_number"])
    assert data["id_number"] not in response.content.decode()
    assert member["birth_date"] == "1990-05-17"
    assert member["sex"] == "M"
    assert member["status"] == "waiting"
    assert member["payer"] is None
    assert member["joined_on"] == timezone.localdate().isoformat()
    assert member["coverage"] == {"amount": "300000.00", "currency": "CNY"}
    assert member["balance"] == {"amount": "0.00", "currency": "CNY"}
    membership = Membership.objects.get(pk=member["id"])
    assert membership.partner == acme.partner
    assert membership.credit_source == CreditSource.ATTESTED
    assert membership.credit_score == 700


def test_it_enrols_a_dependant_of_its_own_payer(acme: Caller, body: Body, enrolled: dict[str, Any]) -> None:
    child = body(2, birth_date=date(2015, 3, 1), payer=enrolled["id"], relationship="child", credit_score=None)
    response = acme.post("/api/v1/members/", child)
    assert response.status_code == 201
    assert response.json()["payer"] == enrolled["id"]


def test_it_refuses_another_partners_member_as_payer(globex: Caller, body: Body, enrolled: dict[str, Any]) -> None:
    child = body(2, birth_date=date(2015, 3, 1), payer=enrolled["id"], relationship="child")
    response = globex.post("/api/v1/members/", child)
    assert response.status_code == 400
    assert "payer" in response.json()["error"]["fields"]


def test_it_answers_400_with_the_field_for_a_bad_id_number(acme: Caller, body: Body) -> None:
    data = body(1)
    valid = data["id_number"]
    data["id_number"] = valid[:-1] + ("1" if valid[-1] != "1" else "2")  # a wrong check digit
    response = acme.post("/api/v1/members/", data)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["id_number"]


def test_it_answers_400_with_every_malformed_field(acme: Caller, body: Body) -> None:
    response = acme.post("/api/v1/members/", body(1, name="", credit_score="high", health_declaration="no"))
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"name", "credit_score", "health_declaration"}


def test_it_answers_400_to_a_body_that_is_not_json(acme: Caller) -> None:
    response = acme.client.post("/api/v1/members/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_code(response) == "invalid"


def test_it_answers_400_when_a_health_question_is_missing(acme: Caller, body: Body) -> None:
    data = body(1)
    data["health_declaration"].popitem()
    response = acme.post("/api/v1/members/", data)
    assert response.status_code == 400
    assert "health_declaration" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"birth_date": date(1950, 1, 1)}, "age_out_of_range"),
        ({"credit_score": 600}, "credit_check_failed"),
    ],
)
def test_it_answers_422_when_the_person_is_not_eligible(
    acme: Caller, body: Body, overrides: dict[str, Any], code: str
) -> None:
    response = acme.post("/api/v1/members/", body(1, **overrides))
    assert response.status_code == 422
    assert error_code(response) == code


def test_it_answers_422_to_a_baby_under_30_days(acme: Caller, body: Body) -> None:
    response = acme.post("/api/v1/members/", body(1, birth_date=timezone.localdate() - timedelta(days=10)))
    assert response.status_code == 422
    assert error_code(response) == "age_out_of_range"


def test_it_answers_422_to_a_yes_in_the_health_declaration(acme: Caller, body: Body) -> None:
    data = body(1)
    first = next(iter(data["health_declaration"]))
    data["health_declaration"][first] = True
    response = acme.post("/api/v1/members/", data)
    assert response.status_code == 422
    assert error_code(response) == "health_declaration_failed"


def test_it_answers_422_to_a_dishonest_debtor_whatever_the_score(acme: Caller, body: Body) -> None:
    data = body(1)
    CreditRecord.objects.create(
        id_number_hash=hash_id_number(data["id_number"]), id_number_masked="x", score=800, dishonest_debtor=True
    )
    assert error_code(acme.post("/api/v1/members/", data)) == "credit_check_failed"


def test_it_answers_422_to_a_person_already_enrolled(acme: Caller, globex: Caller, body: Body) -> None:
    assert acme.post("/api/v1/members/", body(1)).status_code == 201
    response = globex.post("/api/v1/members/", body(1))
    assert response.status_code == 422
    assert error_code(response) == "already_enrolled"


def test_it_answers_409_when_the_external_ref_names_another_member(acme: Caller, body: Body) -> None:
    assert acme.post("/api/v1/members/", body(1, external_ref="same")).status_code == 201
    response = acme.post("/api/v1/members/", body(2, external_ref="same"))
    assert response.status_code == 409
    assert error_code(response) == "conflict"
    assert "external_ref" in response.json()["error"]["fields"]


def test_two_partners_may_use_the_same_external_ref(acme: Caller, globex: Caller, body: Body) -> None:
    assert acme.post("/api/v1/members/", body(1, external_ref="same")).status_code == 201
    assert globex.post("/api/v1/members/", body(2, external_ref="same")).status_code == 201


def test_a_person_without_score_or_record_waits_for_review(acme: Caller, body: Body) -> None:
    response = acme.post("/api/v1/members/", body(1, credit_score=None))
    assert response.status_code == 201
    assert response.json()["status"] == "pending_review"
    assert response.json()["coverage"] is None


def test_json_types_are_not_coerced(acme: Caller, body: Body) -> None:
    response = acme.post("/api/v1/members/", body(1, phone=13800000000, credit_score="700", health_declaration={}))
    assert response.status_code == 400
    assert {"phone", "credit_score"} <= set(response.json()["error"]["fields"])
    answers = {code: "no" for code in body(1)["health_declaration"]}
    response = acme.post("/api/v1/members/", body(1, health_declaration=answers))
    assert response.status_code == 400
    assert all(field.startswith("health_declaration.") for field in response.json()["error"]["fields"])


def test_the_payer_may_be_named_by_the_partners_reference(acme: Caller, body: Body, enrolled: dict[str, Any]) -> None:
    child = body(2, birth_date=date(2016, 6, 6), payer_ref=enrolled["external_ref"], relationship="child")
    response = acme.post("/api/v1/members/", child)
    assert response.status_code == 201, response.json()
    assert response.json()["payer"] == enrolled["id"]


def test_a_reference_that_is_not_one_of_the_partners_live_members_is_refused(
    acme: Caller, globex: Caller, body: Body, enrolled: dict[str, Any]
) -> None:
    for ref in ("nobody", enrolled["external_ref"]):
        response = globex.post(
            "/api/v1/members/", body(3, birth_date=date(2016, 6, 6), payer_ref=ref, relationship="child")
        )
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["payer_ref"]
    acme.post(f"/api/v1/members/{enrolled['id']}/exit/")
    gone = acme.post(
        "/api/v1/members/",
        body(4, birth_date=date(2016, 6, 6), payer_ref=enrolled["external_ref"], relationship="child"),
    )
    assert gone.status_code == 400 and list(gone.json()["error"]["fields"]) == ["payer_ref"]


def test_the_payer_is_named_by_id_or_by_reference_not_both(acme: Caller, body: Body, enrolled: dict[str, Any]) -> None:
    both = body(
        2, birth_date=date(2016, 6, 6), payer=enrolled["id"], payer_ref=enrolled["external_ref"], relationship="child"
    )
    response = acme.post("/api/v1/members/", both)
    assert response.status_code == 400
    assert error_code(response) == "invalid" and list(response.json()["error"]["fields"]) == ["payer_ref"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_enrolments_of_the_same_person_at_once_through_the_api_enrol_them_once(acme: Caller, body: Body) -> None:
    """Two requests (different references, no Idempotency-Key) for one person on two connections, held
    open after the person step so they overlap: one 201, one 422 already_enrolled, one membership."""
    original = services.person_get_or_create

    def slow(**kwargs: Any) -> Any:
        person = original(**kwargs)
        time.sleep(0.2)
        return person

    def post(ref: str) -> Callable[[], Any]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {acme.key}")
        data = body(1, external_ref=ref)
        return lambda: client.post("/api/v1/members/", data, format="json")

    with mock.patch.object(services, "person_get_or_create", slow):
        first, second = at_once(post("race-a"), post("race-b"))
    answers = sorted((r.status_code, r.json().get("error", {}).get("code")) for r in (first, second))
    assert answers == [(201, None), (422, "already_enrolled")]
    assert Membership.objects.filter(partner=acme.partner).count() == 1
