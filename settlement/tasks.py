"""Thin Celery tasks: each takes ids and calls one service (acks_late: a killed worker's task runs again)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from settlement import services
from settlement.models import Period


@shared_task(name="settlement.tasks.period_jobs_due")
def period_jobs_due() -> dict[str, list[int]]:
    """Beat runs this just after Beijing midnight: the notice-day and charge-day jobs of today."""
    run = services.period_jobs_run(on=timezone.localdate())
    return {"opened": run.opened, "settling": run.settling, "resumed": run.resumed}


@shared_task(name="settlement.tasks.money_jobs_due")
def money_jobs_due() -> dict[str, int | list[int]]:
    """Beat runs this daily after the period jobs: waiting-period refunds, then removals for non-payment."""
    run = services.money_jobs_run(on=timezone.localdate())
    return {"refunded_fen": run.refunded_fen, "removed_payers": run.removed_payers}


# A dropped or restarted database connection fails the task's transaction, which leaves nothing behind: the
# task runs again after a back-off (1, 2, 4 … 60 s) on a fresh connection, and its done marker makes the
# repeat exact. What still fails after that is resumed by the next day's jobs or `period_close`.
DATABASE_LOST = (OperationalError, InterfaceError)


@shared_task(
    name="settlement.tasks.settle_period",
    autoretry_for=DATABASE_LOST,
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=False,
    max_retries=8,
)
def settle_period(period_id: int, chunk_size: int | None = None) -> str:
    """Start (or resume) a period's settlement: fixes the figures once, queues the chunks not yet done."""
    return services.period_settle_start(period=Period.objects.get(pk=period_id), chunk_size=chunk_size).status


@shared_task(
    name="settlement.tasks.settle_chunk",
    autoretry_for=DATABASE_LOST,
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=False,
    max_retries=8,
)
def settle_chunk(period_id: int, lo: int, hi: int) -> bool:
    return services.period_settle_chunk(period_id=period_id, lo=lo, hi=hi)


@shared_task(
    name="settlement.tasks.settle_finish",
    autoretry_for=DATABASE_LOST,
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=False,
    max_retries=8,
)
def settle_finish(period_id: int) -> str:
    return services.period_settle_finish(period_id=period_id).status
