from __future__ import annotations

from celery import shared_task

from members import services


@shared_task(name="members.tasks.memberships_daily")
def memberships_daily() -> dict[str, int]:
    """Beat runs this just after Beijing midnight; see services.memberships_daily."""
    result = services.memberships_daily()
    return {"activated": result.activated, "aged_out": result.aged_out}
