"""What the load generator measured, and the figures made from it (no Django, no locust).

The locustfile writes every request's start and duration to a JSON file (`Timings`); the figures are
computed here from the raw numbers, not from locust's own summary, which rounds response times to two
significant digits and keeps them in buckets.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: the smallest value that at least p % of the values do not exceed."""
    if not values:
        return math.nan
    if not 0 < p <= 100:
        raise ValueError(f"p must be in (0, 100], not {p}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Kind:
    """The requests of one kind (locust's name for them, e.g. `GET /api/v1/members/{id}/`)."""

    starts: list[float] = field(default_factory=list)  # seconds since the epoch
    times_ms: list[float] = field(default_factory=list)
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"starts": self.starts, "times_ms": self.times_ms, "failures": self.failures, "errors": self.errors}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Kind:
        return cls(
            starts=[float(s) for s in data["starts"]],
            times_ms=[float(t) for t in data["times_ms"]],
            failures=int(data["failures"]),
            errors={str(k): int(v) for k, v in data["errors"].items()},
        )


@dataclass
class Timings:
    kinds: dict[str, Kind] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def record(self, name: str, *, start: float, ms: float, error: str | None = None) -> None:
        kind = self.kinds.setdefault(name, Kind())
        kind.starts.append(start)
        kind.times_ms.append(ms)
        if error is not None:
            kind.failures += 1
            # One entry per distinct message, truncated: a failing run must not write megabytes of them.
            message = error[:200]
            kind.errors[message] = kind.errors.get(message, 0) + 1

    def count(self, counter: str, by: int = 1) -> None:
        self.counters[counter] = self.counters.get(counter, 0) + by

    def save(self, path: Path) -> None:
        data = {"kinds": {name: kind.to_json() for name, kind in self.kinds.items()}, "counters": self.counters}
        path.write_text(json.dumps(data))

    @classmethod
    def load(cls, path: Path) -> Timings:
        data = json.loads(path.read_text())
        return cls(
            kinds={name: Kind.from_json(kind) for name, kind in data["kinds"].items()},
            counters={str(k): int(v) for k, v in data["counters"].items()},
        )

    def window(self, names: Sequence[str] | None = None) -> tuple[float, float]:
        """From the first request's start to the last one's end, in seconds since the epoch."""
        kinds = [k for n, k in self.kinds.items() if names is None or n in names]
        starts = [s for k in kinds for s in k.starts]
        ends = [s + ms / 1000 for k in kinds for s, ms in zip(k.starts, k.times_ms, strict=True)]
        if not starts:
            return (0.0, 0.0)
        return (min(starts), max(ends))


@dataclass(frozen=True)
class Summary:
    name: str
    requests: int
    failures: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def summarise(name: str, kind: Kind, *, seconds: float) -> Summary:
    return Summary(
        name=name,
        requests=len(kind.times_ms),
        failures=kind.failures,
        seconds=seconds,
        p50_ms=percentile(kind.times_ms, 50),
        p99_ms=percentile(kind.times_ms, 99),
        max_ms=max(kind.times_ms, default=math.nan),
    )


def summaries(timings: Timings, *, seconds: float) -> list[Summary]:
    """One summary per kind, by name, and the total over all kinds last."""
    rows = [summarise(name, timings.kinds[name], seconds=seconds) for name in sorted(timings.kinds)]
    everything = Kind(
        times_ms=[t for k in timings.kinds.values() for t in k.times_ms],
        failures=sum(k.failures for k in timings.kinds.values()),
    )
    return [*rows, summarise("all", everything, seconds=seconds)]


def request_table(rows: Sequence[Summary]) -> str:
    width = max([len(r.name) for r in rows] + [len("request")])
    header = (
        f"{'request':<{width}} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>8} {'errors':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.name:<{width}} {r.requests:>9,} {r.per_second:>8.1f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} "
            f"{r.max_ms:>8.1f} {r.failures:>6,}"
        )
    return "\n".join(lines)


def errors_text(timings: Timings, *, limit: int = 10) -> list[str]:
    """The most frequent failure messages, with the request kind and how often."""
    found = [(count, name, message) for name, k in timings.kinds.items() for message, count in k.errors.items()]
    return [f"{count:>6,} × {name}: {message}" for count, name, message in sorted(found, reverse=True)[:limit]]
