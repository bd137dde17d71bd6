"""Staff owe a TOTP code before any admin page when a second factor is required of them.

Codes are real: computed from the device's key with django-otp's own TOTP, as an authenticator app does.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from members.models import User

pytestmark = pytest.mark.django_db

ADMIN_INDEX = reverse("admin:index")
TWO_FACTOR = reverse("security:two_factor")


def code_for(device: TOTPDevice) -> str:
    """The code an authenticator app shows now for this device."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def required(settings: Any) -> None:
    settings.ADMIN_REQUIRE_2FA = True


@pytest.fixture
def staff(admin_user: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    assert client.post(reverse("admin:login"), {"username": "admin", "password": "admin-pass-123"}).status_code == 302
    return client


def _enrol(client: Client, user: User) -> TOTPDevice:
    client.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=user)
    response = client.post(TWO_FACTOR, {"token": code_for(device), "next": ADMIN_INDEX})
    assert response.status_code == 302, response.context["form"].errors
    device.refresh_from_db()
    return device


def test_with_the_requirement_off_admin_opens_without_a_code(settings: Any, staff: Client) -> None:
    settings.ADMIN_REQUIRE_2FA = False
    assert staff.get(ADMIN_INDEX).status_code == 200


def test_with_the_requirement_on_admin_sends_staff_to_the_second_factor_page(required: None, staff: Client) -> None:
    response = staff.get(ADMIN_INDEX)
    assert response.status_code == 302
    assert response["Location"] == f"{TWO_FACTOR}?next=%2Fadmin%2F"


def test_every_admin_page_is_held_back_not_only_the_index(required: None, staff: Client) -> None:
    assert staff.get(reverse("admin:members_person_changelist")).status_code == 302


def test_a_flag_on_one_account_requires_it_of_that_account_alone(settings: Any, staff: Client, db: Any) -> None:
    settings.ADMIN_REQUIRE_2FA = False
    other = User.objects.create_user(username="other-admin", password="other-pass-123", is_staff=True)
    flagged = User.objects.create_user(username="careful", password="careful-pass-123", is_staff=True, require_2fa=True)
    for user, expected in [(other, 200), (flagged, 302)]:
        client = Client()
        client.force_login(user)
        assert client.get(ADMIN_INDEX).status_code == expected


def test_the_enrolment_page_shows_a_qr_code_and_the_key(required: None, staff: Client, admin_user: User) -> None:
    response = staff.get(TWO_FACTOR)
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'<div class="security-qr"><svg[^>]*class="segno"', page)
    device = TOTPDevice.objects.get(user=admin_user)
    assert device.confirmed is False
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page)
    assert secret is not None
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_reload_keeps_the_same_key_so_a_scanned_code_stays_valid(
    required: None, staff: Client, admin_user: User
) -> None:
    staff.get(TWO_FACTOR)
    staff.get(TWO_FACTOR)
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1


def test_a_real_code_confirms_the_device_and_opens_admin(required: None, staff: Client, admin_user: User) -> None:
    device = _enrol(staff, admin_user)
    assert device.confirmed is True
    assert staff.get(ADMIN_INDEX).status_code == 200


def test_a_wrong_code_is_refused_with_a_message(required: None, staff: Client, admin_user: User) -> None:
    staff.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=admin_user)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = staff.post(TWO_FACTOR, {"token": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    device.refresh_from_db()
    assert device.confirmed is False
    assert staff.get(ADMIN_INDEX).status_code == 302


@pytest.mark.parametrize("token", ["", "12345", "abcdef", "1234567", "１２３４５６"])
def test_a_malformed_code_is_a_form_error(required: None, staff: Client, token: str) -> None:
    response = staff.post(TWO_FACTOR, {"token": token})
    assert response.status_code == 200
    assert response.context["form"].errors["token"]


def test_after_enrolment_a_new_session_is_asked_for_a_code_and_never_shown_the_key(
    required: None, staff: Client, admin_user: User
) -> None:
    device = _enrol(staff, admin_user)
    later = Client()
    later.post(reverse("admin:login"), {"username": "admin", "password": "admin-pass-123"})
    assert later.get(ADMIN_INDEX).status_code == 302
    page = later.get(TWO_FACTOR)
    assert "security-qr" not in page.content.decode()
    assert "totp-secret" not in page.content.decode()
    # The code the first session used is spent; the app's next one (30 seconds on) opens admin.
    assert later.post(TWO_FACTOR, {"token": code_for(device)}).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=device.step), tick=False):
        assert later.post(TWO_FACTOR, {"token": code_for(device)}).status_code == 302
        assert later.get(ADMIN_INDEX).status_code == 200


def test_right_after_a_wrong_code_even_the_right_one_waits(required: None, staff: Client, admin_user: User) -> None:
    """django-otp's throttle doubles the wait after each wrong code: guessing a million codes is hopeless."""
    staff.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=admin_user)
    staff.post(TWO_FACTOR, {"token": f"{(int(code_for(device)) + 1) % 1_000_000:06d}"})
    response = staff.post(TWO_FACTOR, {"token": code_for(device)})
    assert "Too many wrong codes" in response.context["form"].errors["token"][0]
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        assert staff.post(TWO_FACTOR, {"token": code_for(device)}).status_code == 302


def test_it_never_redirects_off_site_after_the_code(required: None, staff: Client, admin_user: User) -> None:
    staff.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=admin_user)
    response = staff.post(TWO_FACTOR, {"token": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == ADMIN_INDEX


def test_a_member_who_is_not_staff_cannot_enrol(required: None, alice: User) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get(TWO_FACTOR)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not TOTPDevice.objects.exists()


def test_the_login_and_logout_pages_stay_open(required: None, staff: Client) -> None:
    assert staff.get(reverse("admin:login")).status_code == 302  # admin sends a logged-in user on to the index
    response = staff.post(reverse("admin:logout"))
    assert response["Location"] == reverse("members:login")
