"""The decision buttons on the claim page: each posts to the claim's transition address, which calls one
service; refusals come back as messages on the claim page, never as an error page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from claims.models import Claim, ClaimStatus, ClaimTransition, RejectionReason
from claims.services import claim_approve, claim_start_investigation
from members.dates import age_in_years
from members.models import MembershipStatus, User
from tests.claims.test_admin_claims import Enrol, change_url, covered_member, file_claim, staff_client


@pytest.fixture
def staff(admin_user: User) -> Client:
    return staff_client(admin_user)


@pytest.fixture
def admin2(db: Any) -> User:
    return User.objects.create_superuser(username="admin2", password="admin2-pass-123", email="admin2@example.com")


@pytest.fixture
def staff2(admin2: User) -> Client:
    return staff_client(admin2)


@pytest.fixture
def submitted(enrol: Enrol, alice: User) -> Claim:
    """Alice's claim for an illness diagnosed ten days ago, a year after she joined: submitted."""
    return file_claim(covered_member(enrol, account=alice, name="王芳"))


@pytest.fixture
def investigating(submitted: Claim, admin_user: User) -> Claim:
    return claim_start_investigation(claim=submitted, by=admin_user)


def decide(client: Client, claim: Claim, action: str, *, expected_status: str | None = None, **data: str) -> Any:
    """Press a button as the page rendered it: the status the admin saw travels with the form."""
    return client.post(
        reverse("admin:claims_claim_transition", args=[claim.pk]),
        {"action": action, "expected_status": expected_status or claim.status, **data},
        follow=True,
    )


def shown_messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def reloaded(claim: Claim) -> Claim:
    return Claim.objects.get(pk=claim.pk)


# --- the buttons the page offers ----------------------------------------------------------------


def test_it_offers_start_investigation_reject_and_withdraw_for_a_submitted_claim(
    staff: Client, submitted: Claim
) -> None:
    html = staff.get(change_url(submitted)).content.decode()
    assert 'value="start_investigation"' in html
    assert 'value="reject"' in html
    assert 'value="withdraw"' in html
    assert 'value="approve"' not in html
    assert 'name="expected_status" value="submitted"' in html


def test_it_offers_approve_reject_and_withdraw_for_a_claim_under_investigation(
    staff: Client, investigating: Claim
) -> None:
    html = staff.get(change_url(investigating)).content.decode()
    assert 'value="approve"' in html
    assert 'value="reject"' in html
    assert 'value="withdraw"' in html
    assert 'value="start_investigation"' not in html
    assert "Approve</button>" in html
    assert "300,000.00" in html  # what the rules would pay, before anyone decides


def test_it_offers_every_rejection_reason_with_its_label(staff: Client, submitted: Claim) -> None:
    html = staff.get(change_url(submitted)).content.decode()
    for code, label in RejectionReason.choices:
        assert f'<option value="{code}">{escape(label)} ({code})</option>' in html


def test_it_offers_no_buttons_once_a_claim_is_decided(staff: Client, submitted: Claim, admin_user: User) -> None:
    decide(staff, submitted, "withdraw")
    html = staff.get(change_url(submitted)).content.decode()
    assert 'name="action"' not in html
    assert "An administrator takes no decision on a claim that is “withdrawn”." in html


# --- start investigation -------------------------------------------------------------------------


def test_it_starts_the_investigation(staff: Client, submitted: Claim) -> None:
    response = decide(staff, submitted, "start_investigation", note="asked the hospital")
    assert response.redirect_chain[-1][0] == change_url(submitted)
    assert shown_messages(response) == [f"Claim #{submitted.pk} is now “under investigation”."]
    assert reloaded(submitted).status == ClaimStatus.INVESTIGATING
    step = submitted.transitions.last()
    assert step is not None
    assert (step.action, step.by.username, step.note) == ("start_investigation", "admin", "asked the hospital")


# --- approve, four eyes --------------------------------------------------------------------------


def test_it_approves_with_a_proposal_by_one_admin_and_a_confirmation_by_another(
    staff: Client, staff2: Client, investigating: Claim
) -> None:
    proposed = decide(staff, investigating, "approve")
    assert "A second, different administrator must confirm the approval." in shown_messages(proposed)[0]
    claim = reloaded(investigating)
    assert claim.status == ClaimStatus.INVESTIGATING
    assert claim.approval_proposed_by is not None
    assert claim.approval_proposed_by.username == "admin"
    assert claim.payout_fen is None

    confirmed = decide(staff2, claim, "approve", note="report checked")
    assert shown_messages(confirmed) == [f"Claim #{claim.pk} approved: the payout is 300,000.00 yuan."]
    claim = reloaded(claim)
    assert claim.status == ClaimStatus.APPROVED
    assert claim.payout_fen == 300_000_00
    assert claim.age_at_diagnosis == age_in_years(claim.member.person.birth_date, claim.diagnosed_on)
    assert list(claim.transitions.values_list("action", "by__username")) == [
        ("file", "13800000001"),
        ("start_investigation", "admin"),
        ("propose_approval", "admin"),
        ("approve", "admin2"),
    ]


