from __future__ import annotations

from datetime import date

from members.models import MembershipStatus


def test_it_enrols_a_payer_with_an_attested_score(enrol, plan) -> None:
    membership = enrol(on=date(2026, 11, 29))
    assert membership.status == MembershipStatus.WAITING
    assert membership.waiting_period_ends == date(2027, 2, 27)
