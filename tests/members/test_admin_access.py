"""Every admin page of members needs a staff login: anyone else is sent to the admin login."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from members.models import CreditImport, Membership, User

Enrol = Callable[..., Membership]


def admin_pages(member: Membership, credit_import: CreditImport) -> list[str]:
    return [
        reverse("admin:index"),
        reverse("admin:members_membership_changelist"),
        reverse("admin:members_membership_change", args=[member.pk]),
        reverse("admin:members_membership_history", args=[member.pk]),
        reverse("admin:members_membership_status", args=[member.pk]),
        reverse("admin:members_person_changelist"),
        reverse("admin:members_person_change", args=[member.person_id]),
        reverse("admin:members_plan_changelist"),
        reverse("admin:members_plan_change", args=[member.plan_id]),
        reverse("admin:members_creditrecord_changelist"),
        reverse("admin:members_creditrecord_import"),
        reverse("admin:members_creditimport_changelist"),
        reverse("admin:members_user_changelist"),
    ]


@pytest.fixture
def pages(enrol: Enrol, admin_user: User) -> list[str]:
    credit_import = CreditImport.objects.create(
        file_name="a.csv", payload_encrypted="", row_count=0, created_by=admin_user
    )
    return admin_pages(enrol(), credit_import)


def test_it_sends_a_member_who_is_not_staff_to_the_admin_login(client: Client, alice: User, pages: list[str]) -> None:
    client.force_login(alice)
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("admin:login")), page


def test_it_sends_an_anonymous_visitor_to_the_admin_login(client: Client, pages: list[str]) -> None:
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("admin:login")), page


def test_it_refuses_posts_from_a_member_who_is_not_staff(client: Client, alice: User, enrol: Enrol) -> None:
    member = enrol()
    client.force_login(alice)
    response = client.post(
        reverse("admin:members_membership_status", args=[member.pk]), {"status": "exited", "reason": "x"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    member.refresh_from_db()
    assert member.status == "waiting"


def test_it_shows_every_page_to_an_administrator(client: Client, admin_user: User, pages: list[str]) -> None:
    client.force_login(admin_user)
    for page in pages:
        assert client.get(page).status_code == 200, page


def test_it_forbids_the_status_form_to_staff_without_the_change_permission(client: Client, enrol: Enrol) -> None:
    member = enrol()
    clerk = User.objects.create_user(username="clerk", password="clerk-pass-123", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:members_membership_status", args=[member.pk])).status_code == 403
