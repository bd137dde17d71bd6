"""The benchmark's pieces that need Django: seeding in bulk, the period, the bare insert, the settlement, the check.

Members and claims are written with set-based SQL (INSERT … SELECT over generate_series); the plan, the
notice and the period go through the services, as on a real notice day. The settlement itself runs on a
real Celery worker (see worker.py): this process only sends the task and watches the period.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from celery import Celery
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from claims.models import Claim, CoveredCondition
from claims.seeding import conditions_seed_default
from members.models import Membership, PayoutTier, Person, Plan
from members.seeding import plan_seed_default
from settlement import sql as settlement_sql
from settlement.models import Charge, JournalEntry, Period, PeriodChunk, PeriodStatus
from settlement.services import period_open

from .worker import Worker

PERSON = Person._meta.db_table
MEMBERSHIP = Membership._meta.db_table
CLAIM = Claim._meta.db_table
TIER = PayoutTier._meta.db_table
CONDITION = CoveredCondition._meta.db_table
CHARGE = Charge._meta.db_table
FLOOR_TABLE = "benchmark_charge_floor"

# A notice day of the plan's calendar (the 7th; its charge day is the 14th).
NOTICE_DATE = date(2025, 6, 7)
# Entry ages run from 30 days to 59 years: everyone is at least 31 days and under 59 years old on the notice day.
MIN_AGE_DAYS = 31
MAX_AGE_DAYS = 59 * 365
JOINED_SPREAD_DAYS = 720
# One member in DEPENDANT_EVERY is a dependant of the member just before them (their payer).
DEPENDANT_EVERY = 5
REGIONS = ("110105", "310115", "440305", "510107", "330106", "420111", "320102", "370202")
# ISO 7064 MOD 11-2, as resident ID numbers use it: weights of the 17 digits, and the check characters.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
NOT_ENCRYPTED = "benchmark: not a real ID number"
SETTLE_TIMEOUT = 3600.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Seeded:
    plan: Plan
    members: int
    first_id: int
    last_id: int


# --- seeding --------------------------------------------------------------------------------------------------


def seed_plan() -> Plan:
    """The default plan with its tiers, questions and covered conditions (idempotent)."""
    plan = plan_seed_default()
    conditions_seed_default(plan=plan)
    return plan


def _check_digit_sql(body: str) -> str:
    terms = " + ".join(f"substr({body}, {i + 1}, 1)::int * {w}" for i, w in enumerate(ID_WEIGHTS))
    return f"substr('{ID_CHECK}', ({terms}) %% 11 + 1, 1)"


# g is the member's number in the run (1…n); every derived value is a pure function of it, so the person
# and membership statements agree without sharing a table.
_AGE_DAYS = f"({MIN_AGE_DAYS} + (g::bigint * 7919) %% {MAX_AGE_DAYS - MIN_AGE_DAYS})::int"
_SERIAL = "lpad(((g::bigint * 37) %% 1000)::text, 3, '0')"

_SEED_PEOPLE = f"""
    INSERT INTO {PERSON} (id, name, id_number_encrypted, id_number_hash, id_number_masked, birth_date, sex, phone,
                          created_at)
    SELECT %(base)s + g,
           '成员' || g,
           %(encrypted)s,
           encode(sha256(convert_to(%(tag)s || ':' || (%(base)s + g), 'UTF8')), 'hex'),
           substr(body, 1, 6) || '********' || substr(body, 15, 3) || {_check_digit_sql("body")},
           birth_date,
           CASE WHEN substr(body, 17, 1)::int %% 2 = 1 THEN 'M' ELSE 'F' END,
           '',
           now()
    FROM (
        SELECT g, birth_date,
               (%(regions)s::text[])[1 + g %% {len(REGIONS)}] || to_char(birth_date, 'YYYYMMDD') || {_SERIAL} AS body
        FROM (
            SELECT g, (%(notice)s::date - {_AGE_DAYS})::date AS birth_date
            FROM generate_series(1, %(n)s) AS g
        ) born
    ) numbered
