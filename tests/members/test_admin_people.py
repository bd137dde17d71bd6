"""People in admin: the name can be corrected; the identity derived from the ID number cannot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from members.models import Membership, Person, User

Enrol = Callable[..., Membership]


@pytest.fixture
def staff(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_it_corrects_a_name_and_keeps_the_identity(staff: Client, enrol: Enrol) -> None:
    person = enrol(name="张三").person
    response = staff.post(
        reverse("admin:members_person_change", args=[person.pk]),
        {"name": "张叁", "birth_date": "2000-01-01", "sex": "F", "id_number_masked": "x"},
    )
    assert response.status_code == 302
    saved = Person.objects.get(pk=person.pk)
    assert saved.name == "张叁"
    assert (saved.birth_date, saved.sex, saved.id_number_masked) == (date(1990, 5, 17), "M", person.id_number_masked)


def test_it_searches_people_by_the_last_digits_of_the_id_number(staff: Client, enrol: Enrol) -> None:
    person = enrol().person
    enrol(birth_date=date(1980, 1, 2))
    found = staff.get(reverse("admin:members_person_changelist"), {"q": person.id_number_masked[-4:]})
    assert person in found.context["cl"].result_list


def test_it_has_no_add_or_delete_for_people(staff: Client, enrol: Enrol) -> None:
    person = enrol().person
    assert staff.get(reverse("admin:members_person_add")).status_code == 403
    assert staff.get(reverse("admin:members_person_delete", args=[person.pk])).status_code == 403
