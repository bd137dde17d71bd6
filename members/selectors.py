"""Reads of members, plans and households."""

from __future__ import annotations

from datetime import date

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from members.dates import age_in_years
from members.models import COVERED_STATUSES, LIVE_STATUSES, Membership, Partner, Plan, User


def plan_get_default() -> Plan:
    """The plan people join: the first active one (the product runs one plan)."""
    plan = Plan.objects.filter(is_active=True).order_by("id").first()
    if plan is None:
        raise Plan.DoesNotExist("No active plan: run `manage.py seed_plan`.")
    return plan


def payout_for_age(*, plan: Plan, age: int) -> int | None:
    """The payout in fen for an age at diagnosis, or None outside the plan's tiers."""
    for tier in plan.payout_tiers.all():
        if tier.from_age <= age <= tier.to_age:
            return tier.amount_fen
    return None


def membership_coverage_fen(*, membership: Membership, on: date | None = None) -> int | None:
    """What the member would receive if diagnosed on `on` (today by default); None when not covered.

    During the waiting period only accidents are covered; the amount is the same tier.
    """
    if membership.status not in COVERED_STATUSES:
        return None
    on = on or timezone.localdate()
    return payout_for_age(plan=membership.plan, age=age_in_years(membership.person.birth_date, on))


def household_payer_for_account(*, account: User) -> Membership | None:
    """The account's own live membership as a payer, if it has one."""
    return (
        Membership.objects.select_related("person", "plan")
        .filter(account=account, payer__isnull=True, status__in=LIVE_STATUSES)
        .order_by("-id")
        .first()
    )


def household_for_account(*, account: User) -> QuerySet[Membership]:
    """Every membership the account manages, ended ones included: the payers first, then the dependants."""
    return (
        Membership.objects.filter(Q(account=account) | Q(payer__account=account))
        .select_related("person", "plan", "payer__person")
        .prefetch_related("plan__payout_tiers")
        .order_by(F("payer_id").asc(nulls_first=True), "id")
    )


def membership_for_account(*, account: User, membership_id: int) -> Membership:
    """Access check written once: a member reaches only their own household; anything else is 404."""
    try:
        return household_for_account(account=account).get(pk=membership_id)
    except Membership.DoesNotExist as exc:
        raise Http404 from exc


def membership_live_dependants(*, membership: Membership) -> QuerySet[Membership]:
    return membership.dependants.filter(status__in=LIVE_STATUSES)


def memberships_for_partner(
    *, partner: Partner, status: str | None = None, external_ref: str | None = None, payer: int | None = None
) -> QuerySet[Membership]:
    """Access check written once for the API: a partner reaches only the members it enrolled."""
    memberships = Membership.objects.filter(partner=partner)
    if status:
        memberships = memberships.filter(status=status)
    if external_ref:
        memberships = memberships.filter(external_ref=external_ref)
    if payer is not None:
        memberships = memberships.filter(payer_id=payer)
    return memberships.select_related("person", "plan").prefetch_related("plan__payout_tiers").order_by("id")


def membership_for_partner(*, partner: Partner, membership_id: int) -> Membership:
    """Another partner's member, or no member at all: the same 404."""
    try:
        return memberships_for_partner(partner=partner).get(pk=membership_id)
    except Membership.DoesNotExist as exc:
        raise Http404 from exc
