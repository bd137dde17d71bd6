"""Who is calling: a partner's API key, and how often it may call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from members.models import Partner, PartnerAPIKey
from members.selectors import partner_key_usable
from mutualaid.cache import RedisCache

if TYPE_CHECKING:
    from rest_framework.views import APIView


class PartnerKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <prefix>.<secret>`; the key is looked up by its prefix and checked by hash."""

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, PartnerAPIKey] | None:
        scheme, _sep, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        key = key.strip()
        prefix = key.partition(".")[0]
        # Keys are made of letters and digits, the prefix 8 of them: anything else is refused unread.
        looks_right = prefix.isascii() and prefix.isalnum() and len(prefix) <= 16
        api_key = partner_key_usable(prefix=prefix) if looks_right else None
        if api_key is None or api_key.has_expired or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed(_("This API key is not valid, has expired or has been revoked."))
        # The partner is the request's auth, not its user: request.user stays anonymous so that nothing
        # (the audit history among others) takes a partner for a login.
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        # Answering 401 needs a WWW-Authenticate value; without one DRF would turn it into 403.
        return self.keyword


class IsPartner(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, PartnerAPIKey)


def partner_of(request: Request) -> Partner:
    if not isinstance(request.auth, PartnerAPIKey):
        raise exceptions.NotAuthenticated()
    return request.auth.partner


class PartnerRateThrottle(SimpleRateThrottle):
    """Requests per partner (whichever of its keys), at the `partner` rate of REST_FRAMEWORK.

    Counted per fixed window (a minute at "1200/minute") in one integer of the default cache, which is
    Redis when there is one: every worker process counts into the same number, and the count is an
    atomic INCR, so simultaneous requests on different workers are each counted once. (DRF's own
    throttle reads a list of timestamps and writes it back, which loses requests made at the same time.)
    """

    scope = "partner"
    wait_seconds: float | None = None

    def get_rate(self) -> str | None:
        # Read on each request, not once at import like DRF's own, so a changed setting applies.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.auth, PartnerAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.partner_id}

    def allow_request(self, request: Request, view: APIView) -> bool:
        key = self.get_cache_key(request, view)
        limit, duration = self.parse_rate(self.rate)
        if key is None or limit is None or duration is None:
            return True
        now = float(self.timer())
        window = int(now // duration)
        self.wait_seconds = (window + 1) * duration - now
        return self._count(f"{key}:{window}", timeout=duration + 1) <= limit

    def _count(self, key: str, *, timeout: int) -> int:
        """This request's number in the window: on Redis in one round trip (RedisCache.count_in_window);
        other caches (the in-process one of development and tests) take the cache API's add and incr."""
        backend = caches[DEFAULT_CACHE_ALIAS]
        if isinstance(backend, RedisCache):
            return backend.count_in_window(key, timeout=timeout)
        if self.cache.add(key, 1, timeout=timeout):
            return 1
        try:
            return int(self.cache.incr(key))
        except ValueError:
            # The window's count expired between the two calls: this request opens it again.
            self.cache.add(key, 1, timeout=timeout)
            return 1

    def wait(self) -> float | None:
        return self.wait_seconds
