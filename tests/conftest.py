"""Shared fixtures: the default plan, named people, and the rule for tests that need real services.

Tests marked `services` need PostgreSQL (DATABASE_URL) and Redis (REDIS_URL). Locally, without them,
they are skipped with the reason; in CI (CI set) a missing service is an error, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.core import signals
from django.db import close_old_connections, connection

from members.models import Membership, Plan, User
from members.selectors import plan_payout_tiers_forget
from mutualaid.celery import app
from settlement.models import Period


def services_available() -> tuple[bool, str]:
    if connection.vendor != "postgresql":
        return False, "needs PostgreSQL: set DATABASE_URL"
    if not settings.REDIS_URL:
        return False, "needs Redis: set REDIS_URL"
    return True, ""


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("services") is None:
        return
    ok, why = services_available()
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test against the real services: {why}")
    pytest.skip(why)


@pytest.fixture(autouse=True)
def _a_cache_of_its_own(settings: Any) -> Iterator[None]:
    """Each test reads and writes a cache of its own: a key prefix of its own, so no throttle count, API
    key or anything else cached is left from another test (ids start again in each test database, and
    SQLite reuses the ids of rows rolled back), and nothing is flushed from a shared Redis db, which also
    holds the Celery broker's queues. Keys left behind expire on their own. The payout tiers each process
    keeps in memory are dropped too."""
    settings.CACHES = {
        alias: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"} for alias, config in settings.CACHES.items()
    }
    plan_payout_tiers_forget()
    yield
    plan_payout_tiers_forget()


@pytest.fixture
def tasks_in_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """Queued tasks run in the test's own process, even when REDIS_URL is set, except in a test marked
    `services`, which has a real worker take them from Redis.

    A folder whose code queues tasks turns this on for all its tests with an autouse fixture of its own.
    """
    if request.node.get_closest_marker("services") is not None:
        yield
        return
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """For requests sent through the WSGI application itself (Schemathesis): the app closes the database
    connection after each request, as it must in production; the test's connection holds the test's
    transaction, so here it stays open (Django's test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def plan(db: Any) -> Plan:
    from claims.seeding import conditions_seed_default
    from members.seeding import plan_seed_default

    plan = plan_seed_default()
    conditions_seed_default(plan=plan)
    return plan


@pytest.fixture
def big_caps(plan: Plan) -> Plan:
    """The plan with its caps out of the way, so every figure is the plain split."""
    plan.per_claim_cap_fen = 10**12
    plan.annual_cap_fen = 10**12
    plan.save()
    return plan


@pytest.fixture
def settled(big_caps: Plan) -> Period:
    """Seven sharers, claims of 10.00 and 2.50 yuan: total 13.50 = 7 × 1.92 + 6 fen (as the public report)."""
    from tests.settlement.conftest import add_members, period_with_claims, settle_now

    add_members(big_caps, 7)
    return settle_now(period_with_claims(big_caps, payouts=[1_000, 250]))


@pytest.fixture
def no_answers(plan: Plan) -> dict[str, bool]:
    """A clean health declaration: “no” to every question of the plan."""
    return {code: False for code in plan.health_questions.values_list("code", flat=True)}


@pytest.fixture
def make_id() -> Callable[..., str]:
    """Build a valid resident ID number for a birth date (region 110105, a serial, the check digit)."""
    from tests.idnumbers import make_id_number

    return make_id_number


@pytest.fixture
def alice(db: Any) -> User:
    """Alice owns a household."""
    return User.objects.create_user(username="13800000001", phone="13800000001", password="alice-pass-123")


@pytest.fixture
def charlie(db: Any) -> User:
    """Charlie is an outsider with a household of his own."""
    return User.objects.create_user(username="13800000003", phone="13800000003", password="charlie-pass-123")


@pytest.fixture
def admin_user(db: Any) -> User:
    return User.objects.create_superuser(username="admin", password="admin-pass-123", email="admin@example.com")


@pytest.fixture
def enrol(plan: Plan, no_answers: dict[str, bool], make_id: Callable[..., str]) -> Callable[..., Membership]:
    """Enrol someone quickly with an attested good credit score (payers) unless told otherwise."""
    from members.services import membership_enrol

    counter = iter(range(1, 10_000))

    def _enrol(
        *,
        birth_date: date = date(1990, 5, 17),
        name: str = "张三",
        payer: Membership | None = None,
        relationship: str = "self",
        account: User | None = None,
        on: date | None = None,
        **extra: Any,
    ) -> Membership:
        if payer is None and "attested_score" not in extra:
            extra["attested_score"] = 700
        return membership_enrol(
            plan=plan,
            name=name,
            id_number=make_id(birth_date, serial=next(counter)),
            health_answers=no_answers,
            relationship=relationship,
            payer=payer,
            account=account,
            on=on,
            **extra,
        )

    return _enrol


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Real hashing costs half a second a password; tests check behaviour, not the hash's strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Debian's chromium package (CI installs it); Playwright drives it and never downloads a browser.
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def browser_available() -> tuple[bool, str]:
    if not os.path.exists(CHROMIUM_PATH):
        return False, f"needs Chromium at {CHROMIUM_PATH} (Debian package chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, "needs the playwright package (pip install -e '.[dev]')"
    return True, ""


@pytest.fixture(autouse=True)
def _require_browser(request: pytest.FixtureRequest) -> None:
    """Tests marked `browser`: skipped locally without Chromium, an error in CI (same rule as `services`)."""
    if request.node.get_closest_marker("browser") is None:
        return
    ok, why = browser_available()
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {why}")
    pytest.skip(why)


@pytest.fixture
def chromium_executable() -> str:
    return CHROMIUM_PATH
