"""Failed logins lock out one username from one address for a while, on the member and the admin login.

Through the real login forms: the phone login at /login/ and Django admin's. The address is the test
client's REMOTE_ADDR, set per request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from members.models import User
from mutualaid.security.network import client_ip

pytestmark = pytest.mark.django_db

MEMBER_LOGIN = reverse("members:login")
ADMIN_LOGIN = reverse("admin:login")
ATTACKER, NEIGHBOUR = "203.0.113.7", "198.51.100.20"


def _member_login(client: Client, phone: str, password: str, ip: str = ATTACKER) -> Any:
    return client.post(MEMBER_LOGIN, {"username": phone, "password": password}, REMOTE_ADDR=ip)


def _admin_login(client: Client, username: str, password: str, ip: str = ATTACKER) -> Any:
    data = {"username": username, "password": password, "next": reverse("admin:index")}
    return client.post(ADMIN_LOGIN, data, REMOTE_ADDR=ip)


def _fail_until_locked(login: Any, username: str) -> Any:
    response = None
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = login(Client(headers={"accept-language": "en"}), username, "wrong-password")
    return response


def test_a_wrong_password_below_the_limit_shows_the_usual_form_error(alice: User) -> None:
    response = _member_login(Client(), "13800000001", "wrong-password")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_it_locks_a_member_out_after_the_limit_with_a_page_that_says_how_long(alice: User) -> None:
    response = _fail_until_locked(_member_login, "13800000001")
    assert response.status_code == 429
    assert "security/lockout.html" in [t.name for t in response.templates]
    assert "Too many failed logins" in response.content.decode()
    assert response.context["minutes"] == settings.LOGIN_COOLOFF_MINUTES


def test_the_right_password_is_refused_during_the_lockout(alice: User) -> None:
    _fail_until_locked(_member_login, "13800000001")
    client = Client()
    response = _member_login(client, "13800000001", "alice-pass-123")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_same_account_still_logs_in_from_another_address(alice: User) -> None:
    _fail_until_locked(_member_login, "13800000001")
    response = _member_login(Client(), "13800000001", "alice-pass-123", ip=NEIGHBOUR)
    assert response.status_code == 302


def test_another_account_behind_the_attackers_address_still_logs_in(alice: User, charlie: User) -> None:
    _fail_until_locked(_member_login, "13800000001")
    response = _member_login(Client(), "13800000003", "charlie-pass-123", ip=ATTACKER)
    assert response.status_code == 302


def test_the_lockout_ends_after_the_cool_off(alice: User) -> None:
    _fail_until_locked(_member_login, "13800000001")
    later = timezone.now() + timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES, seconds=5)
    with time_machine.travel(later, tick=False):
        response = _member_login(Client(), "13800000001", "alice-pass-123")
    assert response.status_code == 302


def test_a_phone_typed_with_spaces_counts_as_the_same_account(alice: User) -> None:
    for spelling in ["13800000001", "138 0000 0001", "138-0000-0001", "+8613800000001", "13800000001"]:
        response = _member_login(Client(), spelling, "wrong-password")
    assert response.status_code == 429


def test_it_locks_out_the_admin_login_too(admin_user: User) -> None:
    response = _fail_until_locked(_admin_login, "admin")
    assert response.status_code == 429
    client = Client()
    assert _admin_login(client, "admin", "admin-pass-123").status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302  # still not logged in


def test_an_admin_unlocks_an_account_in_axes_admin(alice: User, admin_user: User) -> None:
    _fail_until_locked(_member_login, "13800000001")
    attempt = AccessAttempt.objects.get(username="13800000001")
    support = Client()
    support.force_login(admin_user)
    listing = support.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert "13800000001" in listing.content.decode()
    deleted = support.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    assert _member_login(Client(), "13800000001", "alice-pass-123").status_code == 302


def test_a_successful_login_clears_the_count(alice: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _member_login(Client(), "13800000001", "wrong-password")
    assert _member_login(Client(), "13800000001", "alice-pass-123").status_code == 302
    response = _member_login(Client(), "13800000001", "wrong-password")
    assert response.status_code == 200  # counting starts again


def test_the_test_clients_login_without_a_request_still_works(alice: User) -> None:
    assert Client().login(username="13800000001", password="alice-pass-123")


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.2"),  # no proxy trusted: the header is the client's own words
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the proxy appended the real address last
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (1, "", "10.0.0.2"),
    ],
)
def test_the_client_address_is_the_one_the_trusted_proxy_saw(
    settings: Any, proxies: int, forwarded: str, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
