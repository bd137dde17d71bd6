"""Households owned by a partner, for the money endpoints: sharers of the settlement tests' periods."""

from __future__ import annotations

from members.models import Membership, Partner, Plan
from tests.settlement.money import Household, household


def partner_household(plan: Plan, partner: Partner, dependants: int = 2) -> Household:
    """A payer and their dependants, enrolled by `partner`, joined in 2025: sharers of the test periods."""
    home = household(plan, dependants=dependants)
    Membership.objects.filter(pk__in=[m.pk for m in home.members]).update(partner=partner)
    return home
