"""The set-based statements of the split: the same SQL on PostgreSQL and SQLite.

Only syntax both understand: CASE instead of LEAST/GREATEST, ROW_NUMBER() OVER, integer `%`,
`INSERT … SELECT`, dates passed as ISO strings, named parameters. Table names come from the
models and every value is a parameter, so the f-strings below build no SQL from input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection

from members.models import Membership
from settlement.models import Charge

MEMBERSHIP = Membership._meta.db_table
CHARGE = Charge._meta.db_table

# Who shares a period: every membership covered at 00:00 (Beijing) on the notice day, defined by its
# dates and never by a copy taken earlier.
# - joined_on < notice day: a day's events (joining, exiting) happen after that day's 00:00, so someone
#   who joins on the notice day is not yet covered at the cut-off, and is not a sharer;
# - ended_on is empty or on/after the notice day: someone who leaves on the notice day or later was
#   covered at 00:00 and owes the period (DESIGN.md: members who exit after the notice day still owe);
# - the waiting period counts as covered;
# - a membership still under review is not covered; one declined at review ends on the day it began
#   (members.services.membership_change_status), so the dates above already leave it out.
SHARER_CONDITION = """
    m.plan_id = %(plan)s
    AND m.joined_on < %(notice_date)s
    AND (m.ended_on IS NULL OR m.ended_on >= %(notice_date)s)
    AND m.status <> 'pending_review'
"""

_SHARERS_BY_CHUNK = f"""
    SELECT m.id / %(size)s AS k, COUNT(*) AS n
    FROM {MEMBERSHIP} m
    WHERE {SHARER_CONDITION}
    GROUP BY m.id / %(size)s
    ORDER BY 1
"""  # noqa: S608

# The annual cap: what each member of the chunk was charged in the earlier periods of the same charge
# year. It reads the unique (period, member) index once per such period over the chunk's id range, so
# at most 23 index range scans of one chunk each, late in the year; and only in periods where some
# member could reach the cap at all (the period knows from the largest charges so far), which with the
# plan's figures (188 yuan a year, a few yuan a period) is almost never.
_ANNUAL_JOIN = f"""
    LEFT JOIN (
        SELECT c.member_id, SUM(c.amount_fen) AS charged_fen
        FROM {CHARGE} c
        WHERE c.period_id IN ({{periods}}) AND c.member_id >= %(lo)s AND c.member_id < %(hi)s
        GROUP BY c.member_id
    ) y ON y.member_id = m.id
"""  # noqa: S608
_ANNUAL_LEFT = "(%(annual_cap)s - COALESCE(y.charged_fen, 0))"
_ANNUAL_ROOM = f"""
    CASE WHEN {_ANNUAL_LEFT} < %(period_cap)s
         THEN CASE WHEN {_ANNUAL_LEFT} > 0 THEN {_ANNUAL_LEFT} ELSE 0 END
         ELSE %(period_cap)s END
"""

# One statement per chunk. A sharer's position is the number of sharers below the chunk (planned at the
# start) plus its row number in the chunk, in member-id order, so every chunk sees the same global
# positions however the work is cut; split.share_at and split.charge_for say the same in Python.
# No ON CONFLICT clause: the chunk's done marker, locked in the same transaction, already makes a chunk
# run once (a crash rolls its rows back with the marker), and the unique (period, member) index still
# refuses a duplicate loudly. Measured with EXPLAIN ANALYZE on a 50,000-member chunk, the clause cost
# about 20% of the statement.
_INSERT_CHUNK = f"""
    INSERT INTO {CHARGE} (period_id, member_id, payer_id, share_fen, amount_fen)
    SELECT %(period)s, s.member_id, s.payer_id, s.share_fen,
           CASE WHEN s.share_fen < s.room_fen THEN s.share_fen ELSE s.room_fen END
    FROM (
        SELECT m.id AS member_id,
               COALESCE(m.payer_id, m.id) AS payer_id,
               %(base)s + CASE
                   WHEN (%(before)s + ROW_NUMBER() OVER (ORDER BY m.id) - 1 + %(shift)s) %% %(sharers)s < %(extra)s
                   THEN 1 ELSE 0 END AS share_fen,
               {{room}} AS room_fen
        FROM {MEMBERSHIP} m
        {{annual_join}}
        WHERE m.id >= %(lo)s AND m.id < %(hi)s AND {SHARER_CONDITION}
    ) s
"""  # noqa: S608

_CHUNK_TOTALS = f"""
    SELECT COUNT(*), COALESCE(SUM(amount_fen), 0), COALESCE(SUM(share_fen - amount_fen), 0)
    FROM {CHARGE}
    WHERE period_id = %(period)s AND member_id >= %(lo)s AND member_id < %(hi)s
