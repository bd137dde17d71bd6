"""GET /api/v1/members/ and /members/{id}/, POST /members/{id}/exit/: a partner's own members only."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.serializers import Serializer

from members import selectors as member_selectors
from members.apis import MemberDetailApi, MemberSerializer
from members.models import CreditSource, Membership, MembershipStatus, Person, Plan
from members.selectors import TIERS_SECONDS, memberships_for_partner, plan_payout_tiers_forget
from settlement.selectors import memberships_with_balance
from tests.api.conftest import Caller, error_code

Body = Callable[..., dict[str, Any]]


def many_members(partner: Any, plan: Plan, count: int) -> None:
    """Rows straight into the tables: a long list without `count` enrolments' worth of checks."""
    people = Person.objects.bulk_create(
        Person(
            name="李四",
            id_number_encrypted="-",
            id_number_hash=f"bulk-{partner.pk if partner else 0}-{i}",
            id_number_masked="110105********0000",
            birth_date=date(1990, 1, 1),
            sex="F",
        )
        for i in range(count)
    )
    today = date.today()
    Membership.objects.bulk_create(
        Membership(
            plan=plan,
            person=person,
            partner=partner,
            relationship="self",
            status=MembershipStatus.WAITING,
            joined_on=today,
            waiting_period_ends=today + timedelta(days=90),
            credit_source=CreditSource.ATTESTED,
            external_ref=f"bulk-{person.pk}",
        )
        for person in people
    )


def test_it_lists_only_the_partners_own_members(acme: Caller, globex: Caller, body: Body) -> None:
    acme.post("/api/v1/members/", body(1))
    acme.post("/api/v1/members/", body(2))
    globex.post("/api/v1/members/", body(3))
    page = acme.get("/api/v1/members/").json()
    assert page["count"] == 2
    assert set(page) == {"count", "next", "previous", "results"}
    assert {m["external_ref"] for m in page["results"]} == {"p-1", "p-2"}
    assert globex.get("/api/v1/members/").json()["count"] == 1


def test_it_filters_by_status_external_ref_and_payer(acme: Caller, body: Body, enrolled: dict[str, Any]) -> None:
    acme.post("/api/v1/members/", body(2, birth_date=date(2015, 1, 1), payer=enrolled["id"], relationship="child"))
    acme.post("/api/v1/members/", body(3, credit_score=None))
    assert acme.get("/api/v1/members/", {"status": "pending_review"}).json()["count"] == 1
    assert [m["id"] for m in acme.get("/api/v1/members/", {"external_ref": "p-1"}).json()["results"]] == [
        enrolled["id"]
    ]
    dependants = acme.get("/api/v1/members/", {"payer": enrolled["id"]}).json()["results"]
    assert [m["external_ref"] for m in dependants] == ["p-2"]


