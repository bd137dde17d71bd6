"""The web app served as production serves it (gunicorn), the load generator (locust), and their processes.

Gunicorn runs the project's WSGI app with sync workers, as docker-compose.yml starts it (no worker class
given: sync), in a session of its own so that stopping it stops every worker. Sync workers are also the
right choice on two cores: a request here is mostly Python work (serialising, hashing, templates) under
the GIL, so threads in one process would queue for the same interpreter, while four processes keep both
cores busy even while some wait on PostgreSQL; a buffering proxy in front takes care of slow clients,
the one thing sync workers handle badly.

Locust runs in a process of its own too: importing it patches the standard library for gevent, which
must not happen in a process that also talks to PostgreSQL through Django.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .timings import Timings
from .worker import BASE_DIR, process_tree, sample_tree

READY_TIMEOUT = 60.0
LOCUSTFILE = BASE_DIR / "benchmarks" / "locustfile.py"
# Production's web settings for the benchmark's server: persistent database connections (as .env.example
# recommends), plain http on the loopback (TLS ends in the proxy in front, so no redirect to https and
# cookies not marked Secure), and a throttle far above what the load generator can send, so that it
# counts every request as in production but never refuses one.
SERVER_ENV = {
    "CONN_MAX_AGE": "60",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_COOKIES": "false",
    "API_THROTTLE_RATE": "1000000/minute",
}


def machine_speed_ms(rounds: int = 3) -> float:
    """Milliseconds of CPU a fixed piece of Python work takes, the best of a few rounds.

    The same code has read members at 400 and at 560 requests per second within ten minutes on the
    2-core machine. Printed beside the figures, measured just before and just after the reads, it shows
    whether the core itself was slower during a run, or the difference lies elsewhere (scheduling).
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        digest = b""
        for i in range(20_000):
            digest = hashlib.sha256(digest + i.to_bytes(4, "little")).digest()
        sorted(hash((i, digest)) for i in range(200_000))
        best = min(best, time.process_time() - started)
    return best * 1000


def children_cpu_seconds() -> float:
    """CPU time (user + system) of this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def gunicorn_command(*, port: int, workers: int, timeout: int = 60) -> list[str]:
    """docker-compose.yml's web command on a loopback port, with a fixed number of sync workers."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "mutualaid.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        str(timeout),
        "--access-logfile",
        "-",
    ]


@dataclass(frozen=True)
class MemoryPoint:
    """The memory of gunicorn's workers at one moment (the master process left out: it serves nothing)."""

    at_seconds: float
    workers: int
    rss_kb: int
    pss_kb: int
    worker_pids: tuple[int, ...]

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024

    @property
    def pss_mb(self) -> float:
        return self.pss_kb / 1024


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    log: Path
    port: int
    started_at: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def failure(self, what: str) -> str:
        return f"gunicorn: {what}; exit code {self.process.poll()}; its output:\n{self.output()[-6000:]}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def worker_pids(self) -> list[int]:
        return sorted(pid for pid in process_tree(self.process.pid) if pid != self.process.pid)

    def memory(self) -> MemoryPoint:
        pids = self.worker_pids()
        samples = [sample_tree(pid) for pid in pids]
        return MemoryPoint(
            at_seconds=time.monotonic() - self.started_at,
            workers=len(pids),
            rss_kb=sum(s.rss_kb for s in samples),
            pss_kb=sum(s.pss_kb for s in samples),
            worker_pids=tuple(pids),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.unlink(missing_ok=True)


def start_gunicorn(*, env: dict[str, str], workers: int, timeout: int = 60) -> Server:
    """Start gunicorn on a free loopback port and wait until every worker is up and /healthz answers."""
    port = free_port()
    handle, name = tempfile.mkstemp(prefix="mutualaid-benchmark-gunicorn-", suffix=".log")
    with os.fdopen(handle, "wb") as output:
        # The command is this interpreter and fixed arguments, never input.
        process = subprocess.Popen(  # noqa: S603
            gunicorn_command(port=port, workers=workers, timeout=timeout),
            cwd=BASE_DIR,
            env={**env, **SERVER_ENV},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process=process, log=Path(name), port=port)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while len(server.worker_pids()) < workers or not _answers(f"{server.url}/healthz"):
            if not server.alive():
                raise RuntimeError(server.failure("exited while starting"))
            if time.monotonic() > deadline:
                raise RuntimeError(server.failure(f"not ready within {READY_TIMEOUT:.0f} s"))
            time.sleep(0.2)
    except BaseException:
        server.stop()
        raise
    server.started_at = time.monotonic()
    return server


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (a loopback http URL we built)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def warm_up(urls: Sequence[str], *, headers: dict[str, str], rounds: int = 40, threads: int = 8) -> None:
    """Send each URL `rounds` times from several threads, so every worker has loaded the views and opened
    its database connection before anything is timed (a first request costs far more than the others)."""

    def get(url: str) -> None:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310  (loopback URLs we built)
        with contextlib.suppress(urllib.error.URLError, OSError), urllib.request.urlopen(request, timeout=30):  # noqa: S310
            pass

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(get, [url for url in urls for _ in range(rounds)]))


class MemoryLog:
    """Samples the workers' memory at the start and every `every` seconds, in a thread, until stopped."""

    def __init__(self, server: Server, *, every: float) -> None:
        self.server = server
        self.every = every
        self.points: list[MemoryPoint] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gunicorn-memory", daemon=True)

    def start(self) -> None:
        self.points.append(self.server.memory())
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.points.append(self.server.memory())

    def stop(self) -> list[MemoryPoint]:
        self._stop.set()
        self._thread.join(timeout=10)
        self.points.append(self.server.memory())
        return self.points


# --- the load generator --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Swarm:
    """One locust run: which users, how many, for how long, with which of the locustfile's options."""

    user_classes: tuple[str, ...]
    users: int
    spawn_rate: float
    run_seconds: float
    options: dict[str, str] = field(default_factory=dict)


def locust_command(swarm: Swarm, *, host: str, timings_file: Path) -> list[str]:
    options = [part for name, value in sorted(swarm.options.items()) for part in (f"--{name}", value)]
    return [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--users",
        str(swarm.users),
        "--spawn-rate",
        f"{swarm.spawn_rate:g}",
        "--run-time",
        f"{max(1, round(swarm.run_seconds))}s",
        "--stop-timeout",
        "30",
        "--host",
        host,
        "--timings-file",
        str(timings_file),
        *options,
        *swarm.user_classes,
    ]


def run_locust(swarm: Swarm, *, host: str, env: dict[str, str]) -> Timings:
    """Run locust to the end and read back every request it timed."""
    with tempfile.TemporaryDirectory(prefix="mutualaid-benchmark-locust-") as scratch:
        timings_file = Path(scratch) / "timings.json"
        log = Path(scratch) / "locust.log"
        # The locustfile imports benchmarks.*: the project's directory goes on the path.
        locust_env = {**env, "PYTHONPATH": str(BASE_DIR)}
        with log.open("wb") as output:
            # The command is this interpreter and fixed arguments, never input.
            finished = subprocess.run(  # noqa: S603
                locust_command(swarm, host=host, timings_file=timings_file),
                cwd=BASE_DIR,
                env=locust_env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=swarm.run_seconds + 300,
                check=False,
            )
        # Exit code 1 only says that some requests failed: the timings count them.
        if finished.returncode not in (0, 1) or not timings_file.exists():
            tail = log.read_text(errors="replace")[-6000:]
            raise RuntimeError(f"locust exited with {finished.returncode}; its output:\n{tail}")
        return Timings.load(timings_file)
