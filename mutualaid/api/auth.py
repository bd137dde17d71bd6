"""Who is calling: a partner's API key, and how often it may call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from members.models import Partner, PartnerAPIKey

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
        api_key = (
            PartnerAPIKey.objects.get_usable_keys().select_related("partner").filter(prefix=prefix).first()
            if prefix
            else None
        )
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
    """Requests per partner (whichever of its keys), at the `partner` rate of REST_FRAMEWORK."""

    scope = "partner"

    def get_rate(self) -> str | None:
        # Read on each request, not once at import like DRF's own, so a changed setting applies.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.auth, PartnerAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.partner_id}
