"""`python -m benchmarks.load` (what `make load` runs): a steady load of members and partners for 5 minutes.

Members browse on their phones (log in with phone and password, then the household, claims, notices and
periods pages, pausing between pages); partners enrol people one by one and read members, lists, the plan
and periods. Gunicorn serves the app with production settings against PostgreSQL (server.py); locust
(locustfile.py: MemberBrowser, PartnerClient) is the load generator.

The database (BENCH_LOAD_DATABASE_URL; its name must contain "bench", as it is dropped) is made anew and
seeded before the load: the demo (seed_demo, through the services: claims in every state, notices, a
settled period), then BACKGROUND members with set-based SQL, of whom MEMBERS get a login (one password
hash for all) and PARTNER_MEMBERS belong to the load's partner.

Reported: requests per second, p50 and p99 per kind of request, the error rate (the target is none), and
the memory of gunicorn's workers (RSS and PSS from /proc) at the start and every minute: it must not grow.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .server import MemoryLog, MemoryPoint, Swarm, run_locust, start_gunicorn, warm_up
from .timings import Summary, Timings, errors_text, request_table, summaries

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mutualaid_bench_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
FIRST_PHONE = 13900000000
PARTNER_NAME = "load partner"
# Memory may settle during the first minute (caches filling); after that it must stay flat.
MEMORY_GROWTH_LIMIT = 0.10


def duration(text: str) -> float:
    """Seconds from `300`, `20s`, `5m` or `1h`."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: write e.g. 300, 20s or 5m")
    return float(found.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[found.group(2)]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=duration, default=300.0, help="how long the load lasts (default 5m)")
    parser.add_argument("--users", type=int, default=60, help="simulated people: 4 members to 1 partner (default 60)")
    parser.add_argument("--spawn-rate", type=float, default=2.0, help="users started per second (default 2)")
    parser.add_argument("--think-min", type=float, default=0.5, help="least pause between requests, s (default 0.5)")
    parser.add_argument("--think-max", type=float, default=2.0, help="longest pause, s (default 2)")
    parser.add_argument("--members", type=int, default=500, help="members with a login (default 500)")
    parser.add_argument("--background", type=int, default=100_000, help="members seeded (default 100000)")
    parser.add_argument("--partner-members", type=int, default=2_000, help="of them the partner's (default 2000)")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--web-timeout", type=int, default=60, help="gunicorn's worker timeout, s (default 60)")
    parser.add_argument("--memory-every", type=duration, default=60.0, help="memory sample interval (default 60 s)")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_LOAD_DATABASE_URL", DEFAULT_DATABASE_URL), help="dropped!"
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--keep", action="store_true", help="leave the database in place (and print the logins)")
    args = parser.parse_args(argv)
    if args.members < 1 or args.partner_members < 1 or args.members + args.partner_members > args.background:
        parser.error("--members and --partner-members must be at least 1 and fit in --background together")
    if not 0 <= args.think_min <= args.think_max:
        parser.error("--think-min must be between 0 and --think-max")
    return args


@dataclass(frozen=True)
class Seeded:
    api_key: str
    phones: str  # FIRST:COUNT, as the locustfile takes them
    password: str


