from __future__ import annotations

from celery import shared_task

from jury import services


@shared_task(name="jury.tasks.appeals_close_due")
def appeals_close_due() -> list[int]:
    """Beat runs this every few minutes: the votes whose deadline has passed are closed and decided."""
    return services.appeals_close_due()
