"""Throttling per partner: 429 with Retry-After, counted atomically in the shared cache (Redis when set)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

from members.services import partner_key_create
from mutualaid.api.auth import PartnerRateThrottle
from tests.api.conftest import Caller, error_code


@pytest.fixture(autouse=True)
def _mid_minute() -> Iterator[None]:
    """Time stands still half-way through a minute: no test's requests straddle two windows."""
    with time_machine.travel(datetime(2026, 3, 2, 10, 15, 30, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def three_a_minute(settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"partner": "3/minute"}}


def count_key(caller: Caller) -> str:
    key = PartnerRateThrottle.cache_format % {"scope": "partner", "ident": caller.partner.pk}
    return f"{key}:{int(PartnerRateThrottle().timer() // 60)}"


def test_the_fourth_request_in_the_minute_is_429_with_retry_after(acme: Caller, three_a_minute: None) -> None:
    assert [acme.get("/api/v1/plan/").status_code for _ in range(3)] == [200, 200, 200]
    response = acme.get("/api/v1/periods/")
    assert response.status_code == 429
    assert error_code(response) == "throttled"
    assert response["Retry-After"] == "30"  # the rest of the minute


def test_every_key_of_a_partner_counts_together(acme: Caller, three_a_minute: None) -> None:
    second = APIClient()
    second.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner_key_create(partner=acme.partner)}")
    for _ in range(3):
        acme.get("/api/v1/plan/")
    assert second.get("/api/v1/plan/").status_code == 429


def test_the_count_is_kept_in_the_cache(acme: Caller, three_a_minute: None) -> None:
    acme.get("/api/v1/plan/")
    acme.get("/api/v1/plan/")
    assert cache.get(count_key(acme)) == 2


def test_the_cache_is_redis_when_redis_is_configured() -> None:
    backend = django_settings.CACHES["default"]["BACKEND"]
    if django_settings.REDIS_URL:
        assert backend == "mutualaid.cache.RedisCache"
        assert django_settings.CACHES["default"]["LOCATION"] == django_settings.REDIS_URL
    else:
        assert backend == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.services
def test_the_count_lives_in_redis_where_every_worker_reads_it(acme: Caller, three_a_minute: None) -> None:
    for _ in range(2):
        acme.get("/api/v1/plan/")
    # Another worker process has its own connection: a cache client of its own sees the same count, and
    # so does Redis itself, read with no Django at all.
    other_worker = RedisCache(
        django_settings.REDIS_URL, {"KEY_PREFIX": django_settings.CACHES["default"]["KEY_PREFIX"]}
    )
    assert other_worker.get(count_key(acme)) == 2
    raw = redis.Redis.from_url(django_settings.REDIS_URL)
    assert raw.get(cache.make_key(count_key(acme))) == b"2"
    other_worker.incr(count_key(acme))
    assert acme.get("/api/v1/plan/").status_code == 429


@pytest.mark.services
def test_the_window_count_expires_with_its_window_in_redis(acme: Caller, three_a_minute: None) -> None:
    """The count is opened with its expiry in the same round trip as it is counted (SET NX EX, INCR)."""
    raw = redis.Redis.from_url(django_settings.REDIS_URL)
    stored = cache.make_key(count_key(acme))
    acme.get("/api/v1/plan/")
    assert raw.get(stored) == b"1"
    assert 0 < raw.ttl(stored) <= 61
    raw.expire(stored, 5)
    acme.get("/api/v1/plan/")
    assert raw.get(stored) == b"2"
    assert raw.ttl(stored) <= 5  # counting again does not push the window's end back
