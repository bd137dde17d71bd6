"""The Celery app: JSON only, time limits, the beat schedule declared here in code."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")
# Django's system checks run where the configuration is deployed (`migrate`, `check --deploy`); in the
# worker they would import every URL, view and the API schema, about 26 MB per pool process it never uses.
os.environ.setdefault("CELERY_SKIP_CHECKS", "true")

app = Celery("mutualaid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    task_time_limit=30 * 60,
    task_soft_time_limit=25 * 60,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    result_expires=24 * 3600,
    beat_schedule={
        # Just after Beijing midnight: waiting periods that ended yesterday, 60th birthdays today.
        "memberships-daily": {
            "task": "members.tasks.memberships_daily",
            "schedule": crontab(hour=0, minute=5),
        },
        # On the 7th and 21st: the approved claims go into public notice together.
        "notices-publish": {
            "task": "claims.tasks.notices_publish_due",
            "schedule": crontab(hour=0, minute=1),
        },
        # Every day after the notices: open the period on a notice day, settle it on a charge day, and
        # resume any settlement a killed worker left unfinished.
        "period-jobs": {
            "task": "settlement.tasks.period_jobs_due",
            "schedule": crontab(hour=0, minute=15),
        },
        # After the period jobs: refunds for waiting-period illnesses, then the households still in arrears
        # after their grace (2 days before the next charge day) are removed.
        "money-jobs": {
            "task": "settlement.tasks.money_jobs_due",
            "schedule": crontab(hour=0, minute=30),
        },
        # Every minute: webhook deliveries whose retry is due (back-off 1 min … 12 h), and any a lost task left.
        "webhooks-sweep": {
            "task": "webhooks.tasks.deliveries_sweep",
            "schedule": crontab(minute="*"),
        },
        # Every five minutes: jury votes whose deadline has passed are closed and decided (safe to run twice).
        "appeals-close": {
            "task": "jury.tasks.appeals_close_due",
            "schedule": crontab(minute="*/5"),
        },
    },
)
app.autodiscover_tasks()


@app.task(name="mutualaid.ping")
def ping() -> str:
    """A task that does nothing but answer: the smoke test and /healthz operators use it."""
    return "pong"
