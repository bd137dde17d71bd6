"""Numbers on the transparency pages and the dashboard: counts grouped by thousands in both languages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def grouped(value: float | None) -> str:
    """12345678 → “12,345,678”: Django's Chinese format would group by four digits without a separator."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"
