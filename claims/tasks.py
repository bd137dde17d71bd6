from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from claims import services
from members.models import Plan


@shared_task(name="claims.tasks.notices_publish_due")
def notices_publish_due() -> list[int]:
    """Beat runs this just after Beijing midnight; on a notice day it publishes the approved claims."""
    today = timezone.localdate()
    notices = [services.notices_publish(plan=plan, on=today) for plan in Plan.objects.all()]
    return [n.pk for n in notices if n is not None]