"""  # noqa: S608

_SEED_MEMBERSHIPS = f"""
    INSERT INTO {MEMBERSHIP} (id, plan_id, person_id, account_id, payer_id, relationship, status, status_reason,
                              joined_on, waiting_period_ends, ended_on, health_declaration, credit_source,
                              credit_score, external_ref, created_at)
    SELECT %(member_base)s + g, %(plan)s, p.id, NULL,
           CASE WHEN dependant THEN %(member_base)s + g - 1 END,
           CASE WHEN NOT dependant THEN 'self'
                ELSE (ARRAY['spouse', 'child', 'parent'])[1 + (g / {DEPENDANT_EVERY}) %% 3] END,
           CASE WHEN joined_on + %(waiting)s >= %(notice)s::date THEN 'waiting' ELSE 'active' END,
           '',
           joined_on,
           joined_on + %(waiting)s,
           NULL,
           %(answers)s::jsonb,
           CASE WHEN dependant THEN 'payer' ELSE 'attested' END,
           CASE WHEN dependant THEN NULL ELSE 650 + (g::bigint * 13) %% 300 END,
           '',
           now()
    FROM (
        SELECT p.id, p.id - %(base)s AS g, ((p.id - %(base)s) %% {DEPENDANT_EVERY} = 0) AS dependant,
               GREATEST(p.birth_date + 30,
                        %(notice)s::date - 1 - (((p.id - %(base)s) * 104729) %% {JOINED_SPREAD_DAYS})::int) AS joined_on
        FROM {PERSON} p
        WHERE p.id > %(base)s AND p.id <= %(base)s + %(n)s
    ) p
"""  # noqa: S608


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        (largest,) = cursor.fetchone()
    return int(largest)


def _move_sequence(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM {table}))",  # noqa: S608
            [table],
        )


def seed_members(plan: Plan, n: int, *, notice_date: date = NOTICE_DATE) -> Seeded:
    """`n` people and their memberships of `plan`, all covered at 00:00 on the notice day: two statements."""
    answers = '{"' + '": false, "'.join(plan.health_questions.values_list("code", flat=True)) + '": false}'
    base, member_base = _next_id(PERSON), _next_id(MEMBERSHIP)
    params: dict[str, Any] = {
        "n": n,
        "base": base,
        "member_base": member_base,
        "tag": "settlement-benchmark",
        "encrypted": NOT_ENCRYPTED,
        "regions": list(REGIONS),
        "notice": notice_date,
        "plan": plan.pk,
        "waiting": plan.waiting_period_days,
        "answers": answers if plan.health_questions.exists() else "{}",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SEED_PEOPLE, params)
        cursor.execute(_SEED_MEMBERSHIPS, params)
    _move_sequence(PERSON)
    _move_sequence(MEMBERSHIP)
    return Seeded(plan=plan, members=n, first_id=member_base + 1, last_id=member_base + n)


_SEED_CLAIMS = f"""
    INSERT INTO {CLAIM} (kind, diagnosed_on, hospital, description, status, rejection_reason, payout_fen,
                         age_at_diagnosis, filed_at, decided_at, member_id, person_id, condition_id)
    SELECT 'illness', d.diagnosed_on, '北京协和医院', '—', 'approved', '', t.amount_fen, d.age, %(filed)s, %(decided)s,
           d.member_id, d.person_id,
           (%(conditions)s::bigint[])[1 + d.member_id %% cardinality(%(conditions)s::bigint[])]
    FROM (
        SELECT m.id AS member_id, m.person_id, x.diagnosed_on,
               date_part('year', age(x.diagnosed_on, p.birth_date))::int AS age
        FROM {MEMBERSHIP} m
        JOIN {PERSON} p ON p.id = m.person_id
        CROSS JOIN LATERAL (
            SELECT GREATEST(m.joined_on, %(notice)s::date - 20 - (m.id %% 100)::int) AS diagnosed_on
        ) x
        WHERE m.id >= %(lo)s AND m.id <= %(hi)s AND (m.id - %(lo)s) %% %(step)s = 0
        ORDER BY m.id
        LIMIT %(count)s
    ) d
    JOIN {TIER} t ON t.plan_id = %(plan)s AND d.age BETWEEN t.from_age AND t.to_age
"""  # noqa: S608


def seed_claims(seeded: Seeded, count: int, *, notice_date: date = NOTICE_DATE) -> int:
    """`count` approved claims of seeded members (one each, spread over the ids), decided before the notice day."""
    if count > seeded.members:
        raise ValueError(f"{count} claims need as many members, not {seeded.members}")
    conditions = list(CoveredCondition.objects.filter(plan=seeded.plan).values_list("pk", flat=True))
    decided = timezone.make_aware(datetime.combine(notice_date - timedelta(days=2), datetime.min.time()))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _SEED_CLAIMS,
            {
                "plan": seeded.plan.pk,
                "conditions": conditions,
                "notice": notice_date,
                "lo": seeded.first_id,
                "hi": seeded.last_id,
                "step": max(1, seeded.members // count) if count else 1,
                "count": count,
                "filed": decided - timedelta(days=10),
                "decided": decided,
            },
        )
        inserted: int = cursor.rowcount
    return inserted


def analyze() -> None:
    """Fresh statistics and visibility for the seeded tables, as a long-lived database would have."""
    with connection.cursor() as cursor:
        for table in (PERSON, MEMBERSHIP, CLAIM):
            cursor.execute(f"VACUUM ANALYZE {table}")


def checkpoint() -> None:
    """Write out the dirty pages now, so that neither timed statement pays for the other's checkpoint."""
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def open_period(plan: Plan, *, notice_date: date = NOTICE_DATE) -> Period:
    """The notice-day job: the approved claims are published and the period opened (in notice)."""
    period = period_open(plan=plan, on=notice_date)
    if period is None:
        raise ValueError(f"{notice_date} is not a notice day of {plan}")
    return period