def test_it_labels_the_button_confirm_approval_and_disables_it_for_the_proposer(
    staff: Client, staff2: Client, investigating: Claim
) -> None:
    decide(staff, investigating, "approve")
    own_page = staff.get(change_url(investigating)).content.decode()
    assert "Confirm approval (proposed by admin)" in own_page
    assert 'class="button default" disabled' in own_page
    other_page = staff2.get(change_url(investigating)).content.decode()
    assert "Confirm approval (proposed by admin)" in other_page
    assert "disabled" not in other_page.split('value="approve"')[1].split("</form>")[0]


def test_it_refuses_the_same_admin_confirming_their_own_proposal(staff: Client, investigating: Claim) -> None:
    decide(staff, investigating, "approve")
    steps = investigating.transitions.count()
    response = decide(staff, investigating, "approve")
    assert response.status_code == 200
    assert shown_messages(response) == ["A second, different administrator must confirm this approval."]
    claim = reloaded(investigating)
    assert (claim.status, claim.payout_fen) == (ClaimStatus.INVESTIGATING, None)
    assert claim.transitions.count() == steps


def test_it_explains_a_refused_approval_and_preselects_that_reason(staff: Client, in_waiting_period: Claim) -> None:
    response = decide(staff, in_waiting_period, "approve")
    label = RejectionReason.WAITING_PERIOD.label
    assert shown_messages(response) == [f"Cannot approve: {label} (waiting_period)"]
    assert response.redirect_chain[-1][0] == f"{change_url(in_waiting_period)}?reject_reason=waiting_period"
    assert '<option value="waiting_period" selected>' in response.content.decode()
    claim = reloaded(in_waiting_period)
    assert (claim.status, claim.approval_proposed_by_id) == (ClaimStatus.INVESTIGATING, None)


def test_it_refuses_to_approve_a_claim_not_yet_investigated(staff: Client, submitted: Claim) -> None:
    response = decide(staff, submitted, "approve")
    assert response.status_code == 200
    [message] = shown_messages(response)
    assert "“submitted”" in message
    claim = reloaded(submitted)
    assert (claim.status, claim.approval_proposed_by_id) == (ClaimStatus.SUBMITTED, None)
    assert claim.transitions.count() == 1


# --- reject ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [r for r in RejectionReason.values if r != RejectionReason.WAITING_PERIOD])
def test_it_rejects_with_each_reason_code(staff: Client, investigating: Claim, reason: str) -> None:
    response = decide(staff, investigating, "reject", reason=reason, note="see the hospital's letter")
    assert shown_messages(response) == [
        f"Claim #{investigating.pk} rejected: {RejectionReason(reason).label} ({reason})"
    ]
    claim = reloaded(investigating)
    assert (claim.status, claim.rejection_reason) == (ClaimStatus.REJECTED, reason)
    step = claim.transitions.last()
    assert step is not None
    assert (step.action, step.reason, step.note) == ("reject", reason, "see the hospital's letter")


def test_it_rejects_a_submitted_claim_without_investigating_it(staff: Client, submitted: Claim) -> None:
    decide(staff, submitted, "reject", reason="late_claim")
    assert reloaded(submitted).status == ClaimStatus.REJECTED


@pytest.fixture
def in_waiting_period(enrol: Enrol, admin_user: User) -> Claim:
    """An illness diagnosed three days ago by a member who joined a month ago: under investigation."""
    member = enrol(on=timezone.localdate() - timedelta(days=30))
    claim = file_claim(member, diagnosed_on=timezone.localdate() - timedelta(days=3))
    return claim_start_investigation(claim=claim, by=admin_user)


def test_it_ends_the_membership_when_rejecting_for_the_waiting_period(staff: Client, in_waiting_period: Claim) -> None:
    response = decide(staff, in_waiting_period, "reject", reason="waiting_period")
    label = RejectionReason.WAITING_PERIOD.label
    assert shown_messages(response) == [f"Claim #{in_waiting_period.pk} rejected: {label} (waiting_period)"]
    claim = reloaded(in_waiting_period)
    assert (claim.status, claim.rejection_reason) == (ClaimStatus.REJECTED, "waiting_period")
    assert claim.member.status == MembershipStatus.EXITED
    assert claim.member.ended_on == timezone.localdate()


