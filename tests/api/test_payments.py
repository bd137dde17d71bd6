"""POST /api/v1/payments/: recorded once per reference and partner; GET /payments/ and /payments/{id}/."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from members.models import Plan
from settlement.models import Payment
from settlement.selectors import payer_balance
from tests.api.conftest import Caller, error_code
from tests.api.money import partner_household
from tests.concurrency import at_once
from tests.settlement.money import Household, assert_money_consistent, settle_period

PAYMENTS = "/api/v1/payments/"


@pytest.fixture
def home(acme: Caller, plan: Plan) -> Household:
    """Acme's household of three, charged 0.30 yuan for one settled period."""
    household = partner_household(plan, acme.partner, dependants=2)
    settle_period(plan)
    return household


def pay(payer: int, amount: str = "0.30", reference: str = "alipay-8812") -> dict[str, Any]:
    return {"payer": payer, "amount": amount, "reference": reference}


def test_it_records_a_payment(acme: Caller, home: Household) -> None:
    response = acme.post(PAYMENTS, pay(home.payer.pk))
    assert response.status_code == 201
    payment = response.json()
    assert set(payment) == {"id", "payer", "amount", "reference", "received_at"}
    assert payment["payer"] == home.payer.pk
    assert payment["amount"] == {"amount": "0.30", "currency": "CNY"}
    assert payment["reference"] == "alipay-8812"
    assert payer_balance(payer=home.payer) == 0
    assert_money_consistent()


def test_the_same_reference_again_returns_the_same_payment_with_200(acme: Caller, home: Household) -> None:
    first = acme.post(PAYMENTS, pay(home.payer.pk))
    again = acme.post(PAYMENTS, pay(home.payer.pk, reference=" alipay-8812 "))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Payment.objects.count() == 1
    assert payer_balance(payer=home.payer) == 0


@pytest.mark.parametrize("change", ["amount", "payer"])
def test_the_same_reference_for_another_amount_or_payer_is_409(
    acme: Caller, home: Household, plan: Plan, change: str
) -> None:
    acme.post(PAYMENTS, pay(home.payer.pk))
    other = partner_household(plan, acme.partner, dependants=0).payer.pk
    body = pay(home.payer.pk, amount="0.31") if change == "amount" else pay(other)
    response = acme.post(PAYMENTS, body)
    assert response.status_code == 409
    assert error_code(response) == "payment_reference_conflict"
    assert "reference" in response.json()["error"]["fields"]
    assert Payment.objects.count() == 1


def test_references_are_unique_per_partner_only(acme: Caller, globex: Caller, home: Household, plan: Plan) -> None:
    theirs = partner_household(plan, globex.partner, dependants=0)
    assert acme.post(PAYMENTS, pay(home.payer.pk)).status_code == 201
    response = globex.post(PAYMENTS, pay(theirs.payer.pk, amount="0.10"))
    assert response.status_code == 201
    assert Payment.objects.count() == 2


@pytest.mark.parametrize("payer", ["another partner's", "nobody's"])
def test_a_payer_that_is_not_the_partners_is_404(globex: Caller, home: Household, payer: str) -> None:
    payer_id = home.payer.pk if payer == "another partner's" else 999_999
    response = globex.post(PAYMENTS, pay(payer_id))
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert "payer" in response.json()["error"]["fields"]
    assert not Payment.objects.exists()


def test_a_dependant_cannot_pay(acme: Caller, home: Household) -> None:
    response = acme.post(PAYMENTS, pay(home.dependants[0].pk))
    assert response.status_code == 400
    assert error_code(response) == "not_a_payer"
    assert "payer" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "amount", ["0", "0.00", "-1.00", "3.505", "abc", "", "NaN", "Infinity", "1e3", 3.5, 3, None, "99999999999.00"]
)
def test_an_amount_that_is_not_positive_yuan_with_two_decimals_is_400(
    acme: Caller, home: Household, amount: Any
) -> None:
    response = acme.post(PAYMENTS, pay(home.payer.pk, amount=amount))
    assert response.status_code == 400, amount
    assert error_code(response) == "invalid"
    assert set(response.json()["error"]["fields"]) == {"amount"}
    assert not Payment.objects.exists()


@pytest.mark.parametrize("reference", ["", "   ", "x" * 65, None, "a\x00b"])
def test_a_missing_or_malformed_reference_is_400(acme: Caller, home: Household, reference: Any) -> None:
    response = acme.post(PAYMENTS, pay(home.payer.pk, reference=reference))
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"reference"}


def test_a_body_without_fields_names_each_missing_one(acme: Caller, home: Household) -> None:
    response = acme.post(PAYMENTS, {})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"payer", "amount", "reference"}


def test_an_idempotency_key_replays_the_first_answer(acme: Caller, home: Household) -> None:
    first = acme.post(PAYMENTS, pay(home.payer.pk), HTTP_IDEMPOTENCY_KEY="p-1")
    again = acme.post(PAYMENTS, pay(home.payer.pk), HTTP_IDEMPOTENCY_KEY="p-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    conflict = acme.post(PAYMENTS, pay(home.payer.pk, reference="other"), HTTP_IDEMPOTENCY_KEY="p-1")
    assert conflict.status_code == 409
    assert error_code(conflict) == "idempotency_conflict"
    assert Payment.objects.count() == 1


def test_it_lists_the_partners_payments_only(acme: Caller, globex: Caller, home: Household, plan: Plan) -> None:
    theirs = partner_household(plan, globex.partner, dependants=0)
    other = partner_household(plan, acme.partner, dependants=0)
    acme.post(PAYMENTS, pay(home.payer.pk, reference="a-1"))
    acme.post(PAYMENTS, pay(other.payer.pk, reference="a-2"))
    globex.post(PAYMENTS, pay(theirs.payer.pk, reference="g-1"))
    page = acme.get(PAYMENTS).json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert {p["reference"] for p in page["results"]} == {"a-1", "a-2"}
    filtered = acme.get(PAYMENTS, {"payer": home.payer.pk}).json()["results"]
    assert [p["reference"] for p in filtered] == ["a-1"]
    assert acme.get(PAYMENTS, {"payer": theirs.payer.pk}).json()["count"] == 0


def test_a_bad_payer_filter_is_400(acme: Caller) -> None:
    response = acme.get(PAYMENTS, {"payer": "x"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"payer"}


def test_it_shows_one_payment_and_hides_other_partners(acme: Caller, globex: Caller, home: Household) -> None:
    payment = acme.post(PAYMENTS, pay(home.payer.pk)).json()
    assert acme.get(f"{PAYMENTS}{payment['id']}/").json() == payment
    response = globex.get(f"{PAYMENTS}{payment['id']}/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_ten_identical_payments_at_once_record_one_and_answer_201_once(acme: Caller, plan: Plan) -> None:
    payer = partner_household(plan, acme.partner, dependants=0).payer

    def send() -> tuple[int, int]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {acme.key}")
        response = client.post(PAYMENTS, pay(payer.pk), format="json")
        return response.status_code, response.json()["id"]

    results = at_once(*[send] * 10, timeout=60)
    assert sorted(status for status, _ in results) == [200] * 9 + [201], results
    assert len({payment for _, payment in results}) == 1
    assert Payment.objects.count() == 1
    assert_money_consistent()
