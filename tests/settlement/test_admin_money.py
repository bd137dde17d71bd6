"""Payments and payouts in admin: each "add" page is a small form handed to its service, the lists are
read-only, and a bad entry is an error on the form, never a 500 and never a row."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimStatus
from members.models import MembershipStatus, Plan, User
from settlement.models import EntryKind, JournalEntry, Payment, Payout
from settlement.selectors import payer_balance
from tests.settlement.conftest import period_with_claims
from tests.settlement.money import (
    CAP_FEN,
    PAYOUT_FEN,
    Household,
    assert_money_consistent,
    household,
    settle_period,
)

pytestmark = pytest.mark.django_db

PAYMENT_ADD = reverse("admin:settlement_payment_add")
PAYMENTS = reverse("admin:settlement_payment_changelist")
PAYOUT_ADD = reverse("admin:settlement_payout_add")
PAYOUTS = reverse("admin:settlement_payout_changelist")


def logged_in(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def staff(admin_user: User) -> Client:
    return logged_in(admin_user)


def form_errors(response: Any) -> dict[str, list[str]]:
    return {field: list(errors) for field, errors in response.context["adminform"].form.errors.items()}


def shared_claim_of(plan: Plan, home: Household, *, claimant_index: int = 1) -> Claim:
    period = settle_period(plan, claimant=home.members[claimant_index])
    return Claim.objects.get(notice_id=period.pk, member=home.members[claimant_index])


@pytest.mark.parametrize("url", [PAYMENT_ADD, PAYMENTS, PAYOUT_ADD, PAYOUTS])
def test_the_money_pages_need_staff(alice: User, url: str) -> None:
    assert Client().get(url).status_code == 302
    response = logged_in(alice).get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_without_the_add_permission_cannot_record_a_payment(plan: Plan) -> None:
    bob = User.objects.create_user(username="bob", password="bob-pass-123", is_staff=True)
    home = household(plan, dependants=0)
    response = logged_in(bob).post(PAYMENT_ADD, {"payer": home.payer.pk, "amount": "1.00", "reference": "TX-1"})
    assert response.status_code == 403
    assert not Payment.objects.exists()


def test_the_payment_form_shows_a_payer_lookup_limited_to_payers(staff: Client) -> None:
    response = staff.get(PAYMENT_ADD)
    assert response.status_code == 200
    assert "payer__isnull=True" in response.content.decode()


def test_recording_a_payment_through_the_admin_creates_one_payment_and_posts_it(
    plan: Plan, staff: Client, admin_user: User
) -> None:
    home = household(plan, dependants=2)
    settle_period(plan)
    response = staff.post(PAYMENT_ADD, {"payer": home.payer.pk, "amount": "0.30", "reference": " TX-1 "})
    assert response.status_code == 302 and response["Location"] == PAYMENTS
    payment = Payment.objects.get()
    assert (payment.payer, payment.amount_fen, payment.reference, payment.recorded_by) == (
        home.payer,
        3 * CAP_FEN,
        "TX-1",
        admin_user,
    )
    assert JournalEntry.objects.filter(key=f"payment-{payment.pk}", kind=EntryKind.PAYMENT).count() == 1
    assert payer_balance(payer=home.payer) == 0
    assert_money_consistent()


def test_the_same_reference_twice_records_one_payment(plan: Plan, staff: Client) -> None:
    home = household(plan, dependants=0)
    for _ in range(2):
        response = staff.post(PAYMENT_ADD, {"payer": home.payer.pk, "amount": "5", "reference": "TX-1"})
        assert response.status_code == 302
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert_money_consistent()


def test_the_same_reference_for_another_amount_is_a_form_error(plan: Plan, staff: Client) -> None:
    home = household(plan, dependants=0)
    staff.post(PAYMENT_ADD, {"payer": home.payer.pk, "amount": "5", "reference": "TX-1"})
    response = staff.post(PAYMENT_ADD, {"payer": home.payer.pk, "amount": "6", "reference": "TX-1"})
    assert response.status_code == 200
    assert "reference" in form_errors(response)
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-1", "1.234", "abc", "", "0.001"])
def test_a_bad_amount_is_a_form_error_and_records_nothing(plan: Plan, staff: Client, amount: str) -> None:
    home = household(plan, dependants=0)
    response = staff.post(PAYMENT_ADD, {"payer": home.payer.pk, "amount": amount, "reference": "TX-1"})
    assert response.status_code == 200
    assert list(form_errors(response)) == ["amount"]
    assert not Payment.objects.exists() and not JournalEntry.objects.exists()


def test_a_family_member_is_not_a_payer(plan: Plan, staff: Client) -> None:
    home = household(plan, dependants=1)
    response = staff.post(PAYMENT_ADD, {"payer": home.dependants[0].pk, "amount": "1", "reference": "TX-1"})
    assert response.status_code == 200
    assert "payer" in form_errors(response)
    assert not Payment.objects.exists()


def test_the_payments_list_shows_the_payer_amount_and_reference_and_nothing_can_be_edited(
    plan: Plan, staff: Client
) -> None:
    home = household(plan, dependants=0)
    staff.post(PAYMENT_ADD, {"payer": home.payer.pk, "amount": "1234.5", "reference": "TX-42"})
    payment = Payment.objects.get()
    page = staff.get(PAYMENTS).content.decode()
    assert f"{home.payer.person.name} ({home.payer.person.id_number_masked})" in page
    assert "1,234.50" in page and "TX-42" in page and "admin" in page
    change = reverse("admin:settlement_payment_change", args=[payment.pk])
    assert staff.post(change, {"reference": "TX-43"}).status_code == 403
    assert staff.post(reverse("admin:settlement_payment_delete", args=[payment.pk]), {"post": "yes"}).status_code == 403
    payment.refresh_from_db()
    assert payment.reference == "TX-42"


def test_disbursing_a_shared_claim_marks_it_paid_and_the_member_paid_out(
    plan: Plan, staff: Client, admin_user: User
) -> None:
    home = household(plan, dependants=2)
    claim = shared_claim_of(plan, home)
    assert staff.get(PAYOUT_ADD).content.decode().count(f'value="{claim.pk}"') == 1
    response = staff.post(PAYOUT_ADD, {"claim": claim.pk})
    assert response.status_code == 302 and response["Location"] == PAYOUTS
    payout = Payout.objects.get()
    assert (payout.claim, payout.payer, payout.paid_by) == (claim, home.payer, admin_user)
    assert (payout.gross_fen, payout.arrears_deducted_fen) == (PAYOUT_FEN, 3 * CAP_FEN)
    claim.refresh_from_db()
    claimant = home.members[1]
    claimant.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert claimant.status == MembershipStatus.PAID_OUT
    assert_money_consistent()
    page = staff.get(PAYOUTS).content.decode()
    assert "300,000.00" in page and "299,999.70" in page and "0.30" in page


def test_a_claim_not_shared_is_a_form_error(plan: Plan, staff: Client) -> None:
    home = household(plan, dependants=0)
    period = period_with_claims(plan, payouts=[PAYOUT_FEN], claimant=home.payer, notice_date=date(2025, 6, 7))
    claim = Claim.objects.get(notice_id=period.pk)
    assert f'value="{claim.pk}"' not in staff.get(PAYOUT_ADD).content.decode()
    response = staff.post(PAYOUT_ADD, {"claim": claim.pk})
    assert response.status_code == 200
    assert "claim" in form_errors(response)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_NOTICE
    assert not Payout.objects.exists()


def test_a_claim_already_paid_cannot_be_chosen_again(plan: Plan, staff: Client) -> None:
    home = household(plan, dependants=2)
    claim = shared_claim_of(plan, home)
    staff.post(PAYOUT_ADD, {"claim": claim.pk})
    response = staff.post(PAYOUT_ADD, {"claim": claim.pk})
    assert response.status_code == 200 and "claim" in form_errors(response)
    assert Payout.objects.count() == 1
