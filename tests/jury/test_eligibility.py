"""Who may be a juror: each rule alone refuses an otherwise good juror, and the rules are read again at
every vote (arrears and memberships change after the test)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from claims.models import Claim
from claims.services import claim_reject
from jury.errors import JurorNotEligible
from jury.models import Appeal, Juror
from jury.selectors import juror_eligibility
from jury.services import vote_cast
from members.models import Membership, MembershipStatus, Plan, User
from members.services import membership_exit
from settlement.services import payment_record
from tests.claims.conftest import on_day
from tests.jury.conftest import VOTE_AT, qualify
from tests.settlement.money import LAST_GRACE_DAY, REMOVAL_DAY, settle_period

pytestmark = pytest.mark.django_db

ON = date(2025, 6, 7)


def refusals(user: User, plan: Plan, on: date = ON) -> list[str]:
    return juror_eligibility(user=user, plan=plan, on=on).codes


def test_a_qualified_payer_of_long_standing_is_a_juror(make_juror: Callable[..., User], jury_plan: Plan) -> None:
    assert refusals(make_juror(), jury_plan) == []


def test_a_login_with_no_membership_is_not_a_juror(charlie: User, jury_plan: Plan) -> None:
    qualify(charlie, jury_plan)
    assert refusals(charlie, jury_plan) == ["not_payer"]


def test_a_payer_who_has_left_the_plan_is_not_a_juror(make_juror: Callable[..., User], jury_plan: Plan) -> None:
    user = make_juror()
    membership_exit(membership=Membership.objects.get(account=user), by=user, on=date(2025, 6, 1))
    assert refusals(user, jury_plan) == ["not_payer"]


def test_a_juror_is_18_on_the_18th_birthday_and_not_the_day_before(
    make_juror: Callable[..., User], jury_plan: Plan
) -> None:
    user = make_juror(birth_date=date(2007, 6, 7))
    assert refusals(user, jury_plan, on=date(2025, 6, 6)) == ["too_young"]
    assert refusals(user, jury_plan, on=date(2025, 6, 7)) == []


def test_a_member_of_30_days_is_not_a_juror_and_of_31_days_is(make_juror: Callable[..., User], jury_plan: Plan) -> None:
    user = make_juror(joined_on=date(2025, 5, 1))
    assert refusals(user, jury_plan, on=date(2025, 5, 31)) == ["too_new"]
    assert refusals(user, jury_plan, on=date(2025, 6, 1)) == []


def test_a_payer_in_arrears_after_the_grace_is_not_a_juror_until_paid(
    make_juror: Callable[..., User], jury_plan: Plan, admin_user: User
) -> None:
    user = make_juror()
    payer = Membership.objects.get(account=user)
    settle_period(jury_plan)  # notice 7 June, charge 14 June: the payer is charged and pays nothing
    assert refusals(user, jury_plan, on=LAST_GRACE_DAY) == []  # still in the grace
    assert refusals(user, jury_plan, on=REMOVAL_DAY) == ["in_arrears"]
    payment_record(payer=payer, amount_fen=10, reference="juror-pays", by=admin_user)
    assert refusals(user, jury_plan, on=REMOVAL_DAY) == []


@pytest.mark.parametrize("reason", ["health_declaration", "fraud"])
def test_someone_whose_claim_was_rejected_as_a_false_declaration_is_not_a_juror(
    reason: str, member: Membership, file_claim: Callable[..., Claim], admin_user: User, alice: User, jury_plan: Plan
) -> None:
    qualify(alice, jury_plan)
    assert refusals(alice, jury_plan) == []
    with on_day(date(2025, 6, 5)):
        claim_reject(claim=file_claim(member), by=admin_user, reason=reason, note="Found untrue.")
    assert refusals(alice, jury_plan) == ["false_declaration"]


def test_a_claim_rejected_for_another_reason_is_no_finding(
    member: Membership, file_claim: Callable[..., Claim], admin_user: User, alice: User, jury_plan: Plan
) -> None:
    qualify(alice, jury_plan)
    with on_day(date(2025, 6, 5)):
        claim_reject(claim=file_claim(member), by=admin_user, reason="not_covered")
    assert refusals(alice, jury_plan) == []


def test_someone_once_expelled_from_the_plan_is_not_a_juror(make_juror: Callable[..., User], jury_plan: Plan) -> None:
    user = make_juror()
    live = Membership.objects.get(account=user)
    # An earlier membership of the same person, expelled and ended, before they joined again.
    Membership.objects.create(
        plan=jury_plan,
        person=live.person,
        relationship="self",
        status=MembershipStatus.EXPELLED,
        joined_on=date(2020, 1, 1),
        waiting_period_ends=date(2020, 3, 31),
        ended_on=date(2021, 1, 1),
        credit_source="attested",
    )
    assert refusals(user, jury_plan) == ["false_declaration"]


def test_someone_who_has_not_passed_the_test_is_not_a_juror(make_juror: Callable[..., User], jury_plan: Plan) -> None:
    user = make_juror(qualified=False)
    assert refusals(user, jury_plan) == ["test_not_passed", "rules_not_accepted"]
    Juror.objects.create(plan=jury_plan, user=user, rules_accepted_at=VOTE_AT, last_score=3, attempts=1)
    assert refusals(user, jury_plan) == ["test_not_passed"]


def test_someone_who_passed_but_has_not_accepted_the_rules_is_not_a_juror(
    make_juror: Callable[..., User], jury_plan: Plan
) -> None:
    user = make_juror(qualified=False)
    Juror.objects.create(plan=jury_plan, user=user, passed_at=VOTE_AT, last_score=7, attempts=1)
    assert refusals(user, jury_plan) == ["rules_not_accepted"]


def test_the_rules_are_read_again_when_a_juror_votes(
    make_juror: Callable[..., User], jury_plan: Plan, appeal: Appeal
) -> None:
    user = make_juror()
    membership_exit(membership=Membership.objects.get(account=user), by=user, on=date(2025, 6, 6))
    with pytest.raises(JurorNotEligible):
        vote_cast(appeal=appeal, user=user, for_claimant=True, now=VOTE_AT)
    assert not appeal.votes.exists()
