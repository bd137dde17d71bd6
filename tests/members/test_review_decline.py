from __future__ import annotations

from collections.abc import Callable
from datetime import date

from members.models import Membership, MembershipStatus, User
from members.services import membership_change_status


def test_a_membership_declined_at_review_ends_the_day_it_began(
    enrol: Callable[..., Membership], admin_user: User
) -> None:
    pending = enrol(on=date(2025, 1, 1), attested_score=None)

    declined = membership_change_status(
        membership=pending, status=MembershipStatus.EXITED, reason="no credit", by=admin_user, on=date(2025, 1, 20)
    )

    assert (declined.joined_on, declined.ended_on) == (date(2025, 1, 1), date(2025, 1, 1))


def test_a_covered_member_exited_by_an_admin_ends_on_the_decision_day(
    enrol: Callable[..., Membership], admin_user: User
) -> None:
    member = enrol(on=date(2025, 1, 1))

    exited = membership_change_status(
        membership=member, status=MembershipStatus.EXITED, reason="asked by phone", by=admin_user, on=date(2025, 3, 5)
    )

    assert exited.ended_on == date(2025, 3, 5)
