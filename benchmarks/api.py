"""The API benchmark: bulk enrolment throughput and member reads under load, against gunicorn and PostgreSQL.

Run by `python -m benchmarks` after the settlement figures (`--api-only` runs it alone, `--skip-api` leaves
it out). Its database is the benchmark's own (BENCH_DATABASE_URL), made anew, migrated and seeded with the
plan and BACKGROUND members (set-based SQL, as the settlement benchmark seeds them) so that look-ups run
against tables of a realistic size. Gunicorn serves the app with production settings (server.py); locust
(locustfile.py) is the load generator, in a process of its own.

(a) Bulk enrolment: BulkEnroller users post `--bulk-batches` requests of `--bulk-size` new people each
    (valid, distinct ID numbers, every health question answered, an attested credit score), one user per
    gunicorn worker; members per second = people enrolled / (first request sent → last answer received).
(b) Reads: `--api-users` MemberReader users read GET /api/v1/members/{id}/ of the enrolled members with no
    pause for `--api-duration` seconds; requests per second, p50, p99 and errors. Then the same reads, as
    many connections for as long, from wrk (wrk.py), a generator written in C: the generator shares the
    two cores with the server, and the CPU each generator took is printed beside its figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import wrk
from .server import MemoryPoint, Swarm, children_cpu_seconds, machine_speed_ms, run_locust, start_gunicorn, warm_up
from .timings import Summary, Timings, errors_text, summarise

BULK = "POST /api/v1/members/bulk/"
READ = "GET /api/v1/members/{id}/"
READ_WRK = f"{READ} (wrk)"
# Issue 5's targets.
TARGET_MEMBERS_PER_SECOND = 2_000.0
TARGET_READ_P99_MS = 100.0
# Bulk requests never run this long; the run ends when the last batch is answered.
BULK_RUN_LIMIT_SECONDS = 3600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("API benchmark")
    group.add_argument("--api-only", action="store_true", help="run the API benchmark only (no settlement)")
    group.add_argument("--skip-api", action="store_true", help="run the settlement benchmark only")
    group.add_argument("--web-workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    group.add_argument(
        "--web-timeout", type=int, default=60, help="gunicorn's worker timeout, s (default 60, as in production)"
    )
    group.add_argument("--bulk-batches", type=int, default=None, help="bulk requests in all (default 20; quick 4)")
    group.add_argument("--bulk-size", type=int, default=1000, help="people per bulk request (default 1000)")
    group.add_argument("--bulk-users", type=int, default=None, help="bulk requests at once (default: web workers)")
    group.add_argument("--api-users", type=int, default=32, help="concurrent readers (default 32)")
    group.add_argument("--api-duration", type=float, default=None, help="seconds of reads (default 30; quick 10)")
    group.add_argument(
        "--api-warmup", type=float, default=None, help="seconds of reads before any is timed (default 15; quick 5)"
    )
    group.add_argument(
        "--api-background", type=int, default=None, help="members seeded before the run (default 100000; quick 10000)"
    )


@dataclass(frozen=True)
class ApiPlan:
    workers: int
    timeout: int
    bulk_batches: int
    bulk_size: int
    bulk_users: int
    read_users: int
    read_seconds: float
    warmup_seconds: float
    background: int


def plan_from(args: argparse.Namespace) -> ApiPlan:
    quick = bool(args.quick)
    workers = int(args.web_workers)
    return ApiPlan(
        workers=workers,
        timeout=int(args.web_timeout),
        bulk_batches=args.bulk_batches if args.bulk_batches is not None else (4 if quick else 20),
        bulk_size=int(args.bulk_size),
        bulk_users=args.bulk_users if args.bulk_users is not None else workers,
        read_users=int(args.api_users),
        read_seconds=args.api_duration if args.api_duration is not None else (10.0 if quick else 30.0),
        warmup_seconds=args.api_warmup if args.api_warmup is not None else (5.0 if quick else 15.0),
        background=args.api_background if args.api_background is not None else (10_000 if quick else 100_000),
    )


@dataclass(frozen=True)
class BulkResult:
    enrolled: int
    refused: int
    seconds: float
    requests: Summary
    stored: int

    @property
    def members_per_second(self) -> float:
        return self.enrolled / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class ApiResult:
    plan: ApiPlan
    bulk: BulkResult
    read: Summary
    memory: MemoryPoint
    errors: list[str]
    # CPU seconds each load generator took during the reads; wrk's run is None where wrk is not installed.
    read_cpu_seconds: float = 0.0
    read_wrk: wrk.WrkRun | None = None
    # server.machine_speed_ms just before and just after the reads (lower is faster).
    machine_ms: tuple[float, float] | None = None

    def reads(self) -> list[tuple[str, Summary, float]]:
        """Each read run: the generator, its figures and the cores it used on average."""
        runs = [("locust", self.read, self.read_cpu_seconds)]
        if self.read_wrk is not None:
            runs.append(("wrk", self.read_wrk.summary, self.read_wrk.cpu_seconds))
        return [(name, s, cpu / s.seconds if s.seconds > 0 else 0.0) for name, s, cpu in runs]


def _kind_of(timings: Timings, name: str) -> None:
    if name not in timings.kinds:
        found = "; ".join(errors_text(timings)) or "no failure recorded"
        raise RuntimeError(f"the load generator sent no {name}: {found}")


def bulk_figures(timings: Timings, *, stored: int) -> BulkResult:
    _kind_of(timings, BULK)
    first, last = timings.window([BULK])
    seconds = last - first
    return BulkResult(
        enrolled=timings.counters.get("enrolled", 0),
        refused=timings.counters.get("refused", 0),
        seconds=seconds,
        requests=summarise(BULK, timings.kinds[BULK], seconds=seconds),
        stored=stored,
    )


def read_figures(timings: Timings) -> Summary:
    _kind_of(timings, READ)
    first, last = timings.window([READ])
    return summarise(READ, timings.kinds[READ], seconds=last - first)


def table(result: ApiResult) -> str:
    header = (
        f"{'measure':<34} {'users':>5} {'requests':>9} {'seconds':>8} {'rate':>17} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'errors':>6}"
    )
    bulk = result.bulk
    rows = [
        (
            f"bulk enrolment ({result.plan.bulk_size:,} per request)",
            result.plan.bulk_users,
            bulk.requests,
            f"{bulk.members_per_second:,.0f} members/s",
        ),
        *(
            (s.name if name == "locust" else READ_WRK, result.plan.read_users, s, f"{s.per_second:,.0f} req/s")
            for name, s, _cores in result.reads()
        ),
    ]
    lines = [header, "-" * len(header)]
    for label, users, s, rate in rows:
        lines.append(
            f"{label:<34} {users:>5} {s.requests:>9,} {s.seconds:>8.1f} {rate:>17} {s.p50_ms:>8.1f} "
            f"{s.p99_ms:>8.1f} {s.max_ms:>8.1f} {s.failures:>6,}"
        )
    return "\n".join(lines)


def verdicts(result: ApiResult) -> list[str]:
    rate = result.bulk.members_per_second
    lines = [
        f"bulk enrolment {rate:,.0f} members/s (target ≥ {TARGET_MEMBERS_PER_SECOND:,.0f}): "
        + ("met" if rate >= TARGET_MEMBERS_PER_SECOND else "MISSED")
    ]
    for name, s, cores in result.reads():
        lines.append(
            f"member read p99 {s.p99_ms:.1f} ms with {name} (target < {TARGET_READ_P99_MS:.0f}; the generator used "
            f"{cores:.2f} of the 2 cores): "
            + ("met" if s.p99_ms < TARGET_READ_P99_MS and s.failures == 0 else "MISSED")
        )
    if result.read_wrk is None:
        lines.append("member read with wrk: not run (wrk is not installed; on Debian: apt-get install wrk)")
    return lines


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Seed, serve, load, print; 0 when every request succeeded and every enrolled member is stored."""
    import django
    import redis
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection

    from .database import check_disposable, drop_database, recreate_database
    from .worker import production_env

    check_disposable(args.database_url)
    if apps.ready:
        # The settlement benchmark ran first in this process: same database, same production environment.
        env = dict(os.environ)
    else:
        env = production_env(database_url=args.database_url, redis_url=args.redis_url)
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")
    plan = plan_from(args)
    say(
        f"\nAPI benchmark: gunicorn {plan.workers} sync workers; {plan.bulk_batches} bulk requests of "
        f"{plan.bulk_size:,}; {plan.read_users} readers for {plan.read_seconds:.0f} s; database {args.database_url}"
    )
    if apps.ready:
        connection.close()
    recreate_database(args.database_url)
    if not apps.ready:
        django.setup()
    # This process only seeds and reports: the services' INFO lines (one per member) would bury the figures.
    logging.disable(logging.INFO)
    from members.models import Membership
    from members.services import partner_create

    from . import settlement as seeding

    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        default_plan = seeding.seed_plan()
        seeding.seed_members(default_plan, plan.background)
        seeding.analyze()
        partner, key = partner_create(name="benchmark partner")
        connection.close()
        say(f"   seeded the plan and {plan.background:,} members: {time.perf_counter() - started:.1f} s")
        result = _measure(
            plan,
            env=env,
            key=key,
            members=lambda: list(Membership.objects.filter(partner=partner).values_list("pk", flat=True)),
        )
    finally:
        connection.close()
        broker.flushdb()
        if args.keep:
            say(f"\nkept the database {args.database_url}")
        else:
            drop_database(args.database_url)

    print()
    print(
        f"API benchmark ({os.cpu_count()} CPUs shared by server and load generator, gunicorn {plan.workers} sync "
        f"workers, PostgreSQL, {plan.background:,} members seeded before):"
    )
    print(table(result))
    print(
        "bulk: members/s = people enrolled / (first request sent → last answer); p50/p99 of the bulk requests;\n"
        f"read: {plan.read_users} users with no pause between requests, {plan.read_seconds:.0f} s with each generator "
        f"(locust, then wrk) after {plan.warmup_seconds:.0f} s of untimed reads;\n"
        "latencies from the load generator's clock (locust: every request; wrk: its histogram); "
        f"workers' memory at the end: RSS {result.memory.rss_mb:.0f} MB, PSS {result.memory.pss_mb:.0f} MB."
    )
    if result.machine_ms is not None:
        before, after = result.machine_ms
        print(
            f"machine speed: a fixed piece of Python took {before:.0f} ms of CPU before the reads and {after:.0f} ms "
            "after (lower is faster; compare runs by it)"
        )
    for line in verdicts(result):
        print(line)
    for line in result.errors:
        print(f"   error: {line}")
    ok = (
        result.bulk.refused == 0
        and result.bulk.stored == result.bulk.enrolled == plan.bulk_batches * plan.bulk_size
        and result.bulk.requests.failures == 0
        and all(s.failures == 0 for _name, s, _cores in result.reads())
    )
    return 0 if ok else 1


