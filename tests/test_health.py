"""/healthz answers 200 only when the database and (when configured) Redis answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, connections
from django.test import Client
from pytest_django import Settings

# Nothing listens on port 1: the connection is refused at once, as for a Redis that is down.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_it_answers_200_when_the_database_answers_and_redis_is_not_configured(
    client: Client, db: None, settings: Settings
) -> None:
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "not configured"}}


@pytest.mark.services
def test_it_answers_200_when_the_database_and_redis_answer(client: Client, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_it_answers_503_when_redis_is_configured_but_does_not_answer(
    client: Client, db: None, settings: Settings
) -> None:
    settings.REDIS_URL = UNREACHABLE_REDIS
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "checks": {"database": "ok", "redis": "down"}}


def test_it_answers_503_when_the_database_does_not_answer(
    client: Client, db: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_URL = ""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    with monkeypatch.context() as patch:
        # The driver's own failure, raised where a real outage raises it: opening a cursor.
        patch.setattr(type(connections["default"]), "cursor", refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "checks": {"database": "down", "redis": "not configured"}}


def test_it_answers_503_when_both_are_down(
    client: Client, db: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_URL = UNREACHABLE_REDIS

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(type(connections["default"]), "cursor", refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "down", "redis": "down"}


def test_it_is_never_cached_by_a_proxy(client: Client, db: None, settings: Settings) -> None:
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]
