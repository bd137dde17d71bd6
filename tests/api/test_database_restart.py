"""The database restarts under a running server: what a partner sees, with and without connection checks.

Gunicorn serves the app as production does (persistent connections, CONN_MAX_AGE=60) on the test
database; every connection it holds is then cut, as a PostgreSQL restart or failover cuts them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from benchmarks.server import Server, start_gunicorn
from benchmarks.worker import production_env
from members.models import Membership, Plan
from members.services import partner_create
from tests.test_smoke_stack import database_url_for_the_test_database

REDIS_DB = 12

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def get(url: str, key: str) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Api-Key {key}"})  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.loads(refused.read())


def cut_the_servers_connections() -> int:
    """What a restart does to the server: every other session on the test database is terminated."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        cut: int = cursor.fetchone()[0]
    return cut


@pytest.fixture
def member_and_key(plan: Plan, enrol: Any) -> tuple[int, str]:
    partner, key = partner_create(name="restart partner")
    member = enrol()
    Membership.objects.filter(pk=member.pk).update(partner=partner)
    return member.pk, key


def serve(**changes: str) -> Iterator[Server]:
    redis_url = urlunsplit(urlsplit(settings.REDIS_URL)._replace(path=f"/{REDIS_DB}"))
    env = production_env(database_url=database_url_for_the_test_database(), redis_url=redis_url)
    env.update(changes)
    # One worker, so that the request after the cut is the one that meets the dead connection.
    server = start_gunicorn(env=env, workers=1)
    yield server
    server.stop()


@pytest.fixture
def unchecked() -> Iterator[Server]:
    yield from serve()


@pytest.fixture
def checked() -> Iterator[Server]:
    yield from serve(CONN_HEALTH_CHECKS="true")


def test_without_checks_the_first_request_after_a_restart_is_503_and_the_next_one_is_served(
    unchecked: Server, member_and_key: tuple[int, str]
) -> None:
    member, key = member_and_key
    url = f"{unchecked.url}/api/v1/members/{member}/"
    assert get(url, key)[0] == 200
    assert cut_the_servers_connections() >= 1
    status, headers, body = get(url, key)
    assert status == 503
    assert body["error"]["code"] == "unavailable" and body["error"]["message"]
    assert headers["Retry-After"] == "1"
    status, _headers, body = get(url, key)
    assert (status, body["id"]) == (200, member)
    assert unchecked.alive()


def test_with_checks_every_request_after_a_restart_is_served(checked: Server, member_and_key: tuple[int, str]) -> None:
    member, key = member_and_key
    url = f"{checked.url}/api/v1/members/{member}/"
    assert get(url, key)[0] == 200
    assert cut_the_servers_connections() >= 1
    assert [get(url, key)[0] for _ in range(3)] == [200, 200, 200]
