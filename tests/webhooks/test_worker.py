"""A real Celery worker, started with the production command, delivers a webhook through Redis."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings

from members.models import Membership
from members.services import membership_exit
from mutualaid.celery import app
from tests.test_smoke_stack import BASE_DIR, Service, compose_command, production_env
from tests.webhooks.conftest import Hooked, verify
from webhooks.models import DeliveryStatus, WebhookDelivery

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60.0  # a liveness bound for a loaded 2-core machine


@pytest.fixture
def shared_key(settings: Any) -> str:
    """The worker runs with DEBUG off, which refuses the development key: both sides use a fresh one."""
    key = Fernet.generate_key().decode()
    settings.ID_ENCRYPTION_KEYS = [key]
    return key


@pytest.fixture
def worker(tmp_path: Path, shared_key: str) -> Iterator[Service]:
    # Other tests that commit (transactional ones) leave their tasks queued on this Redis database, with no
    # worker to run them: the worker would work through that backlog before this test's delivery.
    app.control.purge()
    env = production_env(tmp_path)
    env.update(
        {
            "REDIS_URL": django_settings.REDIS_URL,
            "ID_ENCRYPTION_KEYS": shared_key,
            "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "true",  # the receiver listens on 127.0.0.1
        }
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*compose_command("worker"), "--concurrency=1", "--without-gossip", "--without-mingle"],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(name="worker", process=process, log=log)
    try:
        service.wait_for_output("ready.", timeout=TIMEOUT)
        yield service
    finally:
        service.stop()


def test_a_worker_delivers_the_event_of_a_committed_change(
    shared_key: str, acme: Hooked, enrol_for: Callable[..., Membership], worker: Service
) -> None:
    member = enrol_for(acme)
    membership_exit(membership=member, by=None)  # autocommit: the task is queued to Redis at once
    deadline = time.monotonic() + TIMEOUT
    while not acme.receiver.requests:
        assert worker.process.poll() is None, worker.failure("exited")
        assert time.monotonic() < deadline, worker.failure("no request reached the receiver")
        time.sleep(0.1)
    [request] = acme.receiver.requests
    assert verify(secret=acme.secret, header=request.headers["Mutualaid-Signature"], body=request.body)
    assert request.json()["data"]["member"] == member.pk
    while WebhookDelivery.objects.get().status != DeliveryStatus.DELIVERED:
        assert time.monotonic() < deadline, worker.failure("the delivery was not marked delivered")
        time.sleep(0.1)
