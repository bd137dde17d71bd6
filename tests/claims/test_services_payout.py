"""The payout is fixed at approval from the age at diagnosis: 300,000 yuan at 0–39, 100,000 at 40–59."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from claims.models import Claim
from members.models import Membership, Plan
from tests.claims.conftest import DIAGNOSIS_DAY, JOIN_DAY

pytestmark = pytest.mark.django_db

YUAN = 100  # fen


@pytest.fixture
def approved_for(
    enrol: Callable[..., Membership], file_claim: Callable[..., Claim], approve: Callable[..., Claim]
) -> Callable[[date], Claim]:
    """The approved claim of someone born on `birth_date`, diagnosed on DIAGNOSIS_DAY (2 June 2025)."""

    def _approved(birth_date: date) -> Claim:
        claim = approve(file_claim(enrol(birth_date=birth_date, on=JOIN_DAY)))
        claim.refresh_from_db()
        return claim

    return _approved


def test_it_pays_300000_yuan_at_39(approved_for: Callable[[date], Claim]) -> None:
    claim = approved_for(date(1985, 6, 3))  # 40 the day after the diagnosis
    assert (claim.age_at_diagnosis, claim.payout_fen) == (39, 300_000 * YUAN)


def test_it_pays_100000_yuan_from_the_40th_birthday(approved_for: Callable[[date], Claim]) -> None:
    claim = approved_for(date(1985, 6, 2))  # 40 on the day of the diagnosis
    assert (claim.age_at_diagnosis, claim.payout_fen) == (40, 100_000 * YUAN)


def test_it_pays_100000_yuan_at_59(approved_for: Callable[[date], Claim]) -> None:
    claim = approved_for(date(1965, 6, 3))  # 60 the day after the diagnosis
    assert (claim.age_at_diagnosis, claim.payout_fen) == (59, 100_000 * YUAN)


def test_it_takes_the_age_on_the_day_of_diagnosis_not_on_the_day_of_approval(
    enrol: Callable[..., Membership], file_claim: Callable[..., Claim], approve: Callable[..., Claim]
) -> None:
    member = enrol(birth_date=date(1985, 6, 3), on=JOIN_DAY)
    claim = approve(file_claim(member), on=date(2025, 6, 20))  # 40 by the decision day
    claim.refresh_from_db()
    assert (claim.age_at_diagnosis, claim.payout_fen) == (39, 300_000 * YUAN)
    assert claim.diagnosed_on == DIAGNOSIS_DAY


def test_a_change_of_the_tiers_after_approval_does_not_change_the_payout(
    approved_for: Callable[[date], Claim], plan: Plan
) -> None:
    claim = approved_for(date(1990, 5, 17))
    plan.payout_tiers.filter(from_age=0).update(amount_fen=200_000 * YUAN)
    claim.refresh_from_db()
    assert claim.payout_fen == 300_000 * YUAN
