"""wrk, a load generator written in C, for the member reads: beside locust, in the same run.

The load generator runs on the same two cores as gunicorn and PostgreSQL, so what it spends is taken
from the server. Locust (Python, gevent) spends about a quarter of a core at 400 requests per second;
wrk a twentieth. Both are run and both are printed, with the CPU each took, so the difference the
generator makes is measured, not assumed.

wrk sends the requests of a Lua script (`script_text`): each a GET of a member chosen at random among the
ones enrolled, with the partner's key; at the end the script writes one line of JSON with the counts and
wrk's latency percentiles (from its HdrHistogram, microseconds).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .server import children_cpu_seconds
from .timings import Summary

MARK = "WRK-JSON "
SCRIPT = """-- Written by benchmarks/wrk.py: GET a random member of the list, with the partner's key.
ids = {%(ids)s}
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

init = function(args)
  math.randomseed(os.time() * 1000 + seed)
end

request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/api/v1/members/" .. id .. "/", {["Authorization"] = "Api-Key %(key)s"})
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class WrkRun:
    summary: Summary
    errors: dict[str, int]
    cpu_seconds: float


def available() -> bool:
    return shutil.which("wrk") is not None


def script_text(*, ids: Sequence[int], key: str) -> str:
    if not ids:
        raise ValueError("wrk needs at least one member id to read")
    if not key.replace(".", "").isalnum():
        raise ValueError("an API key is letters, digits and one dot")
    return SCRIPT % {"ids": ",".join(str(int(i)) for i in ids), "key": key, "mark": MARK}


def wrk_command(*, host: str, users: int, seconds: float, script: Path, threads: int = 2) -> list[str]:
    """Closed loop like locust's readers: `users` connections, each sends its next request on the answer."""
    return [
        "wrk",
        f"--threads={min(threads, users)}",
        f"--connections={users}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=30s",
        f"--script={script}",
        host,
    ]


def parse(output: str, *, name: str) -> tuple[Summary, dict[str, int]]:
    """The script's JSON line → the same Summary locust's timings give, and wrk's error counts."""
    line = next((line for line in output.splitlines() if line.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk wrote no result line; its output:\n{output[-4000:]}")
    data = json.loads(line[len(MARK) :])
    errors = {kind: int(data[kind]) for kind in ("connect", "read", "write", "status", "timeout") if data[kind]}
    summary = Summary(
        name=name,
        requests=int(data["requests"]),
        failures=sum(errors.values()),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
    return summary, errors


def run_wrk(*, host: str, ids: Sequence[int], key: str, users: int, seconds: float, name: str) -> WrkRun:
    with tempfile.TemporaryDirectory(prefix="mutualaid-benchmark-wrk-") as scratch:
        script = Path(scratch) / "reads.lua"
        script.write_text(script_text(ids=ids, key=key))
        before = children_cpu_seconds()
        # The command is wrk with arguments built here, never input.
        finished = subprocess.run(  # noqa: S603
            wrk_command(host=host, users=users, seconds=seconds, script=script),
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
        cpu = children_cpu_seconds() - before
    if finished.returncode != 0:
        raise RuntimeError(f"wrk exited with {finished.returncode}:\n{finished.stderr[-4000:]}")
    summary, errors = parse(finished.stdout, name=name)
    return WrkRun(summary=summary, errors=errors, cpu_seconds=cpu)
