"""The header's plan name: every page shows which plan it belongs to, signed in or not."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from members.models import Plan
from members.selectors import plan_get_default

register = template.Library()


@register.simple_tag
def plan_name() -> str:
    """The name of the plan people join; the generic name while no plan is open (one small query)."""
    try:
        return plan_get_default().name
    except Plan.DoesNotExist:
        return _("Mutual aid plan")
