"""Webhook fixtures: a partner's receiver (a real HTTP server on this machine), two partners, acme and
globex, each with an endpoint, and tasks run in the test's own process.

The receiver answers with the statuses it is told (200 once the list runs out) and keeps every request,
so a test checks exactly what a partner would have received.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from members.models import Membership, Partner, Plan
from members.services import partner_create
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_create


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A partner's webhook receiver on 127.0.0.1: answers `statuses` in turn, then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


def verify(*, secret: str, header: str, body: bytes) -> bool:
    """What a partner does with Mutualaid-Signature (the README's snippet, as a test helper)."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@pytest.fixture
def make_receiver() -> Iterator[Callable[[], Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def _make() -> Receiver:
        receiver = Receiver(url="")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/mutualaid"
        return receiver

    yield _make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(make_receiver: Callable[[], Receiver]) -> Receiver:
    return make_receiver()


@pytest.fixture(autouse=True)
def _private_addresses_allowed(settings: Any) -> None:
    """The receivers listen on 127.0.0.1 over http, which only development and tests may call."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture(autouse=True)
def _tasks_in_process(tasks_in_process: None) -> None:
    """Tasks run in the test's own process, even when REDIS_URL is set, except with a real worker."""


@dataclass
class Hooked:
    """A partner with one endpoint pointing at its own receiver, and the endpoint's secret."""

    partner: Partner
    endpoint: WebhookEndpoint
    secret: str
    receiver: Receiver


def _hooked(name: str, receiver: Receiver, kinds: list[str] | None = None) -> Hooked:
    partner, _key = partner_create(name=name)
    endpoint, secret = endpoint_create(partner=partner, url=receiver.url, kinds=kinds)
    return Hooked(partner=partner, endpoint=endpoint, secret=secret, receiver=receiver)


@pytest.fixture
def acme(plan: Plan, make_receiver: Callable[[], Receiver]) -> Hooked:
    return _hooked("acme", make_receiver())


@pytest.fixture
def globex(plan: Plan, make_receiver: Callable[[], Receiver]) -> Hooked:
    return _hooked("globex", make_receiver())


@pytest.fixture
def enrol_for(enrol: Callable[..., Membership]) -> Callable[..., Membership]:
    """Enrol someone as the given partner's member (partner_id is what isolation is decided on)."""
    counter = iter(range(1, 10_000))

    def _enrol(hooked: Hooked, **kwargs: Any) -> Membership:
        return enrol(partner=hooked.partner, external_ref=f"{hooked.partner.name}-{next(counter)}", **kwargs)

    return _enrol
