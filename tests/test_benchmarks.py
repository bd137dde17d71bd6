"""The benchmarks' pieces on tiny data: the settlement's seeding, bare insert and real worker; the API
benchmark's and the load scenario's server, load generator, people and figures.

No timing is asserted: this proves that `make bench` and `make load` can run (the settlement's SQL seeds
members the split accepts and its worker settles the period; gunicorn serves, locust's users enrol, log in
and read without an error; the figures add up on fixed numbers), not how fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from django.conf import global_settings, settings
from django.db.models import Count, Q
from django.utils import timezone
from stdnum.cn import ric

from benchmarks import __main__ as cli
from benchmarks import api, load, people, wrk
from benchmarks import settlement as bench
from benchmarks.server import (
    LOCUSTFILE,
    SERVER_ENV,
    MemoryLog,
    MemoryPoint,
    Server,
    Swarm,
    gunicorn_command,
    locust_command,
    machine_speed_ms,
    run_locust,
    start_gunicorn,
)
from benchmarks.timings import Summary, Timings, errors_text, percentile, request_table, summaries
from benchmarks.worker import BASE_DIR, process_tree, production_env, sample_tree, sender_for, start_worker
from claims.models import Claim, ClaimStatus
from members.identity import parse_resident_id
from members.models import Membership, Person, Plan, User
from members.services import membership_enrol, partner_create
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


def test_the_machine_speed_is_the_cpu_time_of_a_fixed_piece_of_work() -> None:
    one, three = machine_speed_ms(rounds=1), machine_speed_ms(rounds=3)
    assert 1 < one < 60_000 and 1 < three < 60_000


def test_the_memory_of_this_process_is_read() -> None:
    import os

    sample = sample_tree(os.getpid())
    assert sample.rss_kb > 0 and sample.processes >= 1


# --- the API benchmark and the load scenario (api.py, load.py, locustfile.py) ------------------------------------


def test_the_locustfile_loads_and_offers_the_benchmarks_users() -> None:
    # In a process of its own: importing locust patches the standard library for gevent.
    listed = subprocess.run(
        [sys.executable, "-m", "locust", "--locustfile", str(LOCUSTFILE), "--list"],
        cwd=BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(BASE_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    users = set(listed.stdout.split())
    assert {"BulkEnroller", "MemberReader", "MemberBrowser", "PartnerClient"} <= users
    assert "PartnerUser" not in users  # the abstract base


def test_percentiles_are_nearest_rank_on_fixed_numbers() -> None:
    hundred = [float(n) for n in range(100, 0, -1)]  # 100 … 1, unsorted on purpose
    assert percentile(hundred, 50) == 50.0
    assert percentile(hundred, 99) == 99.0
    assert percentile(hundred, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0  # the smallest value with at least half at or below it
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="p must be"):
        percentile([1.0], 0)


def fixed_timings() -> Timings:
    timings = Timings()
    for i in range(100):  # one read every 0.1 s from t=1000, taking 1 … 100 ms
        timings.record("GET /api/v1/members/{id}/", start=1000.0 + i / 10, ms=float(i + 1))
    timings.record("GET /api/v1/members/{id}/", start=1010.0, ms=500.0, error="HTTPError: 500 Server Error")
    timings.record("POST /login/", start=1000.5, ms=250.0)
    timings.count("enrolled", 3)
    return timings


def test_the_figures_and_the_table_are_computed_from_the_raw_timings(tmp_path: Path) -> None:
    path = tmp_path / "timings.json"
    fixed_timings().save(path)
    timings = Timings.load(path)
    assert timings.counters == {"enrolled": 3}
    assert timings.window() == (1000.0, 1010.5)
    assert timings.window(["POST /login/"]) == (1000.5, 1000.75)

    read, login, total = summaries(timings, seconds=10.0)
    assert (read.name, read.requests, read.failures) == ("GET /api/v1/members/{id}/", 101, 1)
    assert (read.p50_ms, read.p99_ms, read.max_ms) == (51.0, 100.0, 500.0)
    assert read.per_second == 10.1
    assert (login.requests, login.p50_ms) == (1, 250.0)
    assert (total.name, total.requests, total.failures) == ("all", 102, 1)
    assert total.error_rate == pytest.approx(1 / 102)

    table = request_table([read, login, total])
    assert "GET /api/v1/members/{id}/" in table and "10.1" in table and "100.0" in table and "500.0" in table
    assert errors_text(timings) == ["     1 × GET /api/v1/members/{id}/: HTTPError: 500 Server Error"]


def test_the_api_benchmark_reports_members_per_second_and_the_read_latencies_against_the_targets() -> None:
    timings = Timings()
    for i in range(4):  # four bulk requests of 1,000, each 2 s, two at a time: 4,000 people in 4 s
        timings.record(api.BULK, start=100.0 + 2 * (i // 2), ms=2000.0)
    timings.count("enrolled", 4000)
    bulk = api.bulk_figures(timings, stored=4000)
    assert (bulk.seconds, bulk.members_per_second, bulk.requests.requests) == (4.0, 1000.0, 4)

    read = fixed_timings()
    result = api.ApiResult(
        plan=api.plan_from(cli.parse_args(["--api-only"])),
        bulk=bulk,
        read=api.read_figures(read),
        memory=MemoryPoint(at_seconds=1.0, workers=4, rss_kb=400 * 1024, pss_kb=300 * 1024, worker_pids=(1, 2, 3, 4)),
        errors=[],
        read_cpu_seconds=0.5,
    )
    assert result.plan.bulk_batches == 20 and result.plan.read_users == 32 and result.plan.read_seconds == 30.0
    assert result.plan.warmup_seconds == 15.0
    text = api.table(result)
    assert "1,000 members/s" in text and "GET /api/v1/members/{id}/" in text and "(wrk)" not in text
    assert api.verdicts(result) == [
        "bulk enrolment 1,000 members/s (target ≥ 2,000): MISSED",
        "member read p99 100.0 ms with locust (target < 100; the generator used 0.05 of the 2 cores): MISSED",
        "member read with wrk: not run (wrk is not installed; on Debian: apt-get install wrk)",
    ]
    fast = Summary(name=api.READ_WRK, requests=900, failures=0, seconds=2.0, p50_ms=40.0, p99_ms=80.0, max_ms=90.0)
    both = dataclasses.replace(result, read_wrk=wrk.WrkRun(summary=fast, errors={}, cpu_seconds=0.1))
    assert "GET /api/v1/members/{id}/ (wrk)" in api.table(both) and "450 req/s" in api.table(both)
    assert api.verdicts(both)[2] == (
        "member read p99 80.0 ms with wrk (target < 100; the generator used 0.05 of the 2 cores): met"
    )
    with pytest.raises(RuntimeError, match="sent no GET /api/v1/members/"):
        api.read_figures(Timings())


def test_the_wrk_script_reads_random_members_with_the_key_and_reports_one_json_line() -> None:
    script = wrk.script_text(ids=[7, 8, 9], key="AbC123.xyz")
    assert "ids = {7,8,9}" in script and '"Api-Key AbC123.xyz"' in script and "math.random(#ids)" in script
    with pytest.raises(ValueError, match="letters, digits"):
        wrk.script_text(ids=[1], key='x" .. os.exit() .. "')
    with pytest.raises(ValueError, match="at least one"):
        wrk.script_text(ids=[], key="k")
    argv = wrk.wrk_command(host="http://127.0.0.1:8123", users=32, seconds=30, script=Path("r.lua"))
    assert argv == [
        "wrk",
        "--threads=2",
        "--connections=32",
        "--duration=30s",
        "--timeout=30s",
        "--script=r.lua",
        "http://127.0.0.1:8123",
    ]
    output = (
        "Running 30s test\n"
        'WRK-JSON {"requests": 15000, "duration_us": 30000000, "p50_us": 60500, "p99_us": 91250, '
        '"max_us": 120000, "connect": 0, "read": 0, "write": 0, "status": 3, "timeout": 1}\n'
    )
    summary, errors = wrk.parse(output, name="reads")
    assert (summary.requests, summary.seconds, summary.per_second) == (15000, 30.0, 500.0)
    assert (summary.p50_ms, summary.p99_ms, summary.max_ms, summary.failures) == (60.5, 91.25, 120.0, 4)
    assert errors == {"status": 3, "timeout": 1}
    with pytest.raises(RuntimeError, match="no result line"):
        wrk.parse("Running 30s test", name="reads")


def test_the_benchmark_flags_choose_what_runs() -> None:
    assert cli.parse_args(["--api-only"]).api_only
    assert cli.parse_args(["--skip-api"]).skip_api
    quick = api.plan_from(cli.parse_args(["--quick"]))
    assert (quick.bulk_batches, quick.read_seconds, quick.background, quick.bulk_users) == (4, 10.0, 10_000, 4)
    chosen = api.plan_from(cli.parse_args(["--bulk-batches", "2", "--api-duration", "5", "--web-workers", "2"]))
    assert (chosen.bulk_batches, chosen.read_seconds, chosen.workers, chosen.bulk_users) == (2, 5.0, 2, 2)


def test_the_load_scenario_judges_errors_and_memory_on_fixed_numbers() -> None:
    assert [load.duration(text) for text in ("300", "20s", "5m", "1h", "0.5")] == [300, 20, 300, 3600, 0.5]
    with pytest.raises(argparse.ArgumentTypeError):
        load.duration("soon")
    assert load.parse_args([]).duration == 300.0

    def point(at: float, rss_mb: int, pids: tuple[int, ...] = (1, 2, 3, 4)) -> MemoryPoint:
        return MemoryPoint(
            at_seconds=at, workers=len(pids), rss_kb=rss_mb * 1024, pss_kb=rss_mb * 512, worker_pids=pids
        )

    flat = [point(0, 300), point(60, 400), point(120, 404), point(180, 410)]
    growing = [point(0, 300), point(60, 400), point(120, 450), point(180, 500)]
    assert load.memory_growth(flat) == pytest.approx((0.025, 0.025))
    assert load.memory_growth(flat[:2]) is None
    timings = fixed_timings()
    ok = load.figures(timings, users=5, memory=flat, survived=True)
    assert ok.total.failures == 1
    assert load.verdicts(ok) == [
        "error rate 0.980% (1 of 102; target 0): MISSED",
        "workers' memory from the first sample after the start to the end: RSS +2.5%, PSS +2.5% "
        "(target: no growth, ≤ 10%): met",
        "workers restarted during the run: none",
    ]
    bad = load.figures(timings, users=5, memory=[*growing, point(240, 500, (1, 2, 3, 9))], survived=True)
    assert load.verdicts(bad)[1].endswith("MISSED")
    assert load.verdicts(bad)[2] == "workers restarted during the run: YES"
    assert "180" in load.memory_table(flat)


def test_the_server_and_the_load_generator_are_started_as_production_and_locust_expect() -> None:
    command = gunicorn_command(port=8123, workers=4)
    assert command[1:4] == ["-m", "gunicorn", "mutualaid.wsgi:application"]
    assert "127.0.0.1:8123" in command and command[command.index("--workers") + 1] == "4"
    assert command[command.index("--worker-class") + 1] == "sync"
    assert SERVER_ENV["API_THROTTLE_RATE"] == "1000000/minute"

    swarm = Swarm(user_classes=("MemberReader",), users=32, spawn_rate=32, run_seconds=30, options={"api-key": "k"})
    argv = locust_command(swarm, host="http://127.0.0.1:8123", timings_file=Path("t.json"))
    assert argv[-1] == "MemberReader" and argv[argv.index("--api-key") + 1] == "k"
    assert argv[argv.index("--run-time") + 1] == "30s" and argv[argv.index("--users") + 1] == "32"
    assert "--headless" in argv and argv[argv.index("--timings-file") + 1] == "t.json"


def test_generated_people_have_valid_distinct_id_numbers_of_an_age_the_plan_accepts() -> None:
    today = date(2026, 11, 30)
    # Consecutive numbers, and the seams where the serial, the birth day and the region turn over.
    seams = [people.SERIALS * k + d for k in (1, people.AGE_SPAN_DAYS, 3 * people.AGE_SPAN_DAYS) for d in (-1, 0)]
    numbers = sorted({*range(20_000), *seams, people.SPACE - 1})
    ids = [people.id_number(n, today=today) for n in numbers]
    assert len(set(ids)) == len(ids)
    for number in ids[::97] + ids[-6:]:
        assert ric.is_valid(number), number
        parsed = parse_resident_id(number)
        age_days = (today - parsed.birth_date).days
        assert 366 <= age_days <= 58 * 366, number
    with pytest.raises(ValueError, match="n must be"):
        people.id_number(people.SPACE, today=today)

    source = people.PersonSource(start=5)
    batch = source.batch(3, today=today, questions=["Q1", "Q2"])
    assert [body["external_ref"] for body in batch] == ["bench-5", "bench-6", "bench-7"]
    assert batch[0]["health_declaration"] == {"Q1": False, "Q2": False}
    assert all(len(body["phone"]) == 11 for body in batch)
    assert 0 <= people.PersonSource.random().start < people.SPACE


@pytest.mark.django_db
def test_a_generated_enrolment_is_accepted_without_review(plan: Plan) -> None:
    questions = list(plan.health_questions.values_list("code", flat=True))
    for body in people.PersonSource(start=123_456).batch(3, today=timezone.localdate(), questions=questions):
        membership = membership_enrol(
            plan=plan,
            name=body["name"],
            id_number=body["id_number"],
            health_answers=body["health_declaration"],
            phone=body["phone"],
            attested_score=body["credit_score"],
            external_ref=body["external_ref"],
        )
        assert membership.status == "waiting"


@pytest.fixture
def served(transactional_db: None, sender: Celery) -> Iterator[tuple[Server, dict[str, str]]]:
    """Gunicorn as the benchmarks start it, on the test database (stopped before the database is flushed)."""
    env = production_env(database_url=database_url_for_the_test_database(), redis_url=redis_url())
    server = start_gunicorn(env=env, workers=2)
    yield server, env
    server.stop()


@pytest.mark.services
def test_the_api_benchmark_enrols_in_bulk_through_gunicorn_and_reads_back_with_locust_and_wrk(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, env = served
    bench.seed_plan()
    partner, key = partner_create(name="benchmark partner")
    bulk_swarm = Swarm(
        user_classes=("BulkEnroller",),
        users=2,
        spawn_rate=2,
        run_seconds=300,  # a limit only: the run ends when the last batch is answered
        options={"api-key": key, "bulk-size": "10", "bulk-batches": "3"},
    )
    stored = Membership.objects.filter(partner=partner)
    bulk = api.bulk_figures(run_locust(bulk_swarm, host=server.url, env=env), stored=stored.count())
    assert (bulk.enrolled, bulk.refused, bulk.stored) == (30, 0, 30)
    assert (bulk.requests.requests, bulk.requests.failures) == (3, 0)
    assert set(stored.values_list("status", flat=True)) == {"waiting"}
    assert Person.objects.filter(memberships__partner=partner).distinct().count() == 30

    read_swarm = Swarm(user_classes=("MemberReader",), users=2, spawn_rate=2, run_seconds=2, options={"api-key": key})
    read = api.read_figures(run_locust(read_swarm, host=server.url, env=env))
    assert read.requests > 0 and read.failures == 0

    assert wrk.available(), "the benchmark's second load generator is missing: apt-get install wrk"
    ids = list(stored.values_list("pk", flat=True))
    with_wrk = wrk.run_wrk(host=server.url, ids=ids, key=key, users=2, seconds=2, name=api.READ_WRK)
    assert with_wrk.summary.requests > 0 and with_wrk.summary.failures == 0 and with_wrk.errors == {}
    assert 0 < with_wrk.summary.p50_ms <= with_wrk.summary.p99_ms <= with_wrk.summary.max_ms
    assert with_wrk.cpu_seconds > 0
    assert server.alive()


@pytest.mark.services
def test_the_load_scenario_logs_members_in_and_partners_enrol_and_read_without_errors(
    served: tuple[Server, dict[str, str]], settings: Any
) -> None:
    # The server checks passwords with the production hashers: the seeded hash must be one of theirs.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    server, env = served
    seeded = load.seed(load.parse_args(["--background", "200", "--members", "3", "--partner-members", "60"]))
    assert User.objects.filter(username__startswith="139", memberships__isnull=False).distinct().count() == 3
    swarm = Swarm(
        user_classes=("MemberBrowser", "PartnerClient"),
        users=5,
        spawn_rate=5,
        run_seconds=4,
        options={
            "api-key": seeded.api_key,
            "member-phones": seeded.phones,
            "member-password": seeded.password,
            "think-min": "0.1",
            "think-max": "0.2",
        },
    )
    memory = MemoryLog(server, every=1.0)
    memory.start()
    timings = run_locust(swarm, host=server.url, env=env)
    result = load.figures(timings, users=5, memory=memory.stop(), survived=server.alive())
    assert result.total.failures == 0, errors_text(timings)
    assert {"GET /login/", "POST /login/", "GET /api/v1/plan/"} <= set(timings.kinds)
    assert timings.kinds["POST /login/"].times_ms and result.total.requests > 10
    assert all(point.workers == 2 and point.rss_kb > 0 for point in result.memory)
