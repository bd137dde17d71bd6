"""Dropping cached reads (members.selectors) when what they copy changes.

Each change drops the copy twice: at once, so that the rest of the same transaction reads the change,
and after the commit, so that a copy made from the committed rows in between does not outlive the
change. Changes that send no model signal (a queryset's update) drop their copies in the service that
makes them (partner_keys_revoke).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from members.models import Partner, PartnerAPIKey, PayoutTier, Plan
from members.selectors import (
    KEY_CHANGED_MARK_SECONDS,
    partner_key_cache_key,
    partner_key_changed_mark,
    plan_payout_tiers_forget,
)


def forget_partner_keys(prefixes: Iterable[str]) -> None:
    """Drop the keys' cached copies and mark them changed: a copy written late by a request that read
    the key before this change committed is never used while the mark lives (longer than any copy)."""
    prefixes = list(prefixes)
    if not prefixes:
        return

    def drop() -> None:
        cache.set_many({partner_key_changed_mark(prefix): 1 for prefix in prefixes}, KEY_CHANGED_MARK_SECONDS)
        cache.delete_many([partner_key_cache_key(prefix) for prefix in prefixes])

    drop()
    transaction.on_commit(drop)


def forget_payout_tiers(plan_id: int) -> None:
    plan_payout_tiers_forget(plan_id=plan_id)
    transaction.on_commit(lambda: plan_payout_tiers_forget(plan_id=plan_id))


@receiver([post_save, post_delete], sender=PayoutTier, dispatch_uid="members.payout_tier_changed")
def _payout_tier_changed(sender: type[PayoutTier], instance: PayoutTier, **kwargs: Any) -> None:
    forget_payout_tiers(instance.plan_id)


@receiver([post_save, post_delete], sender=Plan, dispatch_uid="members.plan_changed")
def _plan_changed(sender: type[Plan], instance: Plan, **kwargs: Any) -> None:
    # A new plan may take the id of one rolled back (SQLite reuses ids): nothing of that one may remain.
    forget_payout_tiers(instance.pk)


@receiver([post_save, post_delete], sender=PartnerAPIKey, dispatch_uid="members.partner_key_changed")
def _partner_key_changed(sender: type[PartnerAPIKey], instance: PartnerAPIKey, **kwargs: Any) -> None:
    if kwargs.get("created"):
        return  # nothing can hold a copy of a key that did not exist
    forget_partner_keys([instance.prefix])


@receiver([post_save, post_delete], sender=Partner, dispatch_uid="members.partner_changed")
def _partner_changed(sender: type[Partner], instance: Partner, **kwargs: Any) -> None:
    # The cached keys carry their partner.
    forget_partner_keys(PartnerAPIKey.objects.filter(partner_id=instance.pk).values_list("prefix", flat=True))
