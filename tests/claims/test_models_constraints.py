"""The database holds the claims rules it can, so a path around the services cannot break them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from claims.models import Claim, ClaimKind, ClaimStatus, ClaimTransition


def _copy_of(claim: Claim, **changes: object) -> Claim:
    fields = {
        "member": claim.member,
        "person": claim.person,
        "kind": ClaimKind.ILLNESS,
        "condition": claim.condition,
        "diagnosed_on": claim.diagnosed_on,
        "hospital": "医院",
        "description": "…",
    }
    fields.update(changes)
    return Claim.objects.create(**fields)


def test_it_refuses_a_second_claim_in_progress_for_the_same_person(claim: Claim) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        _copy_of(claim)


def test_it_allows_a_new_claim_once_the_first_is_withdrawn(claim: Claim) -> None:
    Claim.objects.filter(pk=claim.pk).update(status=ClaimStatus.WITHDRAWN)

    assert _copy_of(claim).status == ClaimStatus.SUBMITTED


def test_it_refuses_an_approved_claim_without_a_payout(claim: Claim) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(status=ClaimStatus.APPROVED)


def test_it_refuses_a_rejected_claim_without_a_reason(claim: Claim) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(status=ClaimStatus.REJECTED)


def test_it_refuses_to_edit_transitions_in_bulk(claim: Claim) -> None:
    with pytest.raises(ValueError, match="never edited"):
        ClaimTransition.objects.filter(claim=claim).update(note="changed")


def test_it_refuses_to_delete_transitions_in_bulk(claim: Claim) -> None:
    with pytest.raises(ValueError, match="never deleted"):
        ClaimTransition.objects.filter(claim=claim).delete()

    assert ClaimTransition.objects.filter(claim=claim).count() == 1
