"""Log in with the mobile number and password; log out with a POST."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from members.models import User

pytestmark = pytest.mark.django_db

LOGIN = reverse("members:login")


def test_it_logs_in_with_phone_and_password(client: Client, alice: User) -> None:
    response = client.post(LOGIN, {"username": "13800000001", "password": "alice-pass-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("members:household")
    assert client.session[SESSION_KEY] == str(alice.pk)


def test_it_goes_back_to_the_page_that_asked_for_login(client: Client, alice: User) -> None:
    join = reverse("members:join")
    response = client.post(
        f"{LOGIN}?next={join}", {"username": "13800000001", "password": "alice-pass-123", "next": join}
    )
    assert response["Location"] == join


def test_it_rejects_a_wrong_password_without_saying_which_part_is_wrong(client: Client, alice: User) -> None:
    response = client.post(LOGIN, {"username": "13800000001", "password": "not-her-password"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert SESSION_KEY not in client.session


def test_it_gives_a_field_error_for_a_badly_formed_phone(client: Client, alice: User) -> None:
    response = client.post(LOGIN, {"username": "138000", "password": "alice-pass-123"})
    assert response.status_code == 200
    assert "username" in response.context["form"].errors


def test_it_logs_out_on_post(client: Client, alice: User) -> None:
    client.force_login(alice)
    response = client.post(reverse("members:logout"))
    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_it_does_not_log_out_on_get(client: Client, alice: User) -> None:
    client.force_login(alice)
    response = client.get(reverse("members:logout"))
    assert response.status_code == 405
    assert client.session[SESSION_KEY] == str(alice.pk)