# --- the physical floor -----------------------------------------------------------------------------------


def _copy_foreign_keys(cursor: object) -> None:
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [CHARGE],
    )
    for (definition,) in cursor.fetchall():  # type: ignore[attr-defined]
        cursor.execute(f"ALTER TABLE {FLOOR_TABLE} ADD {definition}")  # type: ignore[attr-defined]


def bare_insert_seconds(period: Period) -> float:
    """One INSERT … SELECT of one row per sharer into a table shaped like the charges (same columns, indexes,
    checks and foreign keys), in one transaction: what PostgreSQL needs at the least to write the period."""
    condition: dict[str, Any] = {"plan": period.plan_id, "notice_date": period.notice_date.isoformat()}
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (LIKE {CHARGE} INCLUDING ALL)")
        _copy_foreign_keys(cursor)
    checkpoint()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {FLOOR_TABLE} (period_id, member_id, payer_id, share_fen, amount_fen)
            SELECT %(period)s, m.id, COALESCE(m.payer_id, m.id), 1, 1
            FROM {MEMBERSHIP} m
            WHERE {settlement_sql.SHARER_CONDITION}
            """,  # noqa: S608
            {"period": period.pk, **condition},
        )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {FLOOR_TABLE}")
    return seconds


# --- the settlement -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    seconds: float
    start_seconds: float  # sent → the figures fixed and the chunks queued (claims shared, payouts posted)
    chunks_seconds: float  # → the last chunk committed
    finish_seconds: float  # → settled
    chunks: int
    peak_rss_mb: float
    peak_pss_mb: float
    idle_rss_mb: float


def settle_through_worker(
    period: Period, *, worker: Worker, sender: Celery, chunk_size: int | None = None, timeout: float = SETTLE_TIMEOUT
) -> Settled:
    """Send the settle task to the running worker and wait until the period is settled."""
    idle = worker.memory.peak().rss_kb
    worker.memory.reset()
    sent_at = datetime.now(UTC)
    started = time.perf_counter()
    kwargs = {"chunk_size": chunk_size} if chunk_size else {}
    sender.send_task("settlement.tasks.settle_period", args=[period.pk], kwargs=kwargs)
    deadline = started + timeout
    status = Period.objects.filter(pk=period.pk).values_list("status", flat=True)
    while status.get() != PeriodStatus.SETTLED:
        if not worker.alive():
            raise RuntimeError(worker.failure("exited during the settlement"))
        if time.perf_counter() > deadline:
            raise RuntimeError(worker.failure(f"period {period.pk} not settled within {timeout:.0f} s"))
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - started
    peak = worker.memory.peak()
    period.refresh_from_db()
    start_done = JournalEntry.objects.get(key=f"period-{period.pk}-fee").posted_at
    chunks = PeriodChunk.objects.filter(period=period)
    last_chunk: datetime = chunks.aggregate(last=Max("done_at"))["last"] or start_done
    settled_at = period.settled_at or datetime.now(UTC)
    return Settled(
        seconds=seconds,
        start_seconds=(start_done - sent_at).total_seconds(),
        chunks_seconds=(last_chunk - start_done).total_seconds(),
        finish_seconds=(settled_at - last_chunk).total_seconds(),
        chunks=chunks.count(),
        peak_rss_mb=peak.rss_kb / 1024,
        peak_pss_mb=peak.pss_kb / 1024,
        idle_rss_mb=idle / 1024,
    )


@dataclass(frozen=True)
class Check:
    rows: int
    distinct_members: int
    charged_fen: int
    subsidy_fen: int
    total_fen: int
    sharers: int

    @property
    def sums_ok(self) -> bool:
        return self.charged_fen + self.subsidy_fen == self.total_fen

    def rows_ok(self, expected: int) -> bool:
        return self.rows == self.distinct_members == self.sharers == expected


def check_period(period: Period) -> Check:
    period.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT member_id), COALESCE(SUM(amount_fen), 0) FROM {CHARGE} "  # noqa: S608
            "WHERE period_id = %s",
            [period.pk],
        )
        rows, distinct, charged = cursor.fetchone()
    return Check(
        rows=int(rows),
        distinct_members=int(distinct),
        charged_fen=int(charged),
        subsidy_fen=period.operator_subsidy_fen,
        total_fen=period.total_fen,
        sharers=period.sharers,
    )
