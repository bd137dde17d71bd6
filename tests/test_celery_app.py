"""The Celery app: JSON only, time limits, and a beat schedule whose every task exists."""

from __future__ import annotations

import pytest
from celery.schedules import crontab

from mutualaid.celery import app, ping


@pytest.fixture(scope="module", autouse=True)
def _tasks_discovered() -> None:
    # What a worker does at start: import every app's tasks module, so app.tasks is complete.
    app.loader.import_default_modules()


def test_it_speaks_json_only() -> None:
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]
    assert list(app.conf.result_accept_content) == ["json"]


def test_it_limits_how_long_a_task_may_run_with_a_soft_limit_first() -> None:
    assert app.conf.task_time_limit
    assert app.conf.task_soft_time_limit
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit


def test_it_acknowledges_a_task_only_after_running_it_so_a_killed_worker_loses_nothing() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_it_keeps_beijing_time_for_the_schedule() -> None:
    assert str(app.conf.timezone) == "Asia/Shanghai"


def test_it_schedules_the_daily_members_job_just_after_beijing_midnight() -> None:
    entries = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert entries["members.tasks.memberships_daily"] == crontab(hour=0, minute=5)


def test_it_schedules_only_tasks_that_are_registered() -> None:
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled
    assert scheduled <= set(app.tasks), f"not registered: {sorted(scheduled - set(app.tasks))}"


def test_it_answers_pong_to_a_ping() -> None:
    assert "mutualaid.ping" in app.tasks
    assert ping() == "pong"
