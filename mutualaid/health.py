"""/healthz: 200 when the database and (when configured) Redis answer, 503 otherwise."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
    except Exception:  # any failure to answer means "down", whatever the driver raised
        logger.warning("healthz: the database does not answer", exc_info=True)
        return False
    return row is not None and row[0] == 1


def _redis_ok() -> bool | None:
    if not settings.REDIS_URL:
        return None
    try:
        # A client per probe, closed at once: a health check must not hold connections open.
        with redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2) as client:
            return client.ping() is True
    except redis.RedisError:
        logger.warning("healthz: Redis does not answer", exc_info=True)
        return False


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    database = _database_ok()
    broker = _redis_ok()
    healthy = database and broker is not False
    checks = {
        "database": "ok" if database else "down",
        "redis": {None: "not configured", True: "ok", False: "down"}[broker],
    }
    return JsonResponse({"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503)
