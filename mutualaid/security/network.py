"""The client's address, as the lockout keys it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the outermost one saw.

    Each proxy appends the address it received the request from to X-Forwarded-For, so only the last
    TRUSTED_PROXY_COUNT entries were written by proxies we run; anything before them the client may have
    typed itself, and trusting it would let an attacker pick a fresh address for every guess.
    """
    remote: str = request.META.get("REMOTE_ADDR", "")
    count: int = settings.TRUSTED_PROXY_COUNT
    if not count:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    return hops[-count] if len(hops) >= count else remote