def test_it_answers_400_to_a_bad_filter(acme: Caller) -> None:
    response = acme.get("/api/v1/members/", {"status": "asleep", "payer": "99999999999999999999999"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"status", "payer"}


def test_it_pages_the_list_and_caps_the_page_size(acme: Caller, plan: Plan) -> None:
    many_members(acme.partner, plan, 501)
    first = acme.get("/api/v1/members/", {"page_size": 10}).json()
    assert first["count"] == 501
    assert len(first["results"]) == 10
    assert "page=2" in first["next"]
    assert first["previous"] is None
    assert len(acme.get("/api/v1/members/", {"page_size": 10_000}).json()["results"]) == 500
    assert len(acme.get("/api/v1/members/").json()["results"]) == 50


@pytest.mark.parametrize("page", ["abc", "0", "-1", "１"])
def test_a_page_that_is_not_a_whole_number_from_1_is_400(acme: Caller, page: str) -> None:
    response = acme.get("/api/v1/members/", {"page": page})
    assert response.status_code == 400
    assert error_code(response) == "invalid" and list(response.json()["error"]["fields"]) == ["page"]


def test_a_page_past_the_end_is_404(acme: Caller) -> None:
    response = acme.get("/api/v1/members/", {"page": 9})
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_the_number_of_queries_does_not_grow_with_the_page(acme: Caller, plan: Plan) -> None:
    many_members(acme.partner, plan, 60)
    # A first read fills the caches (the API key, the payout tiers), so both counts below are warm.
    acme.get("/api/v1/members/", {"page_size": 1})
    with CaptureQueriesContext(connection) as small:
        assert acme.get("/api/v1/members/", {"page_size": 2}).status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert acme.get("/api/v1/members/", {"page_size": 60}).status_code == 200
    assert len(large) == len(small)
    assert len(large) <= 5


def test_it_shows_one_member(acme: Caller, enrolled: dict[str, Any]) -> None:
    response = acme.get(f"/api/v1/members/{enrolled['id']}/")
    assert response.status_code == 200
    assert response.json() == enrolled


def test_one_member_is_read_in_one_query(acme: Caller, enrolled: dict[str, Any]) -> None:
    """The member, its person and its balance in one statement; the key and the payout tiers are cached
    (filled by the enrolment's own answer), and no column the member object leaves out is loaded later."""
    with CaptureQueriesContext(connection) as read:
        response = acme.get(f"/api/v1/members/{enrolled['id']}/")
    assert response.json() == enrolled
    assert len(read) == 1, [query["sql"] for query in read.captured_queries]
    assert "id_number_encrypted" not in read.captured_queries[0]["sql"]


def test_a_payout_tier_changed_in_the_admin_shows_in_the_next_read(
    acme: Caller, enrolled: dict[str, Any], plan: Plan
) -> None:
    assert enrolled["coverage"] == {"amount": "300000.00", "currency": "CNY"}
    tier = plan.payout_tiers.get(from_age=0)
    tier.amount_fen = 250_000_00
    tier.save()
    assert acme.get(f"/api/v1/members/{enrolled['id']}/").json()["coverage"]["amount"] == "250000.00"


def test_a_tier_changed_by_another_process_shows_within_the_tiers_time(
    acme: Caller, enrolled: dict[str, Any], plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change made elsewhere sends no signal here: this process sees it when its copy runs out."""
    now = [1_000.0]
    monkeypatch.setattr(member_selectors, "_clock", lambda: now[0])
    plan_payout_tiers_forget()
    path = f"/api/v1/members/{enrolled['id']}/"
    assert acme.get(path).json()["coverage"]["amount"] == "300000.00"
    plan.payout_tiers.filter(from_age=0).update(amount_fen=250_000_00)  # a queryset update: no signal
    now[0] += TIERS_SECONDS - 0.5
    assert acme.get(path).json()["coverage"]["amount"] == "300000.00"
    now[0] += 1
    assert acme.get(path).json()["coverage"]["amount"] == "250000.00"


@pytest.mark.parametrize("suffix", ["", "exit/"])
def test_another_partners_member_is_404(globex: Caller, enrolled: dict[str, Any], suffix: str) -> None:
    path = f"/api/v1/members/{enrolled['id']}/{suffix}"
    response = globex.post(path) if suffix else globex.get(path)
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert Membership.objects.get(pk=enrolled["id"]).status == MembershipStatus.WAITING


def test_a_member_that_does_not_exist_is_404_too(acme: Caller) -> None:
    assert acme.get("/api/v1/members/999999/").status_code == 404
    assert acme.get(f"/api/v1/members/{2**70}/").status_code == 404


def test_it_exits_a_member(acme: Caller, enrolled: dict[str, Any]) -> None:
    response = acme.post(f"/api/v1/members/{enrolled['id']}/exit/")
    assert response.status_code == 200
    assert response.json()["status"] == "exited"
    assert response.json()["coverage"] is None


def test_the_member_object_written_out_is_what_drf_makes_of_the_declared_fields(
    acme: Caller, body: Body, enrolled: dict[str, Any]
) -> None:
    """MemberSerializer writes its fields out by hand for speed: for a payer, a dependant, a member
    covered and one not, with a balance and without, it must give exactly DRF's own walk over them."""
    child = acme.post(
        "/api/v1/members/", body(2, birth_date=date(2015, 1, 1), payer=enrolled["id"], relationship="child")
    )
    exited = acme.post("/api/v1/members/", body(3, external_ref="")).json()
    acme.post(f"/api/v1/members/{exited['id']}/exit/")
    Membership.objects.filter(pk=enrolled["id"]).update(status=MembershipStatus.ACTIVE)
    view = MemberDetailApi(annotate=memberships_with_balance)
    ids = [enrolled["id"], child.json()["id"], exited["id"]]
    members = list(view.members(memberships_for_partner(partner=acme.partner)).filter(pk__in=ids))
    members += list(memberships_for_partner(partner=acme.partner).filter(pk__in=ids))  # no balance annotated
    assert len(members) == 6
    for member in members:
        serializer = MemberSerializer()
        assert serializer.to_representation(member) == Serializer.to_representation(serializer, member)
    assert {m["status"] for m in (MemberSerializer(m).data for m in members)} == {"active", "waiting", "exited"}


def test_a_payer_with_dependants_cannot_exit(acme: Caller, body: Body, enrolled: dict[str, Any]) -> None:
    acme.post("/api/v1/members/", body(2, birth_date=date(2015, 1, 1), payer=enrolled["id"], relationship="child"))
    response = acme.post(f"/api/v1/members/{enrolled['id']}/exit/")
    assert response.status_code == 409
    assert error_code(response) == "has_dependants"


def test_exiting_twice_is_a_409(acme: Caller, enrolled: dict[str, Any]) -> None:
    acme.post(f"/api/v1/members/{enrolled['id']}/exit/")
    response = acme.post(f"/api/v1/members/{enrolled['id']}/exit/")
    assert response.status_code == 409
    assert error_code(response) == "invalid_transition"


@pytest.mark.parametrize("name", ["status", "external_ref", "payer"])
def test_a_filter_sent_empty_is_400_not_ignored(acme: Caller, enrolled: dict[str, Any], name: str) -> None:
    response = acme.get(f"/api/v1/members/?{name}=")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {name}


@pytest.mark.parametrize("size", ["0", "-1", "ten", "1.5"])
def test_a_page_size_that_is_not_a_whole_number_above_0_is_400(acme: Caller, size: str) -> None:
    response = acme.get("/api/v1/members/", {"page_size": size})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"page_size"}


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.services
def test_one_member_is_found_through_the_partner_and_id_index_even_on_stale_statistics(
    acme: Caller, plan: Plan
) -> None:
    """Statistics taken while the partner had no members, as right after a large enrolment that
    autovacuum has not analysed yet: the planner must still go straight to the one row, not walk the
    partner's members and filter them by id (which it did with an index on the partner alone)."""
    many_members(None, plan, 3_000)  # members who joined on the site
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE members_membership")
    many_members(acme.partner, plan, 3_000)
    last = Membership.objects.filter(partner=acme.partner).latest("id")
    found = json.loads(
        memberships_for_partner(partner=acme.partner).filter(pk=last.pk).explain(format="json", analyze=True)
    )
    nodes = list(_plan_nodes(found[0]["Plan"]))
    membership_scans = [n for n in nodes if n.get("Relation Name") == "members_membership"]
    assert membership_scans, nodes
    assert all(n.get("Rows Removed by Filter", 0) == 0 for n in nodes), nodes
    assert {n.get("Index Name") for n in membership_scans} <= {"membership_partner_id", "members_membership_pkey"}
