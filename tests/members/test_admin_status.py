"""The admin's status form: one service call, a reason always, domain errors as messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from members.errors import DomainError
from members.models import CreditSource, Membership, MembershipStatus, User
from members.services import membership_change_status

Enrol = Callable[..., Membership]


@pytest.fixture
def staff(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def status_url(member: Membership) -> str:
    return reverse("admin:members_membership_status", args=[member.pk])


def test_it_changes_the_status_with_a_reason(staff: Client, enrol: Enrol) -> None:
    member = enrol()
    response = staff.post(status_url(member), {"status": "expelled", "reason": "forged hospital records"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:members_membership_change", args=[member.pk])
    member.refresh_from_db()
    assert member.status == MembershipStatus.EXPELLED
    assert member.status_reason == "forged hospital records"
    assert member.ended_on is not None


def test_it_records_the_reason_and_the_admin_in_the_history(staff: Client, enrol: Enrol, admin_user: User) -> None:
    member = enrol()
    staff.post(status_url(member), {"status": "exited", "reason": "asked by phone, ticket 4411"})
    latest = member.history.latest()
    assert latest.history_change_reason == "asked by phone, ticket 4411"
    assert latest.history_user == admin_user
    html = staff.get(reverse("admin:members_membership_history", args=[member.pk])).content.decode()
    assert "asked by phone, ticket 4411" in html
    assert admin_user.username in html


def test_it_offers_only_the_statuses_allowed_from_the_current_one(staff: Client, enrol: Enrol) -> None:
    member = enrol()
    form = staff.get(status_url(member)).context["form"]
    assert {value for value, _ in form.fields["status"].choices} == {"exited", "removed", "expelled"}


def test_it_refuses_an_illegal_change_and_changes_nothing(staff: Client, enrol: Enrol, admin_user: User) -> None:
    member = enrol()
    membership_change_status(membership=member, status=MembershipStatus.EXITED, reason="moved", by=admin_user)
    versions = member.history.count()
    response = staff.post(status_url(member), {"status": "active", "reason": "undo"})
    assert response.status_code == 200
    assert "status" in response.context["form"].errors
    member.refresh_from_db()
    assert member.status == MembershipStatus.EXITED
    assert member.history.count() == versions


def test_it_shows_a_domain_error_as_a_message_and_changes_nothing(staff: Client, enrol: Enrol) -> None:
    payer = enrol()
    enrol(payer=payer, relationship="spouse", birth_date=date(1991, 2, 3))
    response = staff.post(status_url(payer), {"status": "exited", "reason": "asked to leave"})
    assert response.status_code == 200
    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "error"
    assert "family members" in message.message
    assert message.message in response.content.decode()
    payer.refresh_from_db()
    assert payer.status == MembershipStatus.WAITING


def test_it_requires_a_reason(staff: Client, enrol: Enrol) -> None:
    member = enrol()
    response = staff.post(status_url(member), {"status": "exited", "reason": "   "})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    member.refresh_from_db()
    assert member.status == MembershipStatus.WAITING


def test_it_refuses_a_reason_longer_than_the_history_keeps(staff: Client, enrol: Enrol) -> None:
    member = enrol()
    response = staff.post(status_url(member), {"status": "exited", "reason": "x" * 101})
    assert "reason" in response.context["form"].errors
    member.refresh_from_db()
    assert member.status == MembershipStatus.WAITING


def test_it_approves_a_member_pending_review(staff: Client, enrol: Enrol) -> None:
    member = enrol(attested_score=None, on=date(2026, 1, 5))
    assert member.status == MembershipStatus.PENDING_REVIEW
    form = staff.get(status_url(member)).context["form"]
    assert {value for value, _ in form.fields["status"].choices} == {"waiting", "exited"}
    response = staff.post(status_url(member), {"status": "waiting", "reason": "bureau confirmed by phone"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == MembershipStatus.WAITING
    assert member.credit_source == CreditSource.ADMIN
    assert member.joined_on > date(2026, 1, 5)


def test_it_declines_a_member_pending_review(staff: Client, enrol: Enrol) -> None:
    member = enrol(attested_score=None)
    staff.post(status_url(member), {"status": "exited", "reason": "no credit history"})
    member.refresh_from_db()
    assert member.status == MembershipStatus.EXITED
    assert member.status_reason == "no credit history"


def test_it_says_when_no_change_is_possible(staff: Client, enrol: Enrol, admin_user: User) -> None:
    member = enrol()
    membership_change_status(membership=member, status=MembershipStatus.EXITED, reason="moved", by=admin_user)
    response = staff.get(status_url(member))
    assert response.status_code == 200
    assert response.context["form"].fields["status"].choices == []


def test_it_answers_404_for_an_unknown_member(staff: Client, plan: object) -> None:
    assert staff.get(reverse("admin:members_membership_status", args=[999999])).status_code == 404


def test_it_refuses_in_the_service_too_a_reason_longer_than_the_history_column(enrol: Enrol, admin_user: User) -> None:
    member = enrol()
    with pytest.raises(DomainError) as refused:
        membership_change_status(membership=member, status=MembershipStatus.EXITED, reason="x" * 101, by=admin_user)
    assert refused.value.field == "reason"
    member.refresh_from_db()
    assert member.status == MembershipStatus.WAITING
