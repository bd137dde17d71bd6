"""Sign up with a mobile number and a password."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from members.models import User

pytestmark = pytest.mark.django_db

URL = reverse("members:signup")


def _post(client: Client, **overrides: str) -> Any:
    data = {"phone": "13912345678", "password1": "sturdy-pass-4821", "password2": "sturdy-pass-4821"}
    return client.post(URL, {**data, **overrides})


def test_it_shows_the_sign_up_form(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert b'name="phone"' in response.content


def test_it_creates_an_account_whose_username_is_the_phone(client: Client) -> None:
    _post(client)
    user = User.objects.get(phone="13912345678")
    assert user.username == "13912345678"
    assert user.check_password("sturdy-pass-4821")


def test_it_logs_the_new_member_in_and_sends_them_to_join(client: Client) -> None:
    response = _post(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("members:join")
    assert client.get(reverse("members:household")).status_code == 200


def test_it_accepts_a_phone_typed_with_spaces_and_the_country_code(client: Client) -> None:
    _post(client, phone="+86 139 1234 5678")
    assert User.objects.filter(phone="13912345678").exists()


@pytest.mark.parametrize("phone", ["1391234567", "139123456789", "23912345678", "1391234567x", ""])
def test_it_rejects_a_phone_that_is_not_11_digits_starting_with_1(client: Client, phone: str) -> None:
    response = _post(client, phone=phone)
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not User.objects.exists()


def test_it_rejects_passwords_that_do_not_match(client: Client) -> None:
    response = _post(client, password2="sturdy-pass-4822")
    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert not User.objects.exists()


@pytest.mark.parametrize("password", ["short1!", "password123", "73920185", "13912345678"])
def test_it_rejects_a_weak_password(client: Client, password: str) -> None:
    response = _post(client, password1=password, password2=password)
    assert response.status_code == 200
    assert "password1" in response.context["form"].errors
    assert not User.objects.exists()


def test_it_rejects_a_phone_that_already_has_an_account(client: Client, alice: User) -> None:
    response = _post(client, phone=alice.phone or "")
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert User.objects.filter(phone=alice.phone).count() == 1


def test_it_sends_a_logged_in_member_to_their_household(client: Client, alice: User) -> None:
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("members:household")
