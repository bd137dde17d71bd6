"""POST /api/v1/members/bulk/: each item succeeds or fails alone."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from members import bulk
from members.identity import hash_id_number
from members.models import CreditRecord, Membership, Plan
from members.services import membership_enrol, membership_exit, membership_mark_paid_out
from tests.api.conftest import Caller, error_code
from tests.concurrency import at_once
from tests.idnumbers import make_id_number

Body = Callable[..., dict[str, Any]]


def test_each_item_succeeds_or_fails_alone(acme: Caller, body: Body) -> None:
    items = [
        body(1),
        body(2, id_number="123"),
        body(3, birth_date=date(1950, 1, 1)),
        "not an object",
        body(4),
        body(1, external_ref="p-again"),
    ]
    response = acme.post("/api/v1/members/bulk/", {"members": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4, 5]
    assert [r["status"] for r in results] == [201, 400, 422, 400, 201, 422]
    assert results[0]["member"]["external_ref"] == "p-1"
    assert "id_number" in results[1]["error"]["fields"]
    assert results[2]["error"]["code"] == "age_out_of_range"
    assert results[5]["error"]["code"] == "already_enrolled"
    assert Membership.objects.filter(partner=acme.partner).count() == 2


def test_it_refuses_more_than_1000_items(acme: Caller, body: Body) -> None:
    response = acme.post("/api/v1/members/bulk/", {"members": [body(1)] * 1001})
    assert response.status_code == 400
    assert "members" in response.json()["error"]["fields"]
    assert not Membership.objects.exists()


def test_it_refuses_an_empty_list(acme: Caller) -> None:
    response = acme.post("/api/v1/members/bulk/", {"members": []})
    assert response.status_code == 400
    assert error_code(response) == "invalid"


# --- the set-based path: the same answers as the single endpoint, item for item -------------------------


def number(i: int) -> str:
    """A distinct valid ID number for each i (the helper's serial counts modulo 100)."""
    return make_id_number(date(1985, 1, 1) + timedelta(days=i // 100), serial=i % 100)


@pytest.fixture
def members(acme: Caller, globex: Caller, plan: Plan, no_answers: dict[str, bool]) -> dict[str, int]:
    """Acme's existing members in the states an item can meet, and one of globex's: their ids."""

    def join(i: int, caller: Caller = acme, **extra: Any) -> Membership:
        extra.setdefault("attested_score", 700 if extra.get("payer") is None else None)
        return membership_enrol(
            plan=plan,
            name="老成员",
            id_number=number(i),
            health_answers=no_answers,
            partner=caller.partner,
            external_ref=extra.pop("external_ref", f"old-{i}"),
            **extra,
        )

    payer = join(900, external_ref="p-existing")
    with_spouse = join(901)
    join(902, payer=with_spouse, relationship="spouse")
    gone = join(905)
    membership_exit(membership=gone, by=None)
    membership_mark_paid_out(membership=join(907), by=None)
    CreditRecord.objects.create(id_number_hash=hash_id_number(number(41)), id_number_masked="x", score=500)
    return {
        "payer": payer.pk,
        "with_spouse": with_spouse.pk,
        "pending": join(903, attested_score=None).pk,
        "dependant": join(904, payer=payer, relationship="child").pk,
        "globex": join(909, caller=globex).pk,
    }


def mixed(body: Body, members: dict[str, int], plan: Plan) -> list[Any]:
    yes = {code: True for code in plan.health_questions.values_list("code", flat=True)}

    def item(i: int, **overrides: Any) -> dict[str, Any]:
        if overrides.get("payer") is not None:
            overrides = {"relationship": "child", "credit_score": None, **overrides}
        return body(i, **{"id_number": number(i), **overrides})

    return [
        item(1),
        item(2, payer=members["payer"]),
        item(3, payer=members["payer"], relationship="spouse"),
        item(4, payer=members["payer"], relationship="spouse"),
        item(5, payer=members["with_spouse"], relationship="spouse"),
        item(6, id_number="123"),
        body(7, birth_date=date(1950, 1, 1)),
        item(8, health_declaration=yes),
        item(9, credit_score=600),
        item(10, credit_score=None),
        item(41, credit_score=None),
        item(900, external_ref="again"),
        item(1, external_ref="dup-person"),
        item(11, external_ref="p-1"),
        item(12, external_ref="p-existing"),
        item(13, payer=members["globex"]),
        item(14, payer=members["dependant"]),
        item(15, payer=members["pending"]),
        item(907),
        item(905, name="换了名字"),
        item(16, health_declaration=yes),
        item(16),
        "not an object",
        {"name": "张三"},
        item(17, relationship="self", payer=members["payer"]),
        item(18, payer=None, relationship="child"),
        item(19, credit_score=2000),
        item(20, name="  "),
        item(21, external_ref=""),
        item(22, external_ref=""),
    ]


def answers_one_by_one(caller: Caller, items: list[Any]) -> list[tuple[int, Any]]:
    answers = []
    for item in items:
        response = caller.post("/api/v1/members/", item)
        answers.append((response.status_code, response.json()))
    return answers


def without_ids(answer: tuple[int, Any]) -> tuple[int, Any]:
    status, data = answer
    return status, {k: v for k, v in data.items() if k != "id"} if status == 201 else data


def test_each_item_gets_the_answer_the_single_endpoint_gives_it(
    acme: Caller, body: Body, members: dict[str, int], plan: Plan
) -> None:
    items = mixed(body, members, plan)
    with transaction.atomic():
        alone = answers_one_by_one(acme, items)
        transaction.set_rollback(True)
    # Set-based throughout: the one-by-one path, kept for races, would hide a wrong decision.
    with mock.patch.object(bulk, "memberships_enrol_one_by_one", side_effect=AssertionError("not set-based")):
        response = acme.post("/api/v1/members/bulk/", {"members": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    in_bulk = [(r["status"], r.get("member") or {"error": r["error"]}) for r in results]
    for index, (one, together) in enumerate(zip(alone, in_bulk, strict=True)):
        assert without_ids(together) == without_ids(one), f"item {index}"
    statuses = {status for status, _data in in_bulk}
    assert statuses == {201, 400, 409, 422}


def test_it_shows_each_member_as_the_member_endpoint_does(acme: Caller, body: Body, members: dict[str, int]) -> None:
    response = acme.post(
        "/api/v1/members/bulk/",
        {"members": [body(1), body(2, payer=members["payer"], relationship="child", credit_score=None)]},
    )
    for result in response.json()["results"]:
        assert result["member"] == acme.get(f"/api/v1/members/{result['member']['id']}/").json()


@pytest.mark.services
def test_a_request_of_500_costs_the_queries_of_a_request_of_50(
    acme: Caller, body: Body, members: dict[str, int], plan: Plan, django_assert_max_num_queries: Any
) -> None:
    def request(n: int) -> list[Any]:
        items = mixed(body, members, plan)
        return items + [body(i, id_number=number(1000 + i)) for i in range(n - len(items))]

    with transaction.atomic(), CaptureQueriesContext(connection) as fifty:
        assert acme.post("/api/v1/members/bulk/", {"members": request(50)}).status_code == 200
        transaction.set_rollback(True)
    with django_assert_max_num_queries(len(fifty)):
        response = acme.post("/api/v1/members/bulk/", {"members": request(500)})
    assert sum(r["status"] == 201 for r in response.json()["results"]) > 470


@pytest.fixture
def overlapping() -> Iterator[None]:
    """Both requests read before either writes, so the race reaches the unique index."""
    original = bulk._write

    def slow(**kwargs: Any) -> list[Membership]:
        time.sleep(0.3)
        return original(**kwargs)

    with mock.patch.object(bulk, "_write", slow):
        yield


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_bulk_requests_enrolling_the_same_person_at_once_enrol_them_once(
    acme: Caller, body: Body, overlapping: None
) -> None:
    def post(serial: int) -> Callable[[], Any]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {acme.key}")
        items = [body(1, external_ref=f"same-person-{serial}"), body(serial)]
        return lambda: client.post("/api/v1/members/bulk/", {"members": items}, format="json")

    first, second = at_once(post(2), post(3))
    assert (first.status_code, second.status_code) == (200, 200)
    results = [first.json()["results"], second.json()["results"]]
    same_person = sorted((r[0]["status"], r[0].get("error", {}).get("code")) for r in results)
    assert same_person == [(201, None), (422, "already_enrolled")]
    assert [r[1]["status"] for r in results] == [201, 201]
    assert Membership.objects.filter(person__id_number_hash=hash_id_number(body(1)["id_number"])).count() == 1


def test_a_household_is_enrolled_in_one_request_by_naming_the_payer_by_reference(acme: Caller, body: Body) -> None:
    payer = body(1, external_ref="home-1")
    spouse = body(2, birth_date=date(1991, 3, 3), payer_ref="home-1", relationship="spouse", credit_score=None)
    child = body(3, birth_date=date(2016, 6, 6), payer_ref="home-1", relationship="child", credit_score=None)
    orphan = body(4, birth_date=date(2016, 6, 7), payer_ref="home-9", relationship="child", credit_score=None)
    results = acme.post("/api/v1/members/bulk/", {"members": [payer, spouse, child, orphan]}).json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201, 400]
    payer_id = results[0]["member"]["id"]
    assert [r["member"]["payer"] for r in results[1:3]] == [payer_id, payer_id]
    assert results[3]["error"]["code"] == "invalid" and list(results[3]["error"]["fields"]) == ["payer_ref"]
    listed = acme.get("/api/v1/members/", {"payer": payer_id}).json()["results"]
    assert sorted(m["relationship"] for m in listed) == ["child", "spouse"]
