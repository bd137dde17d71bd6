"""Faults in the middle of a split, with a real Celery worker: Redis restarted, database connections dropped.

Each test stops the worker at a known point as the SIGKILL test does (test_worker_killed.py): it holds an
uncommitted charge row of the fourth chunk, so that chunk's INSERT waits on the row lock with three chunks
committed. Then the fault happens; the test lets go; the period ends settled with exactly one charge per
sharer adding up to the total, and the ledger balanced.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection, transaction
from django.db.models import Sum

from members.models import Plan
from settlement.models import Charge, Period, PeriodChunk, PeriodStatus
from tests.settlement.conftest import add_members, assert_ledger_consistent, period_with_claims
from tests.settlement.test_worker_killed import (
    CHUNK,
    TIMEOUT,
    a_backend_waits_on_a_lock,
    chunks_done,
    wait_until,
    worker,
)
from tests.test_smoke_stack import Service

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SHARERS = 600
PAYOUT_FEN = 1_234_567  # + 98,765 fee = 1,333,332 fen = 600 × 2,222 + 132


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test's own, without persistence: a restart loses every queued message."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path / "redis"
        self.dir.mkdir()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is not installed (CI installs Redis)"
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                if redis.Redis.from_url(self.url).ping():
                    return
            except redis.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the private Redis did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


@pytest.fixture
def workers() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for running in started:
        running.stop()


def sender(url: str) -> Celery:
    app = Celery("settlement-faults", broker=url, set_as_current=False)
    app.conf.update(task_serializer="json", accept_content=["json"])
    return app


def a_period(plan: Plan) -> tuple[Period, int]:
    """A period of 600 sharers without caps, and the member id of a sharer in its fourth chunk."""
    plan.per_claim_cap_fen = 10**12
    plan.annual_cap_fen = 10**12
    plan.save()
    sharers = add_members(plan, SHARERS, joined_on=date(2025, 1, 1))
    period = period_with_claims(plan, payouts=[PAYOUT_FEN])
    fourth_chunk = sorted({m.pk // CHUNK for m in sharers})[3]
    return period, next(m.pk for m in sharers if m.pk // CHUNK == fourth_chunk)


def hold_a_charge_of(period: Period, member_id: int) -> None:
    """The blocker: an uncommitted charge row the fourth chunk's INSERT must wait for."""
    Charge.objects.create(period=period, member_id=member_id, payer_id=member_id, share_fen=0, amount_fen=0)


def settled(period: Period) -> bool:
    return Period.objects.get(pk=period.pk).status == PeriodStatus.SETTLED


def assert_exactly_one_charge_per_sharer(period: Period) -> None:
    period.refresh_from_db()
    charges = Charge.objects.filter(period=period)
    assert period.status == PeriodStatus.SETTLED
    assert (period.sharers, period.total_fen) == (SHARERS, 1_333_332)
    assert charges.count() == SHARERS
    assert charges.values("member").distinct().count() == SHARERS
    assert charges.aggregate(total=Sum("amount_fen"))["total"] == period.total_fen
    assert charges.filter(amount_fen=2_223).count() == 132
    assert not PeriodChunk.objects.filter(period=period, done_at__isnull=True).exists()
    assert_ledger_consistent()


def test_redis_restarted_mid_split_loses_the_queued_chunks_and_the_resumed_settlement_is_exact(
    plan: Plan, private_redis: PrivateRedis, workers: list[Service], tmp_path: Path
) -> None:
    period, blocked_member = a_period(plan)
    running = worker(workers, tmp_path, "worker", broker_url=private_redis.url)
    broker = sender(private_redis.url)
    with transaction.atomic():
        hold_a_charge_of(period, blocked_member)
        broker.send_task("settlement.tasks.settle_period", args=[period.pk], kwargs={"chunk_size": CHUNK})
        wait_until("three chunks done", lambda: chunks_done(period) == 3, running)
        wait_until("the fourth chunk waiting", a_backend_waits_on_a_lock, running)
        # Redis goes down with the queued chunks in it, and comes back empty.
        private_redis.kill()
        private_redis.start()
        transaction.set_rollback(True)
    broker.close()

    # The fourth chunk, already running, commits; the chunks that were queued are gone with Redis, and the
    # finish refuses to settle a period with chunks missing.
    wait_until("the fourth chunk done", lambda: chunks_done(period) == 4, running)
    time.sleep(1)
    assert chunks_done(period) == 4
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.SETTLING

    # The next day's jobs (or `period_close`) resume it: the worker reconnected to the restarted Redis.
    broker = sender(private_redis.url)
    broker.send_task("settlement.tasks.settle_period", args=[period.pk])
    wait_until("the period settled", lambda: settled(period), running)
    broker.close()
    assert_exactly_one_charge_per_sharer(period)
    assert "Connection to broker lost" in running.output()


def terminate_backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        (terminated,) = cursor.fetchone()
    return int(terminated)


def test_a_dropped_database_connection_mid_chunk_is_retried_and_the_settlement_is_exact(
    plan: Plan, private_redis: PrivateRedis, workers: list[Service], tmp_path: Path
) -> None:
    period, blocked_member = a_period(plan)
    running = worker(workers, tmp_path, "worker", broker_url=private_redis.url)
    broker = sender(private_redis.url)
    with transaction.atomic():
        hold_a_charge_of(period, blocked_member)
        broker.send_task("settlement.tasks.settle_period", args=[period.pk], kwargs={"chunk_size": CHUNK})
        wait_until("three chunks done", lambda: chunks_done(period) == 3, running)
        wait_until("the fourth chunk waiting", a_backend_waits_on_a_lock, running)
        # The database drops the worker's connection in the middle of the chunk's transaction.
        assert terminate_backends_waiting_on_a_lock() == 1
        wait_until("the connection gone", lambda: not a_backend_waits_on_a_lock(), running)
        # The task fails, rolls back, and runs again after its back-off on a new connection: it waits on the
        # same row again while the other chunks go on.
        wait_until("the retried chunk waiting", a_backend_waits_on_a_lock, running)
        transaction.set_rollback(True)
    broker.close()

    # No one resumes it by hand: the retry finishes the chunk, and the last chunk queues the finish.
    wait_until("the period settled", lambda: settled(period), running)
    assert_exactly_one_charge_per_sharer(period)
    assert "Retry in" in running.output()
