"""Reads of members, plans and households."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

from django.core.cache import cache
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from members.dates import age_in_years
from members.models import (
    COVERED_STATUSES,
    LIVE_STATUSES,
    Membership,
    Partner,
    PartnerAPIKey,
    PayoutTier,
    Plan,
    User,
)

# How long a partner's key may stay in the shared cache. Every change through the models or the services
# drops it at once and leaves a "changed" mark for longer than a copy can live (members.receivers): a
# request that read the key just before a revocation committed and writes its older copy just after the
# drop finds the mark beside its copy, so the copy is never used.
KEY_CACHE_SECONDS = 60
# A copy written late lives KEY_CACHE_SECONDS from its write, and a request may write it as late as the
# web worker's timeout (60 s, docker-compose.yml) after it read the key: the mark outlives both.
KEY_CHANGED_MARK_SECONDS = KEY_CACHE_SECONDS + 60 + 10


def plan_get_default() -> Plan:
    """The plan people join: the first active one (the product runs one plan)."""
    plan = Plan.objects.filter(is_active=True).order_by("id").first()
    if plan is None:
        raise Plan.DoesNotExist("No active plan: run `manage.py seed_plan`.")
    return plan


class Tier(NamedTuple):
    from_age: int
    to_age: int
    amount_fen: int


def _amount_for_age(tiers: Iterable[Tier], age: int) -> int | None:
    for tier in tiers:
        if tier.from_age <= age <= tier.to_age:
            return tier.amount_fen
    return None


def payout_for_age(*, plan: Plan, age: int) -> int | None:
    """The payout in fen for an age at diagnosis, or None outside the plan's tiers.

    Read from the database, in the caller's transaction: this is the figure an approval fixes.
    """
    return _amount_for_age((Tier(tier.from_age, tier.to_age, tier.amount_fen) for tier in plan.payout_tiers.all()), age)


# Each process keeps a plan's tiers for this many seconds. A change through the models drops them at once
# in the process that made it (members.receivers); the others show the new coverage within this time.
TIERS_SECONDS = 10.0
_tiers: dict[int, tuple[float, tuple[Tier, ...]]] = {}
_clock = time.monotonic


def plan_payout_tiers(*, plan_id: int) -> tuple[Tier, ...]:
    """The plan's payout tiers for showing coverage, kept in the process for TIERS_SECONDS.

    Every member object of the API and every household page shows a coverage: a query (or a cache round
    trip) for the same two tiers on each of those reads would cost more than the rest of the member.
    Approvals never read this: payout_for_age reads the database in the approval's transaction.
    """
    now = _clock()
    held = _tiers.get(plan_id)
    if held is not None and held[0] > now:
        return held[1]
    rows = PayoutTier.objects.filter(plan_id=plan_id).values_list("from_age", "to_age", "amount_fen")
    tiers = tuple(Tier(*row) for row in rows)
    _tiers[plan_id] = (now + TIERS_SECONDS, tiers)
    return tiers


def plan_payout_tiers_forget(*, plan_id: int | None = None) -> None:
    """Drop this process's copy of a plan's tiers (of every plan when None)."""
    if plan_id is None:
        _tiers.clear()
    else:
        _tiers.pop(plan_id, None)


def membership_coverage_fen(*, membership: Membership, on: date | None = None) -> int | None:
    """What the member would receive if diagnosed on `on` (today by default); None when not covered.

    During the waiting period only accidents are covered; the amount is the same tier.
    """
    if membership.status not in COVERED_STATUSES:
        return None
    on = on or timezone.localdate()
    return _amount_for_age(
        plan_payout_tiers(plan_id=membership.plan_id), age_in_years(membership.person.birth_date, on)
    )


def partner_key_cache_key(prefix: str) -> str:
    # v2: the key's column values, not a pickled model instance (see _key_to_cache).
    return f"members:partner-api-key:v2:{prefix}"


_KEY_COLUMNS = ("id", "prefix", "hashed_key", "name", "created", "expiry_date", "revoked", "partner_id")
_PARTNER_COLUMNS = ("id", "name", "created_at")


def _key_to_cache(api_key: PartnerAPIKey) -> dict[str, dict[str, object]]:
    """The key and its partner as plain values: a pickled model instance carries Django's version and the
    model's shape, and a deploy that changes either would make every cached copy fail or warn."""
    return {
        "key": {column: getattr(api_key, column) for column in _KEY_COLUMNS},
        "partner": {column: getattr(api_key.partner, column) for column in _PARTNER_COLUMNS},
    }


def _key_from_cache(value: object) -> PartnerAPIKey | None:
    """The instances rebuilt as the database would give them; None (read the database) for anything else."""
    if not isinstance(value, dict):
        return None
    try:
        api_key = PartnerAPIKey(**value["key"])
        partner = Partner(**value["partner"])
    except (KeyError, TypeError, ValueError):
        return None
    for instance in (api_key, partner):
        instance._state.adding, instance._state.db = False, "default"
    api_key.partner = partner
    return api_key


def partner_key_changed_mark(prefix: str) -> str:
    return f"members:partner-api-key-changed:{prefix}"


def partner_key_usable(*, prefix: str) -> PartnerAPIKey | None:
    """The unrevoked key of this prefix with its partner, from the cache when it is there.

    Every API request needs it: one round trip reads the cached copy and the key's "changed" mark
    together. While the mark lives (a revocation, a deletion, any change of the key or its partner in
    the last KEY_CHANGED_MARK_SECONDS) no copy is used or made: the database answers. Keys that do not
    exist are not cached: anyone can send any prefix, and that must not fill the cache.
    """
    key, changed = partner_key_cache_key(prefix), partner_key_changed_mark(prefix)
    found = cache.get_many([key, changed])
    if changed not in found and (cached := _key_from_cache(found.get(key))) is not None:
        return cached
    from_db = PartnerAPIKey.objects.get_usable_keys().select_related("partner").filter(prefix=prefix).first()
    if from_db is not None and changed not in found:
        cache.set(key, _key_to_cache(from_db), KEY_CACHE_SECONDS)
    return from_db


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
    # The coverage shown needs the plan's id only (its tiers come from plan_payout_tiers).
    return memberships.select_related("person").order_by("id")


def membership_for_partner_ref(*, partner: Partner, external_ref: str) -> Membership:
    """The partner's live member with this reference of the partner's (at most one: a unique index)."""
    found = (
        memberships_for_partner(partner=partner, external_ref=external_ref)
        .filter(status__in=LIVE_STATUSES)
        .select_related("plan")
        .first()
    )
    if found is None:
        raise Http404
    return found


def membership_for_partner(*, partner: Partner, membership_id: int) -> Membership:
    """Another partner's member, or no member at all: the same 404."""
    try:
        return memberships_for_partner(partner=partner).select_related("plan").get(pk=membership_id)
    except Membership.DoesNotExist as exc:
        raise Http404 from exc
