"""The production stack's own commands, as docker-compose.yml runs them, against the local PostgreSQL and Redis.

The web, worker and beat commands are read from docker-compose.yml and started as they are written, with
two changes only, both so that the test can run beside anything else on the machine:
- web: `--bind 0.0.0.0:8000` becomes `--bind 127.0.0.1:<a free port>`;
- beat: `--schedule /tmp/celerybeat-schedule` becomes a file in the test's temporary directory.
Their environment is a production one (DEBUG off, real keys), pointed at the test database and at a Redis
database of the smoke test's own, so the worker never takes tasks meant for another test.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml
from celery import Celery
from cryptography.fernet import Fernet
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SMOKE_REDIS_DB = 15
START_TIMEOUT = 60.0
# Where docker-compose.yml has beat keep its scratch file, inside the container.
COMPOSE_BEAT_SCHEDULE = "/tmp/celerybeat-schedule"  # noqa: S108


def compose_command(service: str) -> list[str]:
    command = COMPOSE["services"][service]["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def with_option(command: list[str], option: str, value: str, *, expected: str | None = None) -> list[str]:
    """The command with one option's value replaced, written `--option value` or `--option=value`."""
    for index, part in enumerate(command):
        if part == option:
            assert expected is None or command[index + 1] == expected, command
            return [*command[: index + 1], value, *command[index + 2 :]]
        if part.startswith(f"{option}="):
            assert expected is None or part == f"{option}={expected}", command
            return [*command[:index], f"{option}={value}", *command[index + 1 :]]
    raise AssertionError(f"{option} is not in {command}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def smoke_redis_url() -> str:
    return urlunsplit(urlsplit(settings.REDIS_URL)._replace(path=f"/{SMOKE_REDIS_DB}"))


def database_url_for_the_test_database() -> str:
    """The configured DATABASE_URL, naming instead the test database that pytest-django created."""
    url = urlsplit(settings.DATABASE_URL)
    return urlunsplit(url._replace(path=f"/{settings.DATABASES['default']['NAME']}"))


def production_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            # gunicorn and celery are installed beside the interpreter that runs the tests.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}",
            "ENV_FILE": "",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ID_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ID_HASH_KEY": secrets.token_urlsafe(32),
            "DATABASE_URL": database_url_for_the_test_database(),
            "REDIS_URL": smoke_redis_url(),
            "CELERY_WORKER_CONCURRENCY": "1",
            "PYTHONUNBUFFERED": "1",
            "HOME": str(tmp_path),
        }
    )
    return env


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def failure(self, what: str) -> str:
        return f"{self.name}: {what}; exit code {self.process.poll()}; its output:\n{self.output()[-6000:]}"

    def wait_for_output(self, text: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.process.poll() is None, self.failure(f"exited before saying {text!r}")
            assert time.monotonic() < deadline, self.failure(f"did not say {text!r} within {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        # Each service runs in a session of its own: stopping the group also stops gunicorn's workers
        # and the worker's pool processes, and nothing outlives the test.
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def start_service(transactional_db: None, tmp_path: Path) -> Iterator[Callable[[str, list[str]], Service]]:
    # transactional_db: the test database is migrated and its rows committed, so other processes see it;
    # this fixture depends on it, so the processes stop before the database is cleaned or dropped.
    started: list[Service] = []

    def start(name: str, command: list[str]) -> Service:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=production_env(tmp_path),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name=name, process=process, log=log)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def get_healthz(service: Service, port: int) -> tuple[int, dict[str, Any], str]:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert service.process.poll() is None, service.failure("exited before answering")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                return response.status, json.loads(response.read()), response.headers.get("Server", "")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), error.headers.get("Server", "")
        except (ConnectionError, urllib.error.URLError, TimeoutError):
            assert time.monotonic() < deadline, service.failure(f"no answer within {START_TIMEOUT:.0f} s")
            time.sleep(0.25)


@pytest.mark.services
def test_the_web_command_serves_healthz_from_gunicorn(start_service: Callable[[str, list[str]], Service]) -> None:
    port = free_port()
    command = with_option(compose_command("web"), "--bind", f"127.0.0.1:{port}", expected="0.0.0.0:8000")
    web = start_service("web", command)

    status, body, server = get_healthz(web, port)

    assert (status, body) == (200, {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}), web.failure(
        f"answered {status}"
    )
    assert server.startswith("gunicorn"), server


@pytest.mark.services
def test_the_worker_command_runs_a_task_sent_through_redis(
    start_service: Callable[[str, list[str]], Service],
) -> None:
    worker = start_service("worker", compose_command("worker"))
    sender = Celery("smoke", broker=smoke_redis_url(), backend=smoke_redis_url(), set_as_current=False)
    sender.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")
    try:
        result = sender.send_task("mutualaid.ping")
        deadline = time.monotonic() + START_TIMEOUT
        while not result.ready():
            assert worker.process.poll() is None, worker.failure("exited before answering")
            assert time.monotonic() < deadline, worker.failure(f"no answer within {START_TIMEOUT:.0f} s")
            time.sleep(0.2)
        assert result.get(timeout=5) == "pong", worker.failure("answered something else")
        # The answer came from this worker, not from another one listening on the same Redis database.
        worker.wait_for_output(f"mutualaid.ping[{result.id}] succeeded", timeout=10)
        result.forget()
    finally:
        sender.close()


@pytest.mark.services
def test_the_beat_command_starts_the_schedule(
    start_service: Callable[[str, list[str]], Service], tmp_path: Path
) -> None:
    schedule = tmp_path / "celerybeat-schedule"
    command = with_option(compose_command("beat"), "--schedule", str(schedule), expected=COMPOSE_BEAT_SCHEDULE)
    beat = start_service("beat", command)

    beat.wait_for_output("beat: Starting...")
    time.sleep(1)  # a beat that cannot reach Redis or load its schedule dies right after starting
    assert beat.process.poll() is None, beat.failure("stopped after starting")


def test_compose_runs_web_worker_and_beat_after_healthy_services_and_migrations() -> None:
    services = COMPOSE["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["postgres"]["healthcheck"]["test"]
    assert services["redis"]["healthcheck"]["test"]
    assert compose_command("web")[:2] == ["gunicorn", "mutualaid.wsgi:application"]
    assert compose_command("worker") == ["celery", "-A", "mutualaid", "worker", "--loglevel=info"]
    assert compose_command("beat")[:5] == ["celery", "-A", "mutualaid", "beat", "--loglevel=info"]
    for name in ("web", "worker", "beat"):
        conditions = {dependency: spec["condition"] for dependency, spec in services[name]["depends_on"].items()}
        assert conditions == {
            "postgres": "service_healthy",
            "redis": "service_healthy",
            "migrate": "service_completed_successfully",
        }, name
        assert services[name]["env_file"] == ".env", name
    assert "migrate" in " ".join(compose_command("migrate"))


def test_the_image_runs_as_an_unprivileged_user() -> None:
    dockerfile = (BASE_DIR / "Dockerfile").read_text().splitlines()
    assert dockerfile[next(i for i, line in enumerate(dockerfile) if line.startswith("FROM"))] == (
        "FROM python:3.11-slim"
    )
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users, "the Dockerfile never leaves root"
    assert users[-1] not in {"root", "0"}