def test_it_refuses_the_waiting_period_reason_for_a_diagnosis_after_it(staff: Client, investigating: Claim) -> None:
    [message] = shown_messages(decide(staff, investigating, "reject", reason="waiting_period"))
    assert message.startswith("This reason applies only to an illness diagnosed during the waiting period")
    claim = reloaded(investigating)
    assert (claim.status, claim.member.status) == (ClaimStatus.INVESTIGATING, MembershipStatus.WAITING)


def test_it_keeps_the_membership_when_rejecting_for_another_reason(staff: Client, investigating: Claim) -> None:
    decide(staff, investigating, "reject", reason="not_covered")
    assert reloaded(investigating).member.status == MembershipStatus.WAITING


def test_it_asks_for_a_note_when_the_reason_is_other(staff: Client, investigating: Claim) -> None:
    response = decide(staff, investigating, "reject", reason="other", note="  ")
    assert shown_messages(response) == ["Explain the reason in the note."]
    assert '<option value="other" selected>' in response.content.decode()
    assert reloaded(investigating).status == ClaimStatus.INVESTIGATING


def test_it_asks_for_a_reason_when_rejecting(staff: Client, investigating: Claim) -> None:
    response = decide(staff, investigating, "reject", reason="")
    assert shown_messages(response) == ["Choose a rejection reason."]
    assert reloaded(investigating).status == ClaimStatus.INVESTIGATING


# --- withdraw -----------------------------------------------------------------------------------


def test_it_withdraws_a_claim_at_the_members_request(staff: Client, investigating: Claim) -> None:
    response = decide(staff, investigating, "withdraw", note="the member called: recovered")
    assert shown_messages(response) == [f"Claim #{investigating.pk} is now “withdrawn”."]
    assert reloaded(investigating).status == ClaimStatus.WITHDRAWN


# --- two admins at once, illegal and malformed requests ------------------------------------------------


def test_the_first_of_two_admins_to_decide_wins_and_the_second_is_told(
    staff: Client, staff2: Client, investigating: Claim
) -> None:
    # Both pages were loaded while the claim was under investigation; admin2 rejects first.
    decide(staff2, investigating, "reject", reason="fraud", expected_status="investigating")
    response = decide(staff, investigating, "approve", expected_status="investigating")
    assert shown_messages(response) == ["Another administrator acted on this claim first: it is now “rejected”."]
    claim = reloaded(investigating)
    assert (claim.status, claim.rejection_reason, claim.approval_proposed_by_id) == ("rejected", "fraud", None)
    assert ClaimTransition.objects.filter(claim=claim, action__in=["reject", "propose_approval"]).count() == 1


def test_a_stale_page_cannot_start_an_investigation_twice(staff: Client, staff2: Client, submitted: Claim) -> None:
    decide(staff2, submitted, "start_investigation", expected_status="submitted")
    response = decide(staff, submitted, "withdraw", expected_status="submitted")
    assert shown_messages(response) == [
        "Another administrator acted on this claim first: it is now “under investigation”."
    ]
    assert reloaded(submitted).status == ClaimStatus.INVESTIGATING


def test_it_refuses_an_illegal_transition_with_a_message(
    staff: Client, investigating: Claim, admin_user: User, admin2: User
) -> None:
    claim_approve(claim=investigating, by=admin_user)
    claim_approve(claim=investigating, by=admin2)
    response = decide(staff, investigating, "withdraw", expected_status="approved")
    assert response.status_code == 200
    assert shown_messages(response) == ["A claim that is “approved” cannot be changed this way."]
    assert reloaded(investigating).status == ClaimStatus.APPROVED


def test_it_ignores_an_unknown_action(staff: Client, submitted: Claim) -> None:
    response = decide(staff, submitted, "pay")
    assert response.status_code == 200
    assert "Nothing was changed" in shown_messages(response)[0]
    assert reloaded(submitted).status == ClaimStatus.SUBMITTED


def test_it_refuses_a_get_on_the_transition_address(staff: Client, submitted: Claim) -> None:
    assert staff.get(reverse("admin:claims_claim_transition", args=[submitted.pk])).status_code == 405


def test_it_keeps_the_queue_filters_after_a_decision(staff: Client, submitted: Claim) -> None:
    filters = "_changelist_filters=status__exact%3Dsubmitted"
    response = staff.post(
        f"{reverse('admin:claims_claim_transition', args=[submitted.pk])}?{filters}",
        {"action": "start_investigation", "expected_status": "submitted"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{change_url(submitted)}?{filters}"
