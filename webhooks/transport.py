"""The partner's URL, checked against server-side request forgery, and the signed POST itself.

A partner chooses where our servers send requests, so the URL is checked when it is registered and
the host is resolved and checked again before every attempt (its DNS may have changed since); the
connection then goes to exactly the address that was checked, so a second resolution cannot swap in
an internal one. Redirects are not followed: a 3xx is a failed attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from members.errors import DomainError

TIMEOUT_SECONDS = 5
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


class UnsafeUrl(DomainError):
    code = "invalid"
    http_status = 400

    def __init__(self, message: object) -> None:
        super().__init__(message, field="url")


def _private_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False))


def url_check(url: str) -> tuple[SplitResult, str]:
    """Refuse a URL we must not call; return it split and the one address to connect to.

    https only, except http:// to this machine while private addresses are allowed (development and
    tests); no user name or password in it; a host that resolves only to public addresses unless
    private ones are allowed by WEBHOOKS_ALLOW_PRIVATE_ADDRESSES.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise UnsafeUrl(_("Give a full https:// URL."))
    if parts.username or parts.password:
        raise UnsafeUrl(_("Put no user name or password in the URL: every request is signed instead."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(_("The URL's port is not a number from 1 to 65535.")) from exc
    if parts.scheme == "http" and not (_private_allowed() and parts.hostname in _LOOPBACK_NAMES):
        raise UnsafeUrl(_("Use https://: events are sent only over an encrypted connection."))
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(_("The URL's host name could not be resolved.")) from exc
    addresses = [str(info[4][0]) for info in infos]
    if not _private_allowed():
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise UnsafeUrl(_("The URL points to a private, local or reserved address; use a public host name."))
    return parts, addresses[0]


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the endpoint's secret>`."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, not the address connected to.
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_SECONDS) -> Outcome:
    """POST `body` to `url` once; never raises for the network or the answer, only reports them."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        parts, address = url_check(url)
    except UnsafeUrl as exc:
        return Outcome(None, str(exc.message), elapsed())
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address=address, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)  # the answer's body is not kept; read a little so the connection closes cleanly
        return Outcome(response.status, "", elapsed())
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:300], elapsed())
    finally:
        connection.close()
