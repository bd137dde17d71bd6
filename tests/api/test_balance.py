"""The member object's `balance`: payers only, Σ payments (and arrears settled from payouts, refunds) − Σ
charges, exactly as the ledger's sub-ledger counts it; null for dependants; one query for any page."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.models import Claim, ClaimStatus
from members.models import Plan
from settlement.selectors import payer_balance
from settlement.services import payment_record, payout_disburse
from tests.api.conftest import Caller
from tests.api.money import partner_household
from tests.settlement.money import CAP_FEN, NOTICE, settle_period


def balance(caller: Caller, member_id: int) -> Any:
    return caller.get(f"/api/v1/members/{member_id}/").json()["balance"]


def test_a_payer_owes_the_households_charges(acme: Caller, plan: Plan) -> None:
    home = partner_household(plan, acme.partner, dependants=2)
    settle_period(plan)
    assert balance(acme, home.payer.pk) == {"amount": "-0.30", "currency": "CNY"}


def test_a_payment_brings_the_balance_up(acme: Caller, plan: Plan) -> None:
    home = partner_household(plan, acme.partner, dependants=2)
    settle_period(plan)
    acme.post("/api/v1/payments/", {"payer": home.payer.pk, "amount": "0.50", "reference": "tx-1"})
    assert balance(acme, home.payer.pk) == {"amount": "0.20", "currency": "CNY"}
    assert payer_balance(payer=home.payer) == 20


def test_payments_recorded_in_admin_count_too(acme: Caller, plan: Plan, admin_user: Any) -> None:
    home = partner_household(plan, acme.partner, dependants=0)
    settle_period(plan)
    payment_record(payer=home.payer, amount_fen=CAP_FEN, reference="desk-1", by=admin_user)
    assert balance(acme, home.payer.pk) == {"amount": "0.00", "currency": "CNY"}


def test_arrears_deducted_from_a_payout_settle_the_balance(acme: Caller, plan: Plan, admin_user: Any) -> None:
    home = partner_household(plan, acme.partner, dependants=1)
    # The first period charges the household; in the second, the dependant's claim is shared and paid
    # out, less the household's arrears.
    settle_period(plan)
    settle_period(plan, notice_date=NOTICE.replace(day=21), claimant=home.dependants[0])
    claim = Claim.objects.get(member=home.dependants[0], status=ClaimStatus.SHARED)
    owed = -payer_balance(payer=home.payer)
    payout = payout_disburse(claim=claim, by=admin_user)
    assert payout.arrears_deducted_fen == owed > 0
    assert balance(acme, home.payer.pk) == {"amount": "0.00", "currency": "CNY"}


def test_a_dependant_has_no_balance(acme: Caller, plan: Plan) -> None:
    home = partner_household(plan, acme.partner, dependants=1)
    settle_period(plan)
    assert balance(acme, home.dependants[0].pk) is None


def test_the_list_shows_each_payers_balance(acme: Caller, plan: Plan) -> None:
    first = partner_household(plan, acme.partner, dependants=1)
    second = partner_household(plan, acme.partner, dependants=0)
    settle_period(plan)
    members = {m["id"]: m["balance"] for m in acme.get("/api/v1/members/").json()["results"]}
    assert members == {
        first.payer.pk: {"amount": "-0.20", "currency": "CNY"},
        first.dependants[0].pk: None,
        second.payer.pk: {"amount": "-0.10", "currency": "CNY"},
    }


def test_exit_and_bulk_answer_with_the_balance_too(acme: Caller, plan: Plan, body: Any) -> None:
    home = partner_household(plan, acme.partner, dependants=0)
    settle_period(plan)
    exited = acme.post(f"/api/v1/members/{home.payer.pk}/exit/").json()
    assert exited["balance"] == {"amount": "-0.10", "currency": "CNY"}
    bulk = acme.post("/api/v1/members/bulk/", {"members": [body(1), body(2, credit_score=1)]}).json()
    assert bulk["results"][0]["member"]["balance"] == {"amount": "0.00", "currency": "CNY"}
    assert bulk["results"][1]["status"] == 422


def test_the_number_of_queries_is_the_same_for_2_and_10_members(acme: Caller, plan: Plan) -> None:
    for _ in range(5):
        partner_household(plan, acme.partner, dependants=1)
    settle_period(plan)
    # The first read also fills the caches (the key, the payout tiers): both reads below find them there.
    acme.get("/api/v1/members/", {"page_size": 1})
    with CaptureQueriesContext(connection) as small:
        assert len(acme.get("/api/v1/members/", {"page_size": 2}).json()["results"]) == 2
    with CaptureQueriesContext(connection) as large:
        assert len(acme.get("/api/v1/members/", {"page_size": 10}).json()["results"]) == 10
    assert len(large) == len(small)
