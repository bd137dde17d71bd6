"""GET /api/v1/periods/ and /periods/{id}/: public to every partner, the figures of the public report."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from members.models import Plan
from settlement.models import Period
from tests.api.conftest import Caller, error_code
from tests.settlement.conftest import add_members, period_with_claims, settle_now

FIELDS = {
    "id", "notice_date", "charge_date", "status", "sharers", "claims", "payouts_total", "fee_total", "total",
    "per_member", "max_charge", "operator_subsidy",
}  # fmt: skip


def yuan(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def test_it_shows_a_settled_periods_figures(acme: Caller, settled: Period) -> None:
    response = acme.get(f"/api/v1/periods/{settled.pk}/")
    assert response.status_code == 200
    period = response.json()
    assert set(period) == FIELDS
    assert period["id"] == settled.pk
    assert period["notice_date"] == "2025-06-07"
    assert period["charge_date"] == "2025-06-14"
    assert period["status"] == "settled"
    assert period["sharers"] == 7
    assert period["payouts_total"] == yuan("12.50")
    assert period["fee_total"] == yuan("1.00")
    assert period["total"] == yuan("13.50")
    assert period["per_member"] == yuan("1.92")
    assert period["max_charge"] == yuan("1.93")
    assert period["operator_subsidy"] == yuan("0.00")


def test_it_lists_the_claims_anonymised_with_their_cost_per_member(acme: Caller, settled: Period) -> None:
    claims = acme.get(f"/api/v1/periods/{settled.pk}/").json()["claims"]
    assert [c["payout"] for c in claims] == [yuan("10.00"), yuan("2.50")]
    first = claims[0]
    assert set(first) == {"masked_name", "age", "sex", "condition", "payout", "cost_per_member", "capped"}
    assert first["masked_name"].startswith("成") and "*" in first["masked_name"]
    assert first["age"] == 35
    assert first["sex"] == "M"
    assert first["condition"] == settled.plan.conditions.order_by("code").values_list("code", flat=True)[0]
    # (10.00 + 8% fee) / 7 sharers = 1.542857… yuan
    assert first["cost_per_member"] == "1.5429"
    assert first["capped"] is False
    assert "member" not in first and "id_number_masked" not in first


def test_a_claim_above_the_per_claim_cap_is_marked_capped(acme: Caller, plan: Plan) -> None:
    add_members(plan, 3)
    period = settle_now(period_with_claims(plan, payouts=[30_000_000]))
    claim = acme.get(f"/api/v1/periods/{period.pk}/").json()["claims"][0]
    assert claim["capped"] is True
    assert acme.get(f"/api/v1/periods/{period.pk}/").json()["operator_subsidy"]["amount"] != "0.00"


def test_a_period_in_notice_lists_its_claims_but_no_figures_yet(acme: Caller, big_caps: Plan) -> None:
    add_members(big_caps, 7)
    period = period_with_claims(big_caps, payouts=[1_000])
    body = acme.get(f"/api/v1/periods/{period.pk}/").json()
    assert body["status"] == "in_notice"
    assert len(body["claims"]) == 1
    assert body["claims"][0]["cost_per_member"] is None
    for figure in ("sharers", "payouts_total", "fee_total", "total", "per_member", "max_charge", "operator_subsidy"):
        assert body[figure] is None, figure


def test_periods_are_public_to_every_partner(acme: Caller, globex: Caller, settled: Period) -> None:
    assert acme.get(f"/api/v1/periods/{settled.pk}/").json() == globex.get(f"/api/v1/periods/{settled.pk}/").json()
    assert globex.get("/api/v1/periods/").json()["count"] == 1


def test_it_lists_the_periods_newest_first_in_pages(acme: Caller, big_caps: Plan, settled: Period) -> None:
    later = period_with_claims(big_caps, payouts=[500], notice_date=date(2025, 6, 21))
    page = acme.get("/api/v1/periods/", {"page_size": 1}).json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 2
    assert [p["id"] for p in page["results"]] == [later.pk]
    assert "page=2" in page["next"]
    assert acme.get("/api/v1/periods/", {"page": 2, "page_size": 1}).json()["results"][0]["id"] == settled.pk


def test_the_number_of_queries_does_not_grow_with_the_periods_or_their_claims(acme: Caller, big_caps: Plan) -> None:
    start = date(2025, 1, 7)
    for week in range(10):
        period_with_claims(big_caps, payouts=[100] * (1 + week % 3), notice_date=start + timedelta(weeks=week))
    # A first read fills the caches (the API key, the payout tiers), so both counts below are warm.
    acme.get("/api/v1/periods/", {"page_size": 1})
    with CaptureQueriesContext(connection) as small:
        assert len(acme.get("/api/v1/periods/", {"page_size": 2}).json()["results"]) == 2
    with CaptureQueriesContext(connection) as large:
        assert len(acme.get("/api/v1/periods/", {"page_size": 10}).json()["results"]) == 10
    assert len(large) == len(small)


def test_a_period_that_does_not_exist_is_404(acme: Caller) -> None:
    response = acme.get("/api/v1/periods/999999/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_periods_need_a_key(client: Client, settled: Period) -> None:
    response = client.get("/api/v1/periods/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
