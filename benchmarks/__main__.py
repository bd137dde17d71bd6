"""`python -m benchmarks`: the settlement benchmark (what `make bench` runs).

By default it runs the matrix of the settlement issue: 100,000 members with 25 and with 2,500 claims, and
1,000,000 members with 2,500 claims. `--quick` runs 100,000 × 25 only. `--sizes` and `--claims` (or
BENCH_SIZES and BENCH_CLAIMS, comma-separated) run every size with every claim count instead.

Each case gets a fresh database (BENCH_DATABASE_URL; its name must contain "bench", as it is dropped),
migrated and seeded, and a fresh worker on its own Redis database (BENCH_REDIS_URL, emptied before and after).

Then the API benchmark (api.py), on the same database made anew: bulk enrolment throughput and member reads
under load, against gunicorn with locust as the load generator. `--api-only` runs it alone, `--skip-api`
leaves it out.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

from . import api

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mutualaid_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
DEFAULT_MATRIX = ((100_000, 25), (100_000, 2_500), (1_000_000, 2_500))
QUICK_MATRIX = ((100_000, 25),)
# The targets.
TARGET_RATIO = 1.5
TARGET_PEAK_MB = 250.0


def _numbers(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only 100,000 members × 25 claims (a smoke check)")
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", ""), help="members per case, e.g. 100000")
    parser.add_argument("--claims", default=os.environ.get("BENCH_CLAIMS", ""), help="claims per case, e.g. 25,2500")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    # One pool process, as .env.example deploys the worker: the split runs in PostgreSQL, so a second
    # process adds memory, not speed, on two cores (README: both measured).
    parser.add_argument("--concurrency", type=int, default=1, help="worker pool processes (default 1)")
    parser.add_argument("--chunk-size", type=int, default=None, help="member ids per chunk (default: the setting)")
    parser.add_argument("--keep", action="store_true", help="leave the last case's database in place")
    api.add_arguments(parser)
    return parser.parse_args(argv)


def matrix(args: argparse.Namespace) -> list[tuple[int, int]]:
    if args.quick:
        return list(QUICK_MATRIX)
    if not args.sizes and not args.claims:
        return list(DEFAULT_MATRIX)
    sizes = _numbers(args.sizes) or sorted({n for n, _c in DEFAULT_MATRIX})
    claims = _numbers(args.claims) or [2_500]
    return [(n, c) for n in sizes for c in claims]


@dataclass(frozen=True)
class Row:
    members: int
    claims: int
    seed_seconds: float
    settle_seconds: float
    bare_seconds: float
    start_seconds: float
    chunks_seconds: float
    finish_seconds: float
    chunks: int
    peak_rss_mb: float
    peak_pss_mb: float
    idle_rss_mb: float
    sums_ok: bool
    rows_ok: bool

    @property
    def ratio(self) -> float:
        return self.settle_seconds / self.bare_seconds if self.bare_seconds else float("inf")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def table(rows: list[Row]) -> str:
    header = (
        f"{'N':>10} {'claims':>6} {'settle s':>9} {'bare s':>7} {'ratio':>6} {'peak MB':>8} {'PSS MB':>7} "
        f"{'idle MB':>8} {'start s':>8} {'chunks s':>9} {'finish s':>9} {'chunks':>6}  Σ ok  rows ok"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.members:>10,} {r.claims:>6,} {r.settle_seconds:>9.2f} {r.bare_seconds:>7.2f} {r.ratio:>6.2f} "
            f"{r.peak_rss_mb:>8.1f} {r.peak_pss_mb:>7.1f} {r.idle_rss_mb:>8.1f} {r.start_seconds:>8.2f} "
            f"{r.chunks_seconds:>9.2f} {r.finish_seconds:>9.2f} {r.chunks:>6}  {'yes' if r.sums_ok else 'NO':<4}  "
            f"{'yes' if r.rows_ok else 'NO'}"
        )
    return "\n".join(lines)


def verdicts(rows: list[Row]) -> list[str]:
    out = []
    for r in rows:
        if r.members >= 1_000_000:
            ok = r.ratio <= TARGET_RATIO
            verdict = "met" if ok else "MISSED"
            out.append(f"N={r.members:,}: settle/bare {r.ratio:.2f} (target ≤ {TARGET_RATIO}): {verdict}")
    peak = max((r.peak_rss_mb for r in rows), default=0.0)
    verdict = "met" if peak < TARGET_PEAK_MB else "MISSED"
    out.append(f"worker peak RSS {peak:.1f} MB (target < {TARGET_PEAK_MB:.0f}): {verdict}")
    return out


def run(args: argparse.Namespace) -> int:
    import django
    import redis
    from django.core.management import call_command
    from django.db import connection

    from .database import check_disposable, drop_database, recreate_database
    from .worker import production_env, sender_for, start_worker

    check_disposable(args.database_url)
    env = production_env(database_url=args.database_url, redis_url=args.redis_url)
    # This process runs on the same settings as the worker (DEBUG off: no query log growing in memory).
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")
    broker = redis.Redis.from_url(args.redis_url)
    sender = sender_for(args.redis_url)
    cases = matrix(args)
    rows: list[Row] = []
    say(f"settlement benchmark: {', '.join(f'{n:,} × {c:,}' for n, c in cases)}; database {args.database_url}")
    recreate_database(args.database_url)
    django.setup()
    from . import settlement as bench

    try:
        for index, (members, claims) in enumerate(cases):
            if index:
                connection.close()
                recreate_database(args.database_url)
            broker.flushdb()
            say(f"\n== {members:,} members, {claims:,} claims")
            started = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False)
            plan = bench.seed_plan()
            seeded = bench.seed_members(plan, members)
            made = bench.seed_claims(seeded, claims)
            bench.analyze()
            period = bench.open_period(plan)
            seed_seconds = time.perf_counter() - started
            say(f"   seeded {seeded.members:,} members, {made:,} claims, period {period.pk} open: {seed_seconds:.1f} s")
            bare = bench.bare_insert_seconds(period)
            say(f"   bare INSERT … SELECT of the sharers: {bare:.2f} s")
            worker = start_worker(env=env, sender=sender, concurrency=args.concurrency)
            try:
                bench.checkpoint()
                settled = bench.settle_through_worker(period, worker=worker, sender=sender, chunk_size=args.chunk_size)
            finally:
                worker.stop()
                worker.log.unlink(missing_ok=True)
            check = bench.check_period(period)
            say(
                f"   settled in {settled.seconds:.2f} s ({settled.chunks} chunks), "
                f"worker peak {settled.peak_rss_mb:.1f} MB; {check.rows:,} rows, Σ {check.charged_fen:,} "
                f"+ subsidy {check.subsidy_fen:,} = total {check.total_fen:,}: {'yes' if check.sums_ok else 'NO'}"
            )
            rows.append(
                Row(
                    members=members,
                    claims=made,
                    seed_seconds=seed_seconds,
                    settle_seconds=settled.seconds,
                    bare_seconds=bare,
                    start_seconds=settled.start_seconds,
                    chunks_seconds=settled.chunks_seconds,
                    finish_seconds=settled.finish_seconds,
                    chunks=settled.chunks,
                    peak_rss_mb=settled.peak_rss_mb,
                    peak_pss_mb=settled.peak_pss_mb,
                    idle_rss_mb=settled.idle_rss_mb,
                    sums_ok=check.sums_ok,
                    rows_ok=check.rows_ok(members),
                )
            )
    finally:
        connection.close()
        broker.flushdb()
        sender.close()
        if args.keep:
            say(f"\nkept the database {args.database_url}")
        else:
            drop_database(args.database_url)

    print()
    print(f"Settlement benchmark ({os.cpu_count()} CPUs, worker concurrency {args.concurrency}):")
    print(table(rows))
    print("settle s: sent → settled through the worker; bare s: one INSERT … SELECT of the same rows, same shape;")
    print("peak MB: summed RSS of the worker's process tree (PSS: shared pages counted once), sampled every 0.2 s.")
    for line in verdicts(rows):
        print(line)
    return 0 if all(r.sums_ok and r.rows_ok for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    code = 0 if args.api_only else run(args)
    # The API figures after the settlement's, in the same process and on the same benchmark database.
    if not args.skip_api:
        code = max(code, api.run(args))
    return code


if __name__ == "__main__":
    sys.exit(main())
