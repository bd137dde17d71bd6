"""Plan data named in the page's language (covered conditions carry a Chinese and an English name)."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from claims.models import PAYOUT_STATUSES, Claim, CoveredCondition

register = template.Library()


@register.filter
def condition_name(condition: CoveredCondition) -> str:
    return condition.name(get_language())


@register.filter
def payout_fen(claim: Claim) -> int | None:
    """The payout fixed at approval, while the claim holds it (an objection reopens the investigation)."""
    return claim.payout_fen if claim.status in PAYOUT_STATUSES else None
