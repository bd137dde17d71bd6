"""A full ID number is shown in admin only to holders of `members.reveal_id_number`, only with a reason,
and every reveal is recorded in a log that nobody can change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from members.models import IdNumberReveal, Membership, Person, User

pytestmark = pytest.mark.django_db

REASON = "Claim 42: the hospital asks us to confirm the patient ID number."


@pytest.fixture
def person(enrol: Callable[..., Membership]) -> Person:
    return enrol().person


def _staff(username: str, *codenames: str) -> Client:
    user = User.objects.create_user(username=username, password="staff-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="members", codename__in=codenames))
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def clerk(db: Any) -> Client:
    """May look at people, not reveal their numbers."""
    return _staff("clerk", "view_person")


@pytest.fixture
def officer(db: Any) -> Client:
    """The privacy officer: may reveal."""
    return _staff("officer", "view_person", "reveal_id_number", "view_idnumberreveal")


def _reveal_url(person: Person) -> str:
    return reverse("admin:members_person_reveal", args=[person.pk])


def test_the_person_page_shows_only_the_masked_number(officer: Client, person: Person) -> None:
    page = officer.get(reverse("admin:members_person_change", args=[person.pk])).content.decode()
    assert person.id_number_masked in page
    assert person.reveal_id_number() not in page
    assert _reveal_url(person) in page


def test_without_the_permission_there_is_no_reveal_link_and_no_reveal(clerk: Client, person: Person) -> None:
    page = clerk.get(reverse("admin:members_person_change", args=[person.pk])).content.decode()
    assert _reveal_url(person) not in page
    assert clerk.get(_reveal_url(person)).status_code == 403
    assert clerk.post(_reveal_url(person), {"reason": REASON}).status_code == 403
    assert not IdNumberReveal.objects.exists()


def test_the_reveal_page_asks_for_a_reason_before_showing_anything(officer: Client, person: Person) -> None:
    response = officer.get(_reveal_url(person))
    assert response.status_code == 200
    assert person.reveal_id_number() not in response.content.decode()
    assert not IdNumberReveal.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", "because"])
def test_no_reason_or_too_short_a_reason_reveals_nothing(officer: Client, person: Person, reason: str) -> None:
    response = officer.post(_reveal_url(person), {"reason": reason})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert person.reveal_id_number() not in response.content.decode()
    assert not IdNumberReveal.objects.exists()


def test_a_reason_reveals_the_number_and_records_who_when_whom_and_why(officer: Client, person: Person) -> None:
    response = officer.post(_reveal_url(person), {"reason": REASON})
    assert response.status_code == 200
    assert f'<strong id="revealed-id-number">{person.reveal_id_number()}</strong>' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    record = IdNumberReveal.objects.get()
    assert (record.person, record.revealed_by.username, record.reason) == (person, "officer", REASON)
    assert record.revealed_at is not None


def test_each_reveal_is_a_record_of_its_own(officer: Client, person: Person) -> None:
    officer.post(_reveal_url(person), {"reason": REASON})
    officer.post(_reveal_url(person), {"reason": REASON + " Again."})
    assert IdNumberReveal.objects.filter(person=person).count() == 2


def test_the_log_is_readable_in_admin_but_cannot_be_added_changed_or_deleted(officer: Client, person: Person) -> None:
    officer.post(_reveal_url(person), {"reason": REASON})
    record = IdNumberReveal.objects.get()
    listing = officer.get(reverse("admin:members_idnumberreveal_changelist"))
    assert listing.status_code == 200
    assert REASON in listing.content.decode()
    assert person.reveal_id_number() not in listing.content.decode()
    assert officer.get(reverse("admin:members_idnumberreveal_change", args=[record.pk])).status_code == 200
    assert (
        officer.post(reverse("admin:members_idnumberreveal_change", args=[record.pk]), {"reason": "x"}).status_code
        == 403
    )
    assert officer.get(reverse("admin:members_idnumberreveal_add")).status_code == 403
    assert (
        officer.post(reverse("admin:members_idnumberreveal_delete", args=[record.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert IdNumberReveal.objects.get().reason == REASON


def test_even_a_superuser_must_give_a_reason(admin_user: User, person: Person) -> None:
    client = Client()
    client.force_login(admin_user)
    assert client.post(_reveal_url(person), {"reason": ""}).context["form"].errors["reason"]
    assert not IdNumberReveal.objects.exists()


def test_the_model_refuses_changes_and_deletes(officer: Client, person: Person) -> None:
    officer.post(_reveal_url(person), {"reason": REASON})
    record = IdNumberReveal.objects.get()
    record.reason = "nothing to see"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        IdNumberReveal.objects.update(reason="nothing to see")
    with pytest.raises(PermissionError):
        IdNumberReveal.objects.all().delete()


def test_the_database_refuses_to_rewrite_a_reveal(officer: Client, person: Person) -> None:
    officer.post(_reveal_url(person), {"reason": REASON})
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE members_idnumberreveal SET reason = 'nothing to see'")
    assert IdNumberReveal.objects.get().reason == REASON


def test_an_unknown_person_is_404(officer: Client) -> None:
    assert officer.get(reverse("admin:members_person_reveal", args=[999_999])).status_code == 404