def seed(args: argparse.Namespace) -> Seeded:
    """The demo through the services, then members, logins and the partner's members in a few statements."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from members.models import Membership, Plan, User
    from members.seeding import DEFAULT_PLAN_CODE
    from members.services import partner_create
    from portal.demo import seed_demo

    from . import settlement as seeding

    call_command("migrate", verbosity=0, interactive=False)
    seed_demo()
    plan = Plan.objects.get(code=DEFAULT_PLAN_CODE)
    today = timezone.localdate()
    members = seeding.seed_members(plan, args.background, notice_date=today)
    password = secrets.token_urlsafe(12)
    hashed = make_password(password)  # once: hashing is slow on purpose
    phones = [str(FIRST_PHONE + i) for i in range(args.members)]
    partner, key = partner_create(name=PARTNER_NAME)
    with transaction.atomic():
        users = User.objects.bulk_create(User(username=p, phone=p, password=hashed) for p in phones)
        payers = list(
            Membership.objects.filter(pk__range=(members.first_id, members.last_id), payer__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[: args.members]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Membership._meta.db_table} m SET account_id = x.account "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::bigint[]) AS x(membership, account) WHERE m.id = x.membership",
                [payers, [u.pk for u in users]],
            )
            cursor.execute(
                f"UPDATE {Membership._meta.db_table} SET partner_id = %s, external_ref = 'seed-' || id "  # noqa: S608
                "WHERE id > %s - %s AND id <= %s",
                [partner.pk, members.last_id, args.partner_members, members.last_id],
            )
    seeding.analyze()
    return Seeded(api_key=key, phones=f"{FIRST_PHONE}:{args.members}", password=password)


@dataclass(frozen=True)
class LoadResult:
    users: int
    seconds: float
    rows: list[Summary]
    memory: list[MemoryPoint]
    errors: list[str]
    server_survived: bool

    @property
    def total(self) -> Summary:
        return self.rows[-1]


def memory_table(points: Sequence[MemoryPoint]) -> str:
    header = f"{'at s':>7} {'workers':>7} {'RSS MB':>8} {'PSS MB':>8}"
    lines = [header, "-" * len(header)]
    lines += [f"{p.at_seconds:>7.0f} {p.workers:>7} {p.rss_mb:>8.1f} {p.pss_mb:>8.1f}" for p in points]
    return "\n".join(lines)


def memory_growth(points: Sequence[MemoryPoint]) -> tuple[float, float] | None:
    """RSS and PSS growth (fractions) from the first sample after the start to the last; None if too few."""
    if len(points) < 3:
        return None
    settled, last = points[1], points[-1]
    return (
        (last.rss_kb - settled.rss_kb) / settled.rss_kb if settled.rss_kb else 0.0,
        (last.pss_kb - settled.pss_kb) / settled.pss_kb if settled.pss_kb else 0.0,
    )


def workers_restarted(points: Sequence[MemoryPoint]) -> bool:
    return len({p.worker_pids for p in points}) > 1


def verdicts(result: LoadResult) -> list[str]:
    total = result.total
    out = [
        f"error rate {total.error_rate:.3%} ({total.failures:,} of {total.requests:,}; target 0): "
        + ("met" if total.failures == 0 else "MISSED")
    ]
    growth = memory_growth(result.memory)
    if growth is None:
        out.append("memory: too few samples to judge growth (run for longer than two sample intervals)")
    else:
        rss, pss = growth
        flat = rss <= MEMORY_GROWTH_LIMIT and pss <= MEMORY_GROWTH_LIMIT
        out.append(
            f"workers' memory from the first sample after the start to the end: RSS {rss:+.1%}, PSS {pss:+.1%} "
            f"(target: no growth, ≤ {MEMORY_GROWTH_LIMIT:.0%}): " + ("met" if flat else "MISSED")
        )
    out.append("workers restarted during the run: " + ("YES" if workers_restarted(result.memory) else "none"))
    return out


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    import django
    import redis
    from django.db import connection

    from .database import check_disposable, drop_database, recreate_database
    from .worker import production_env

    check_disposable(args.database_url)
    env = production_env(database_url=args.database_url, redis_url=args.redis_url)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")
    say(
        f"load scenario: {args.users} users for {args.duration:.0f} s against gunicorn ({args.web_workers} sync "
        f"workers); database {args.database_url}"
    )
    recreate_database(args.database_url)
    django.setup()
    # This process only seeds and reports: the services' INFO lines (one per member) would bury the figures.
    logging.disable(logging.INFO)
    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()
    try:
        started = time.perf_counter()
        seeded = seed(args)
        connection.close()
        say(
            f"   seeded the demo, {args.background:,} members ({args.members:,} with a login, "
            f"{args.partner_members:,} the partner's): {time.perf_counter() - started:.1f} s"
        )
        result = _load(args, env=env, seeded=seeded)
    finally:
        connection.close()
        broker.flushdb()
        if args.keep:
            say(f"\nkept the database {args.database_url}")
        else:
            drop_database(args.database_url)
    if args.keep:
        say(f"logins: phones {seeded.phones} (first:count), password {seeded.password}; API key {seeded.api_key}")

    print()
    print(
        f"Load scenario ({os.cpu_count()} CPUs shared by server and load generator, gunicorn {args.web_workers} "
        f"sync workers, PostgreSQL; {result.users} users — members browsing, partners enrolling and reading — "
        f"pausing {args.think_min:g}–{args.think_max:g} s; {result.seconds:.0f} s):"
    )
    print(request_table(result.rows))
    print()
    print(f"gunicorn workers' memory (summed over the workers; at the start and every {args.memory_every:.0f} s):")
    print(memory_table(result.memory))
    for line in verdicts(result):
        print(line)
    for line in result.errors:
        print(f"   error: {line}")
    growth = memory_growth(result.memory)
    ok = (
        result.total.failures == 0
        and result.server_survived
        and not workers_restarted(result.memory)
        and (growth is None or max(growth) <= MEMORY_GROWTH_LIMIT)
    )
    return 0 if ok else 1


def _load(args: argparse.Namespace, *, env: dict[str, str], seeded: Seeded) -> LoadResult:
    server = start_gunicorn(env=env, workers=args.web_workers, timeout=args.web_timeout)
    try:
        headers = {"Authorization": f"Api-Key {seeded.api_key}"}
        paths = ["/login/", "/periods/", "/notices/", "/api/v1/plan/", "/api/v1/members/?page_size=1"]
        warm_up([server.url + path for path in paths], headers=headers, rounds=10)
        say(f"   gunicorn ready at {server.url}; load for {args.duration:.0f} s …")
        memory = MemoryLog(server, every=args.memory_every)
        memory.start()
        try:
            timings = run_locust(
                Swarm(
                    user_classes=("MemberBrowser", "PartnerClient"),
                    users=args.users,
                    spawn_rate=args.spawn_rate,
                    run_seconds=args.duration,
                    options={
                        "api-key": seeded.api_key,
                        "member-phones": seeded.phones,
                        "member-password": seeded.password,
                        "think-min": f"{args.think_min:g}",
                        "think-max": f"{args.think_max:g}",
                    },
                ),
                host=server.url,
                env=env,
            )
        finally:
            points = memory.stop()
        survived = server.alive()
    finally:
        server.stop()
    return figures(timings, users=args.users, memory=points, survived=survived)


def figures(timings: Timings, *, users: int, memory: list[MemoryPoint], survived: bool) -> LoadResult:
    first, last = timings.window()
    seconds = last - first
    return LoadResult(
        users=users,
        seconds=seconds,
        rows=summaries(timings, seconds=seconds),
        memory=memory,
        errors=errors_text(timings),
        server_survived=survived,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
