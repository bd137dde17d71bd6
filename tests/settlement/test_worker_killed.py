"""A real Celery worker, killed with SIGKILL in the middle of a split, then started again.

The worker runs the production command (`celery -A mutualaid worker`, one process) against the test
database and a Redis database of this test's own. To stop it at a known point, the test holds an
uncommitted charge row for a member of the fourth chunk: that chunk's INSERT … ON CONFLICT waits for
the test's transaction, so the worker is caught with three chunks committed and the fourth half-done.
After the kill the test lets go, starts a new worker and runs the settlement again (as the next day's
jobs or `period_close` do); the period ends with exactly N rows adding up to the total.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum

from members.models import Plan
from settlement.models import Charge, Period, PeriodChunk, PeriodStatus
from tests.settlement.conftest import add_members, assert_ledger_consistent, period_with_claims
from tests.test_smoke_stack import BASE_DIR, Service, compose_command, production_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

REDIS_DB = 11
SHARERS = 600
CHUNK = 50
TIMEOUT = 60.0  # a liveness bound for a loaded 2-core machine, not a performance target


def redis_url() -> str:
    return urlunsplit(urlsplit(settings.REDIS_URL)._replace(path=f"/{REDIS_DB}"))


@pytest.fixture
def broker() -> Iterator[Celery]:
    """A sender on this test's Redis database, emptied before and after (a killed task stays unacked there)."""
    redis.Redis.from_url(redis_url()).flushdb()
    # Not the current app: shared tasks queued later in this process (other tests) must keep going to the
    # project's own broker, not to this test's Redis database.
    sender = Celery("settlement-test", broker=redis_url(), set_as_current=False)
    sender.conf.update(task_serializer="json", accept_content=["json"])
    yield sender
    sender.close()
    redis.Redis.from_url(redis_url()).flushdb()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for worker in started:
        worker.stop()


def worker(started: list[Service], tmp_path: Path, name: str, *, broker_url: str | None = None) -> Service:
    env = production_env(tmp_path)
    env["REDIS_URL"] = broker_url or redis_url()
    command = [*compose_command("worker"), "--concurrency=1", "--without-gossip", "--without-mingle"]
    log = tmp_path / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(name=name, process=process, log=log)
    started.append(service)
    service.wait_for_output("ready.", timeout=TIMEOUT)
    return service


def wait_until(what: str, check: object, service: Service) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():  # type: ignore[operator]
        assert service.process.poll() is None, service.failure(f"exited while waiting for {what}")
        assert time.monotonic() < deadline, service.failure(f"no {what} within {TIMEOUT:.0f} s")
        time.sleep(0.1)


def chunks_done(period: Period) -> int:
    return PeriodChunk.objects.filter(period=period, done_at__isnull=False).count()


def a_backend_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # The statistics views keep one snapshot for the whole transaction unless told to forget it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        (waiting,) = cursor.fetchone()
    return bool(waiting)


def test_a_worker_killed_mid_split_and_restarted_leaves_exactly_one_charge_per_sharer(
    plan: Plan, broker: Celery, start_worker: list[Service], tmp_path: Path
) -> None:
    plan.per_claim_cap_fen = 10**12
    plan.annual_cap_fen = 10**12
    plan.save()
    sharers = add_members(plan, SHARERS, joined_on=date(2025, 1, 1))
    period = period_with_claims(plan, payouts=[1_234_567])  # + 98,765 fee = 1,333,332 fen
    fourth_chunk = sorted({m.pk // CHUNK for m in sharers})[3]
    blocker = next(m for m in sharers if m.pk // CHUNK == fourth_chunk)

    first = worker(start_worker, tmp_path, "worker-1")
    with transaction.atomic():
        Charge.objects.create(period=period, member=blocker, payer=blocker, share_fen=0, amount_fen=0)
        broker.send_task("settlement.tasks.settle_period", args=[period.pk], kwargs={"chunk_size": CHUNK})
        wait_until("three chunks done", lambda: chunks_done(period) == 3, first)
        wait_until("the fourth chunk waiting", a_backend_waits_on_a_lock, first)
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        transaction.set_rollback(True)  # lets the fourth chunk's statement go, into a dead transaction

    assert chunks_done(period) == 3
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.SETTLING

    second = worker(start_worker, tmp_path, "worker-2")
    broker.send_task("settlement.tasks.settle_period", args=[period.pk])
    wait_until("the period settled", lambda: Period.objects.get(pk=period.pk).status == PeriodStatus.SETTLED, second)

    period.refresh_from_db()
    charges = Charge.objects.filter(period=period)
    assert (period.sharers, period.total_fen, period.operator_subsidy_fen) == (SHARERS, 1_333_332, 0)
    assert charges.count() == SHARERS
    assert charges.values("member").distinct().count() == SHARERS
    assert charges.aggregate(total=Sum("amount_fen"))["total"] == period.total_fen
    assert set(charges.values_list("amount_fen", flat=True)) == {2_222, 2_223}  # 1,333,332 = 600 × 2,222 + 132
    assert charges.filter(amount_fen=2_223).count() == 132
    assert not PeriodChunk.objects.filter(period=period, done_at__isnull=True).exists()
    assert_ledger_consistent()
