"""Thin Celery tasks of webhooks (acks_late, as every task: a killed worker's task runs again, harmlessly)."""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task(name="webhooks.tasks.deliver")
def deliver(delivery_id: int) -> int | None:
    """POST one delivery if it is still due; the HTTP status, or None (nothing to do, or a network error)."""
    attempt = services.delivery_attempt(delivery_id=delivery_id)
    return attempt.status_code if attempt is not None else None


@shared_task(name="webhooks.tasks.deliveries_sweep")
def deliveries_sweep() -> int:
    """Beat runs this every minute: queue the deliveries that are due (retries, and any a lost task left).

    A full batch means more are due: the sweep queues itself again rather than waiting a minute.
    """
    due = services.deliveries_sweep()
    for delivery_id in due:
        deliver.delay(delivery_id)
    if len(due) >= services.SWEEP_BATCH:
        deliveries_sweep.delay()
    return len(due)