def _measure(plan: ApiPlan, *, env: dict[str, str], key: str, members: Callable[[], list[int]]) -> ApiResult:
    server = start_gunicorn(env=env, workers=plan.workers, timeout=plan.timeout)
    headers = {"Authorization": f"Api-Key {key}"}
    try:
        warm_up([f"{server.url}/api/v1/plan/", f"{server.url}/api/v1/members/?page_size=1"], headers=headers)
        say(f"   gunicorn ready at {server.url}; bulk enrolment …")
        options = {"api-key": key, "bulk-size": str(plan.bulk_size), "bulk-batches": str(plan.bulk_batches)}
        bulk_timings = run_locust(
            Swarm(
                user_classes=("BulkEnroller",),
                users=plan.bulk_users,
                spawn_rate=plan.bulk_users,
                run_seconds=BULK_RUN_LIMIT_SECONDS,
                options=options,
            ),
            host=server.url,
            env=env,
        )
        enrolled_ids = members()
        bulk = bulk_figures(bulk_timings, stored=len(enrolled_ids))
        say(
            f"   enrolled {bulk.enrolled:,} ({bulk.refused:,} refused, {bulk.stored:,} stored) in "
            f"{bulk.seconds:.1f} s: {bulk.members_per_second:,.0f} members/s"
        )
        warm_up([f"{server.url}/api/v1/members/{pk}/" for pk in enrolled_ids[:40]], headers=headers, rounds=5)
        if wrk.available() and plan.warmup_seconds > 0:
            # Steady state, as a server that has run for a while: each worker past its first requests,
            # the members' rows in PostgreSQL's buffers. Read figures grew by a tenth over the first
            # 30 seconds without it. Not timed.
            say(f"   {plan.warmup_seconds:.0f} s of reads to warm up (not timed) …")
            wrk.run_wrk(
                host=server.url,
                ids=enrolled_ids,
                key=key,
                users=plan.read_users,
                seconds=plan.warmup_seconds,
                name="warm-up",
            )
        speed_before = machine_speed_ms()
        say(f"   {plan.read_users} readers for {plan.read_seconds:.0f} s (locust) …")
        before = children_cpu_seconds()
        read_timings = run_locust(
            Swarm(
                user_classes=("MemberReader",),
                users=plan.read_users,
                spawn_rate=plan.read_users,
                run_seconds=plan.read_seconds,
                options={"api-key": key},
            ),
            host=server.url,
            env=env,
        )
        read_cpu = children_cpu_seconds() - before
        read = read_figures(read_timings)
        say(
            f"   {read.requests:,} reads: {read.per_second:,.0f} req/s, "
            f"p50 {read.p50_ms:.1f} ms, p99 {read.p99_ms:.1f} ms"
        )
        errors = errors_text(bulk_timings) + errors_text(read_timings)
        read_wrk = None
        if wrk.available():
            say(f"   {plan.read_users} connections for {plan.read_seconds:.0f} s (wrk) …")
            read_wrk = wrk.run_wrk(
                host=server.url,
                ids=enrolled_ids,
                key=key,
                users=plan.read_users,
                seconds=plan.read_seconds,
                name=READ_WRK,
            )
            s = read_wrk.summary
            say(f"   {s.requests:,} reads: {s.per_second:,.0f} req/s, p50 {s.p50_ms:.1f} ms, p99 {s.p99_ms:.1f} ms")
            errors += [f"{count:>6,} × {READ_WRK}: {kind} errors" for kind, count in read_wrk.errors.items()]
        speed_after = machine_speed_ms()
        memory = server.memory()
        if not server.alive():
            raise RuntimeError(server.failure("exited during the benchmark"))
    finally:
        server.stop()
    return ApiResult(
        plan=plan,
        bulk=bulk,
        read=read,
        memory=memory,
        errors=errors,
        read_cpu_seconds=read_cpu,
        read_wrk=read_wrk,
        machine_ms=(speed_before, speed_after),
    )
