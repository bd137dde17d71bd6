"""Django's Redis cache, keeping one Redis client per connection pool, and a count in one round trip.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache call; building one sets up
its table of ~150 response callbacks, which costs more than the round trip to Redis itself (a quarter of
a cached API read's cache time). The client object is only a front for the connection pool, safe to
share between threads and after a fork (the pool checks its process id), so one per pool is kept.
django-redis keeps its clients too, but brings its own serialisation and key handling; this is the
one change needed, and what is stored stays readable by Django's own backend.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, servers: Any, **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Pools live as long as this object and are never replaced: one client per pool, by its identity.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def count_in_window(self, key: str, *, timeout: int) -> int:
        """Add one to the count at `key` and return it; a new count expires after `timeout` seconds.

        One pipeline, one round trip: `SET key 0 EX timeout NX` opens the count (and its expiry) only if
        it is not there yet, `INCR` then adds one. Atomic per command, so simultaneous callers in any
        number of processes each get their own number; counting again never moves the expiry.
        """
        full_key = self.make_and_validate_key(key)
        client = self._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]
        pipeline = client.pipeline(transaction=False)
        pipeline.set(full_key, 0, ex=timeout, nx=True)
        pipeline.incr(full_key)
        return int(pipeline.execute()[1])
