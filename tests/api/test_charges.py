"""GET /api/v1/members/{id}/charges/: a payer's household's charges; another partner's member is 404."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Plan
from tests.api.conftest import Caller, error_code
from tests.api.money import partner_household
from tests.settlement.money import CAP_FEN, NOTICE, settle_period

CAP = {"amount": "0.10", "currency": "CNY"}


def test_a_payer_sees_the_charges_of_the_whole_household(acme: Caller, plan: Plan) -> None:
    home = partner_household(plan, acme.partner, dependants=2)
    period = settle_period(plan)
    response = acme.get(f"/api/v1/members/{home.payer.pk}/charges/")
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 3
    assert {c["member"] for c in page["results"]} == {m.pk for m in home.members}
    first = page["results"][0]
    assert first == {
        "period": period.pk,
        "charge_date": period.charge_date.isoformat(),
        "member": home.payer.pk,
        "amount": CAP,
        "share": first["share"],
    }
    assert int(first["share"]["amount"].replace(".", "")) >= CAP_FEN


def test_a_dependant_sees_only_their_own_charges(acme: Caller, plan: Plan) -> None:
    home = partner_household(plan, acme.partner, dependants=2)
    settle_period(plan)
    page = acme.get(f"/api/v1/members/{home.dependants[0].pk}/charges/").json()
    assert [c["member"] for c in page["results"]] == [home.dependants[0].pk]


def test_charges_come_newest_period_first(acme: Caller, plan: Plan) -> None:
    home = partner_household(plan, acme.partner, dependants=0)
    first = settle_period(plan)
    second = settle_period(plan, notice_date=NOTICE.replace(day=21))
    results = acme.get(f"/api/v1/members/{home.payer.pk}/charges/").json()["results"]
    assert [c["period"] for c in results] == [second.pk, first.pk]


def test_a_member_never_charged_has_an_empty_list(acme: Caller, plan: Plan) -> None:
    home = partner_household(plan, acme.partner, dependants=0)
    assert acme.get(f"/api/v1/members/{home.payer.pk}/charges/").json()["count"] == 0


@pytest.mark.parametrize("member", ["another partner's", "nobody's"])
def test_a_member_that_is_not_the_partners_is_404(acme: Caller, globex: Caller, plan: Plan, member: str) -> None:
    home = partner_household(plan, acme.partner, dependants=0)
    settle_period(plan)
    member_id = home.payer.pk if member == "another partner's" else 999_999
    response = globex.get(f"/api/v1/members/{member_id}/charges/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_the_number_of_queries_does_not_grow_with_the_page(acme: Caller, plan: Plan) -> None:
    home = partner_household(plan, acme.partner, dependants=9)
    settle_period(plan)
    path = f"/api/v1/members/{home.payer.pk}/charges/"
    # A first read fills the caches (the API key, the payout tiers), so both counts below are warm.
    acme.get(path, {"page_size": 1})
    with CaptureQueriesContext(connection) as small:
        assert len(acme.get(path, {"page_size": 2}).json()["results"]) == 2
    with CaptureQueriesContext(connection) as large:
        assert len(acme.get(path, {"page_size": 10}).json()["results"]) == 10
    assert len(large) == len(small)
