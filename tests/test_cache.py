"""The Redis cache backend: Django's, keeping one Redis client per connection pool."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from mutualaid.cache import RedisCache


@pytest.fixture
def backend() -> RedisCache:
    found = caches["default"]
    assert isinstance(found, RedisCache)
    return found


@pytest.mark.services
def test_the_configured_cache_is_this_backend_on_redis(backend: RedisCache) -> None:
    assert settings.CACHES["default"]["BACKEND"] == "mutualaid.cache.RedisCache"


@pytest.mark.services
def test_it_keeps_one_client_for_its_pool(backend: RedisCache) -> None:
    first = backend._cache.get_client("a", write=True)
    assert backend._cache.get_client("b") is first
    assert first.connection_pool is backend._cache._pools[0]


@pytest.mark.services
def test_what_it_stores_reads_back_in_djangos_own_backend(backend: RedisCache) -> None:
    """Same keys, same serialisation: nothing changes for what is already in Redis, or for a rollback."""
    stock = DjangoRedisCache(settings.REDIS_URL, {"KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]})
    cache.set("tiers", ((0, 39, 30_000_000),), 30)
    cache.set("count", 7, 30)
    assert stock.get("tiers") == ((0, 39, 30_000_000),)
    assert stock.get("count") == 7
    stock.set("written-by-django", {"a": 1}, 30)
    assert cache.get("written-by-django") == {"a": 1}
    assert cache.incr("count") == 8
