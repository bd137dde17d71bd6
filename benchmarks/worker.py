"""A real Celery worker process, as production starts it, and the memory of its process tree.

Memory is read from the proc filesystem (Linux): the resident set (RSS) of the worker and every process
below it, summed and sampled every 0.2 s by a thread; also the proportional set size (PSS), which counts
the pages the pool processes share with their parent once, and so is closer to what the tree really costs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from celery import Celery
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
PROC = Path("/proc")
SAMPLE_SECONDS = 0.2
READY_TIMEOUT = 90.0


def production_env(*, database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of a production process (DEBUG off, fresh keys), on the given database and Redis."""
    env = dict(os.environ)
    env.update(
        {
            # celery is installed beside the interpreter that runs the benchmark.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}",
            "ENV_FILE": "",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ID_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ID_HASH_KEY": secrets.token_urlsafe(32),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def sender_for(redis_url: str) -> Celery:
    sender = Celery("settlement-benchmark", broker=redis_url, backend=redis_url, set_as_current=False)
    sender.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")
    return sender


# --- memory ------------------------------------------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def process_tree(root: int) -> list[int]:
    """The root and all its descendants, from each process's parent id."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name (2nd field) is in parentheses and may hold spaces: split after it.
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


@dataclass
class MemorySample:
    rss_kb: int
    pss_kb: int
    processes: int


def sample_tree(root: int) -> MemorySample:
    pids = process_tree(root)
    return MemorySample(
        rss_kb=sum(_status_kb(pid, "VmRSS") for pid in pids),
        pss_kb=sum(_pss_kb(pid) for pid in pids),
        processes=len(pids),
    )


@dataclass
class MemoryWatch:
    """Samples a process tree in a thread; `peak()` since the last `reset()`."""

    root: int
    interval: float = SAMPLE_SECONDS
    samples: list[MemorySample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="worker-memory", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            sample = sample_tree(self.root)
            with self._lock:
                self.samples.append(sample)
            self._stop.wait(self.interval)

    def reset(self) -> None:
        with self._lock:
            self.samples = [sample_tree(self.root)]

    def peak(self) -> MemorySample:
        with self._lock:
            samples = [*self.samples, sample_tree(self.root)]
        return MemorySample(
            rss_kb=max(s.rss_kb for s in samples),
            pss_kb=max(s.pss_kb for s in samples),
            processes=max(s.processes for s in samples),
        )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


# --- the worker --------------------------------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    memory: MemoryWatch

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def failure(self, what: str) -> str:
        return f"worker: {what}; exit code {self.process.poll()}; its output:\n{self.output()[-6000:]}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.memory.stop()
        # The worker runs in a session of its own: stopping the group stops the pool processes too.
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def worker_command(concurrency: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "mutualaid",
        "worker",
        f"--concurrency={concurrency}",
        "--loglevel=warning",
        "--without-gossip",
        "--without-mingle",
        f"--hostname=settlement-benchmark-{os.getpid()}@%h",
    ]


def start_worker(*, env: dict[str, str], sender: Celery, concurrency: int = 2) -> Worker:
    """Start the worker and wait until it has run a task (its pool is forked and has imported the project)."""
    handle, name = tempfile.mkstemp(prefix="settlement-benchmark-worker-", suffix=".log")
    log = Path(name)
    with os.fdopen(handle, "wb") as output:
        # The command is this interpreter and fixed arguments, never input.
        process = subprocess.Popen(  # noqa: S603
            worker_command(concurrency),
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(process=process, log=log, memory=MemoryWatch(root=process.pid))
    worker.memory.start()
    try:
        wait_until_ready(worker, sender)
    except BaseException:
        worker.stop()
        log.unlink(missing_ok=True)  # its tail is in the error
        raise
    return worker


def wait_until_ready(worker: Worker, sender: Celery, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    # One ping per pool process, so that every one of them has started before anything is timed.
    results = [sender.send_task("mutualaid.ping") for _ in range(2)]
    while not all(result.ready() for result in results):
        if not worker.alive():
            raise RuntimeError(worker.failure("exited before answering a ping"))
        if time.monotonic() > deadline:
            raise RuntimeError(worker.failure(f"no answer to a ping within {timeout:.0f} s"))
        time.sleep(0.1)
    for result in results:
        if result.get(timeout=5) != "pong":
            raise RuntimeError(worker.failure("answered the ping with something else"))
        result.forget()