"""  # noqa: S608


@dataclass(frozen=True)
class ChunkSplit:
    """Everything the chunk statement needs, all fixed when the period's settlement started."""

    period: int
    plan: int
    notice_date: date
    lo: int
    hi: int
    sharers_before: int
    sharers: int
    total_fen: int
    rotation: int
    period_cap_fen: int
    annual_cap_fen: int | None  # None: nobody can reach it this period
    annual_cap_periods: tuple[int, ...]


@dataclass(frozen=True)
class Totals:
    rows: int
    sum_fen: int
    capped_fen: int


def sharers_by_chunk(*, plan: int, notice_date: date, size: int) -> list[tuple[int, int]]:
    """(chunk number, sharers in it) for every chunk of `size` member ids that has sharers: one scan."""
    with connection.cursor() as cursor:
        cursor.execute(_SHARERS_BY_CHUNK, {"plan": plan, "notice_date": notice_date.isoformat(), "size": size})
        return [(int(k), int(n)) for k, n in cursor.fetchall()]


def insert_chunk(split: ChunkSplit) -> None:
    params: dict[str, Any] = {
        "period": split.period,
        "plan": split.plan,
        "notice_date": split.notice_date.isoformat(),
        "lo": split.lo,
        "hi": split.hi,
        "before": split.sharers_before,
        "sharers": split.sharers,
        "base": split.total_fen // split.sharers,
        "extra": split.total_fen % split.sharers,
        "shift": (-split.rotation) % split.sharers,
        "period_cap": split.period_cap_fen,
    }
    if split.annual_cap_fen is not None and split.annual_cap_periods:
        names = [f"annual_period_{i}" for i in range(len(split.annual_cap_periods))]
        params.update(zip(names, split.annual_cap_periods, strict=True))
        params["annual_cap"] = split.annual_cap_fen
        placeholders = ", ".join(f"%({name})s" for name in names)
        statement = _INSERT_CHUNK.format(room=_ANNUAL_ROOM, annual_join=_ANNUAL_JOIN.format(periods=placeholders))
    else:
        if split.annual_cap_fen is not None:
            # The first period of the year that can reach the cap: nothing charged before to look up.
            params["period_cap"] = min(split.period_cap_fen, split.annual_cap_fen)
        statement = _INSERT_CHUNK.format(room="%(period_cap)s", annual_join="")
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def chunk_totals(*, period: int, lo: int, hi: int) -> Totals:
    with connection.cursor() as cursor:
        cursor.execute(_CHUNK_TOTALS, {"period": period, "lo": lo, "hi": hi})
        rows, sum_fen, capped_fen = cursor.fetchone()
    return Totals(rows=int(rows), sum_fen=int(sum_fen), capped_fen=int(capped_fen))


# The daily member counts (MemberCount): every state at 00:00 on the day, from the memberships' dates
# alone, so a count taken late in the day, or again, or for a past day, gives the same numbers. Covered
# is exactly the sharers' condition above (the day standing for the notice day); waiting until the
# waiting period's last day, active after it. Ended: left before the day, once covered (ended after the
# day of joining), by the status they left with. One pass over the plan's memberships, once a day.
ENDED_STATUSES = ("exited", "removed", "paid_out", "expelled")
_ENDED_COUNT = """
    COALESCE(SUM(CASE WHEN m.ended_on < %(notice_date)s AND m.ended_on > m.joined_on AND m.status = %({status})s
                      THEN 1 ELSE 0 END), 0)
"""
_MEMBER_COUNTS = f"""
    SELECT COALESCE(SUM(CASE WHEN m.status = 'pending_review' THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN {SHARER_CONDITION} AND m.waiting_period_ends >= %(notice_date)s
                             THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN {SHARER_CONDITION} AND m.waiting_period_ends < %(notice_date)s
                             THEN 1 ELSE 0 END), 0),
           {", ".join(_ENDED_COUNT.format(status=status) for status in ENDED_STATUSES)}
    FROM {MEMBERSHIP} m
    WHERE m.plan_id = %(plan)s AND m.joined_on < %(notice_date)s
"""  # noqa: S608


def member_counts(*, plan: int, day: date) -> dict[str, int]:
    """{pending_review, waiting, active, exited, removed, paid_out, expelled: count} at 00:00 on `day`."""
    params: dict[str, Any] = {"plan": plan, "notice_date": day.isoformat(), **{s: s for s in ENDED_STATUSES}}
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_COUNTS, params)
        row = cursor.fetchone()
    return dict(zip(("pending_review", "waiting", "active", *ENDED_STATUSES), map(int, row), strict=True))
