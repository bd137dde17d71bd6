"""The settlement benchmark's pieces on a tiny period: seeding, the bare insert, a real worker's settlement.

No timing is asserted: this proves that `make bench` can run (its SQL seeds members the split accepts, its
worker settles the period through Celery and Redis, its check adds up), not how fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db.models import Count, Q

from benchmarks import __main__ as cli
from benchmarks import settlement as bench
from benchmarks.worker import process_tree, production_env, sample_tree, sender_for, start_worker
from claims.models import Claim, ClaimStatus
from members.models import Membership, Person
from settlement.models import PeriodStatus
from tests.test_smoke_stack import database_url_for_the_test_database

REDIS_DB = 14
MEMBERS = 500
CLAIMS = 3
CHUNK = 100


def redis_url() -> str:
    return urlunsplit(urlsplit(settings.REDIS_URL)._replace(path=f"/{REDIS_DB}"))


@pytest.fixture
def sender() -> Iterator[Celery]:
    redis.Redis.from_url(redis_url()).flushdb()
    sender = sender_for(redis_url())
    yield sender
    sender.close()
    redis.Redis.from_url(redis_url()).flushdb()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_benchmark_seeds_members_and_claims_and_settles_them_through_a_real_worker(sender: Celery) -> None:
    plan = bench.seed_plan()
    seeded = bench.seed_members(plan, MEMBERS)
    made = bench.seed_claims(seeded, CLAIMS)
    bench.analyze()
    period = bench.open_period(plan)

    members = Membership.objects.filter(plan=plan)
    assert members.count() == MEMBERS == seeded.last_id - seeded.first_id + 1
    assert set(members.values_list("status", flat=True)) <= {"waiting", "active"}
    dependants = members.filter(payer__isnull=False)
    assert dependants.count() == MEMBERS // bench.DEPENDANT_EVERY
    assert not dependants.filter(payer__payer__isnull=False).exists()  # every payer pays for themself
    assert not members.filter(joined_on__gte=bench.NOTICE_DATE).exists()
    people = Person.objects.filter(memberships__plan=plan)
    assert people.aggregate(n=Count("id_number_hash", distinct=True))["n"] == MEMBERS
    oldest = bench.NOTICE_DATE - timedelta(days=bench.MAX_AGE_DAYS)
    youngest = bench.NOTICE_DATE - timedelta(days=bench.MIN_AGE_DAYS)
    assert not people.filter(Q(birth_date__lt=oldest) | Q(birth_date__gt=youngest)).exists()
    assert all(len(m) == 18 and m[6:14] == "*" * 8 for m in people.values_list("id_number_masked", flat=True))
    assert made == CLAIMS
    assert Claim.objects.filter(notice=period.notice, status=ClaimStatus.IN_NOTICE).count() == CLAIMS
    assert period.status == PeriodStatus.IN_NOTICE

    assert bench.bare_insert_seconds(period) > 0

    env = production_env(database_url=database_url_for_the_test_database(), redis_url=redis_url())
    worker = start_worker(env=env, sender=sender, concurrency=2)
    try:
        assert len(process_tree(worker.process.pid)) >= 3  # the worker and its two pool processes
        settled = bench.settle_through_worker(period, worker=worker, sender=sender, chunk_size=CHUNK, timeout=60)
    finally:
        worker.stop()
        worker.log.unlink(missing_ok=True)

    check = bench.check_period(period)
    assert check.sums_ok, check
    assert check.rows_ok(MEMBERS), check
    assert settled.chunks == len({m // CHUNK for m in range(seeded.first_id, seeded.last_id + 1)})
    assert settled.seconds > 0
    assert settled.peak_rss_mb > 0


def test_the_matrix_defaults_to_the_issues_cases_and_quick_to_one() -> None:
    assert cli.matrix(cli.parse_args([])) == [(100_000, 25), (100_000, 2_500), (1_000_000, 2_500)]
    assert cli.matrix(cli.parse_args(["--quick"])) == [(100_000, 25)]
    assert cli.matrix(cli.parse_args(["--sizes", "1000,2_000", "--claims", "3"])) == [(1_000, 3), (2_000, 3)]


def test_the_table_prints_every_figure() -> None:
    row = cli.Row(
        members=1_000_000,
        claims=2_500,
        seed_seconds=1.0,
        settle_seconds=30.0,
        bare_seconds=20.0,
        start_seconds=1.0,
        chunks_seconds=28.0,
        finish_seconds=1.0,
        chunks=20,
        peak_rss_mb=200.0,
        peak_pss_mb=150.0,
        idle_rss_mb=180.0,
        sums_ok=True,
        rows_ok=True,
    )
    text = cli.table([row])
    assert "1,000,000" in text and "1.50" in text and "200.0" in text
    assert cli.verdicts([row]) == [
        "N=1,000,000: settle/bare 1.50 (target ≤ 1.5): met",
        "worker peak RSS 200.0 MB (target < 250): met",
    ]


def test_the_memory_of_this_process_is_read() -> None:
    import os

    sample = sample_tree(os.getpid())
    assert sample.rss_kb > 0 and sample.processes >= 1
