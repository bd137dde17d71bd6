"""Money on the pages: integer fen in, yuan with thousands separators out (“300,000.00 元”)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    sign = "-" if int(fen) < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return _("%(amount)s yuan") % {"amount": f"{sign}{whole:,}.{cents:02d}"}
