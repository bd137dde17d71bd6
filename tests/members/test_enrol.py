"""Enrolment: one live membership per person and plan, rejoining, families and the payer's duties."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from django.utils import translation

from members.errors import (
    AgeOutOfRange,
    AlreadyEnrolled,
    DomainError,
    HasDependants,
    HealthDeclarationFailed,
    InvalidIdNumber,
    InvalidTransition,
    PlanClosed,
    RejoiningNotAllowed,
)
from members.models import Membership, MembershipStatus, Plan, Relationship, User
from members.services import (
    membership_change_status,
    membership_end_for_waiting_period_illness,
    membership_enrol,
    membership_exit,
)

JOIN_DAY = date(2026, 6, 1)
PAYER_BIRTH = date(1990, 5, 17)


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """Messages are matched in English; the site's default language is Chinese."""
    with translation.override("en"):
        yield


@pytest.fixture
def number(make_id: Callable[..., str]) -> str:
    return make_id(PAYER_BIRTH, serial=11)


@pytest.fixture
def join(plan: Plan, no_answers: dict[str, bool]) -> Callable[..., Membership]:
    """Enrol a given ID number (a payer with a good attested score unless told otherwise)."""

    def _join(id_number: str, *, name: str = "张三", on: date = JOIN_DAY, **extra: Any) -> Membership:
        if extra.get("payer") is None:
            extra.setdefault("attested_score", 700)
        return membership_enrol(plan=plan, name=name, id_number=id_number, health_answers=no_answers, on=on, **extra)

    return _join


@pytest.fixture
def payer(enrol: Callable[..., Membership], alice: User) -> Membership:
    """Alice's own membership: she pays for her household."""
    return enrol(account=alice, on=JOIN_DAY)


def add(enrol: Callable[..., Membership], payer: Membership, relationship: str, birth: date) -> Membership:
    return enrol(birth_date=birth, payer=payer, relationship=relationship, on=JOIN_DAY)


# --- the enrolment itself --------------------------------------------------------------------------


def test_it_ends_the_waiting_period_90_days_after_the_day_of_joining(
    join: Callable[..., Membership], number: str
) -> None:
    membership = join(number)
    # 90 days counted from the day after joining: 2 June to 30 August inclusive.
    assert (membership.joined_on, membership.waiting_period_ends) == (JOIN_DAY, date(2026, 8, 30))


def test_it_derives_birth_date_sex_and_mask_from_the_id_number(join: Callable[..., Membership], number: str) -> None:
    person = join(number).person
    assert (person.birth_date, person.sex, person.id_number_masked) == (
        PAYER_BIRTH,
        "M",
        f"{number[:6]}********{number[-4:]}",
    )


def test_it_refuses_an_invalid_id_number_on_the_id_number_field(join: Callable[..., Membership]) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        join("110105199005170000")
    assert caught.value.field == "id_number"


def test_it_needs_a_name(join: Callable[..., Membership], number: str) -> None:
    with pytest.raises(DomainError) as caught:
        join(number, name="  ")
    assert caught.value.field == "name"


def test_it_refuses_a_name_longer_than_the_column(join: Callable[..., Membership], number: str) -> None:
    with pytest.raises(DomainError) as caught:
        join(number, name="张" * 51)
    assert caught.value.field == "name"


def test_it_refuses_an_external_reference_longer_than_the_column(join: Callable[..., Membership], number: str) -> None:
    with pytest.raises(DomainError) as caught:
        join(number, external_ref="r" * 65)
    assert caught.value.field == "external_ref"


def test_it_refuses_an_unknown_relationship(payer: Membership, join: Callable[..., Membership], number: str) -> None:
    with pytest.raises(DomainError) as caught:
        join(number, payer=payer, relationship="cousin")
    assert caught.value.field == "relationship"


def test_it_refuses_a_plan_closed_for_joining(plan: Plan, join: Callable[..., Membership], number: str) -> None:
    plan.is_active = False
    plan.save()
    with pytest.raises(PlanClosed):
        join(number)


def test_it_logs_only_the_masked_number(
    join: Callable[..., Membership], number: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="members.services"):
        join(number)
    assert number[:6] + "********" + number[-4:] in caplog.text
    assert number not in caplog.text


# --- one live membership per person and plan -------------------------------------------------------


def test_it_refuses_a_second_enrolment_of_a_live_member(join: Callable[..., Membership], number: str) -> None:
    join(number)
    with pytest.raises(AlreadyEnrolled) as caught:
        join(number)
    assert caught.value.code == "already_enrolled"
    assert Membership.objects.count() == 1


def test_it_refuses_a_second_enrolment_while_the_first_is_pending_review(
    join: Callable[..., Membership], number: str
) -> None:
    join(number, attested_score=None)
    with pytest.raises(AlreadyEnrolled):
        join(number)


def test_it_refuses_to_add_a_live_member_as_someone_elses_dependant(
    payer: Membership, join: Callable[..., Membership], number: str
) -> None:
    join(number)
    with pytest.raises(AlreadyEnrolled):
        join(number, payer=payer, relationship=Relationship.SPOUSE)


def test_it_lets_an_exited_member_rejoin(join: Callable[..., Membership], number: str) -> None:
    first = join(number)
    membership_exit(membership=first, by=None, on=date(2026, 7, 1))
    second = join(number, on=date(2026, 9, 1))
    assert second.pk != first.pk
    assert second.status == MembershipStatus.WAITING


def test_it_starts_a_new_waiting_period_on_rejoining(join: Callable[..., Membership], number: str) -> None:
    first = join(number)
    membership_exit(membership=first, by=None, on=date(2026, 7, 1))
    second = join(number, on=date(2026, 9, 1))
    assert (second.joined_on, second.waiting_period_ends) == (date(2026, 9, 1), date(2026, 11, 30))


def test_it_keeps_one_person_for_both_memberships_when_rejoining(join: Callable[..., Membership], number: str) -> None:
    first = join(number)
    membership_exit(membership=first, by=None, on=date(2026, 7, 1))
    assert join(number, on=date(2026, 9, 1)).person_id == first.person_id


def test_it_refuses_a_second_household_behind_one_login(
    payer: Membership, alice: User, join: Callable[..., Membership], number: str
) -> None:
    with pytest.raises(DomainError) as caught:
        join(number, account=alice)
    assert caught.value.field == "relationship"


# --- families --------------------------------------------------------------------------------------


def test_it_enrols_a_whole_family_under_one_payer(enrol: Callable[..., Membership], payer: Membership) -> None:
    spouse = add(enrol, payer, Relationship.SPOUSE, date(1991, 2, 2))
    child = add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    parent = add(enrol, payer, Relationship.PARENT, date(1968, 4, 4))
    assert {m.pk for m in payer.dependants.all()} == {spouse.pk, child.pk, parent.pk}


def test_it_makes_the_payer_the_payer_of_every_dependant(enrol: Callable[..., Membership], payer: Membership) -> None:
    child = add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    child.refresh_from_db()
    assert (child.payer_id, child.relationship, child.is_payer, payer.is_payer) == (
        payer.pk,
        Relationship.CHILD,
        False,
        True,
    )


def test_it_gives_the_login_to_the_payer_not_to_dependants(
    enrol: Callable[..., Membership], payer: Membership, alice: User
) -> None:
    child = add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    assert (payer.account_id, child.account_id) == (alice.pk, None)


def test_it_keeps_each_dependants_own_declaration(
    plan: Plan, payer: Membership, make_id: Callable[..., str], no_answers: dict[str, bool]
) -> None:
    child = membership_enrol(
        plan=plan,
        name="小明",
        id_number=make_id(date(2018, 3, 3), serial=40),
        health_answers=no_answers,
        relationship=Relationship.CHILD,
        payer=payer,
        on=JOIN_DAY,
    )
    assert child.health_declaration == no_answers


def test_it_checks_each_dependants_own_declaration(
    plan: Plan, payer: Membership, make_id: Callable[..., str], no_answers: dict[str, bool]
) -> None:
    with pytest.raises(HealthDeclarationFailed):
        membership_enrol(
            plan=plan,
            name="小明",
            id_number=make_id(date(2018, 3, 3), serial=40),
            health_answers={**no_answers, "H4": True},
            relationship=Relationship.CHILD,
            payer=payer,
            on=JOIN_DAY,
        )


def test_it_checks_each_dependants_age(enrol: Callable[..., Membership], payer: Membership) -> None:
    with pytest.raises(AgeOutOfRange):
        add(enrol, payer, Relationship.PARENT, date(1960, 1, 1))


def test_it_refuses_a_second_live_spouse(enrol: Callable[..., Membership], payer: Membership) -> None:
    add(enrol, payer, Relationship.SPOUSE, date(1991, 2, 2))
    with pytest.raises(DomainError) as caught:
        add(enrol, payer, Relationship.SPOUSE, date(1992, 2, 2))
    assert caught.value.field == "relationship"


def test_it_accepts_a_new_spouse_after_the_first_has_exited(
    enrol: Callable[..., Membership], payer: Membership
) -> None:
    first = add(enrol, payer, Relationship.SPOUSE, date(1991, 2, 2))
    membership_exit(membership=first, by=None, on=JOIN_DAY)
    assert add(enrol, payer, Relationship.SPOUSE, date(1992, 2, 2)).payer_id == payer.pk


def test_it_accepts_several_children(enrol: Callable[..., Membership], payer: Membership) -> None:
    add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    add(enrol, payer, Relationship.CHILD, date(2020, 3, 3))
    assert payer.dependants.count() == 2


def test_it_needs_a_payer_for_a_family_member(enrol: Callable[..., Membership]) -> None:
    with pytest.raises(DomainError) as caught:
        enrol(relationship=Relationship.CHILD, on=JOIN_DAY)
    assert caught.value.field == "relationship"


def test_it_refuses_a_payer_for_someone_joining_as_self(enrol: Callable[..., Membership], payer: Membership) -> None:
    with pytest.raises(DomainError) as caught:
        enrol(payer=payer, relationship=Relationship.SELF, on=JOIN_DAY)
    assert caught.value.field == "relationship"


def test_it_refuses_a_dependant_as_the_payer_of_others(enrol: Callable[..., Membership], payer: Membership) -> None:
    spouse = add(enrol, payer, Relationship.SPOUSE, date(1991, 2, 2))
    with pytest.raises(DomainError) as caught:
        add(enrol, spouse, Relationship.CHILD, date(2018, 3, 3))
    assert caught.value.field == "payer"


def test_it_refuses_dependants_for_a_payer_pending_review(enrol: Callable[..., Membership]) -> None:
    pending = enrol(attested_score=None, on=JOIN_DAY)
    assert pending.status == MembershipStatus.PENDING_REVIEW
    with pytest.raises(DomainError) as caught:
        add(enrol, pending, Relationship.CHILD, date(2018, 3, 3))
    assert caught.value.field == "payer"


def test_it_refuses_dependants_for_a_payer_who_has_exited(enrol: Callable[..., Membership], payer: Membership) -> None:
    membership_exit(membership=payer, by=None, on=JOIN_DAY)
    with pytest.raises(DomainError) as caught:
        add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    assert caught.value.field == "payer"


def test_it_reads_the_payers_status_afresh_not_from_a_stale_copy(
    enrol: Callable[..., Membership], payer: Membership
) -> None:
    Membership.objects.filter(pk=payer.pk).update(status=MembershipStatus.EXITED)
    assert payer.status == MembershipStatus.WAITING  # the caller's copy is stale
    with pytest.raises(DomainError):
        add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    assert payer.dependants.count() == 0


def test_it_refuses_a_payer_from_another_plan(
    enrol: Callable[..., Membership], payer: Membership, make_id: Callable[..., str], no_answers: dict[str, bool]
) -> None:
    other = Plan.objects.create(code="other", name="Other plan")
    with pytest.raises(DomainError) as caught:
        membership_enrol(
            plan=other,
            name="小明",
            id_number=make_id(date(2018, 3, 3)),
            health_answers={},
            relationship=Relationship.CHILD,
            payer=payer,
            on=JOIN_DAY,
        )
    assert caught.value.field == "payer"


# --- a payer leaves last ---------------------------------------------------------------------------


def test_it_refuses_the_exit_of_a_payer_with_dependants(enrol: Callable[..., Membership], payer: Membership) -> None:
    add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    with pytest.raises(HasDependants) as caught:
        membership_exit(membership=payer, by=None, on=JOIN_DAY)
    assert caught.value.code == "has_dependants"
    payer.refresh_from_db()
    assert payer.status == MembershipStatus.WAITING


def test_it_lets_the_payer_exit_once_the_dependants_have_exited(
    enrol: Callable[..., Membership], payer: Membership
) -> None:
    child = add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    membership_exit(membership=child, by=None, on=JOIN_DAY)
    exited = membership_exit(membership=payer, by=None, on=JOIN_DAY)
    assert (exited.status, exited.status_reason, exited.ended_on) == (MembershipStatus.EXITED, "voluntary", JOIN_DAY)


def test_it_refuses_an_administrators_exit_of_a_payer_with_dependants(
    enrol: Callable[..., Membership], payer: Membership, admin_user: User
) -> None:
    add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    with pytest.raises(HasDependants):
        membership_change_status(
            membership=payer, status=MembershipStatus.REMOVED, reason="fraud", by=admin_user, on=JOIN_DAY
        )


def test_it_refuses_to_exit_a_membership_twice(payer: Membership) -> None:
    membership_exit(membership=payer, by=None, on=JOIN_DAY)
    with pytest.raises(InvalidTransition):
        membership_exit(membership=payer, by=None, on=JOIN_DAY)


def test_it_records_who_exited_in_the_history(payer: Membership, alice: User) -> None:
    membership_exit(membership=payer, by=alice, on=JOIN_DAY)
    last = payer.history.latest()  # type: ignore[attr-defined]
    assert (last.status, last.history_user_id, last.history_change_reason) == (
        MembershipStatus.EXITED,
        alice.pk,
        "exit",
    )


# --- memberships that close the plan to a person ---------------------------------------------------


def test_it_ends_a_membership_for_an_illness_in_the_waiting_period(
    join: Callable[..., Membership], number: str, admin_user: User
) -> None:
    ended = membership_end_for_waiting_period_illness(membership=join(number), by=admin_user, on=date(2026, 7, 1))
    assert (ended.status, ended.status_reason, ended.ended_on) == (
        MembershipStatus.EXITED,
        "waiting_period_illness",
        date(2026, 7, 1),
    )


def test_it_ends_a_payers_membership_for_such_an_illness_even_with_dependants(
    enrol: Callable[..., Membership], payer: Membership
) -> None:
    child = add(enrol, payer, Relationship.CHILD, date(2018, 3, 3))
    membership_end_for_waiting_period_illness(membership=payer, by=None, on=date(2026, 7, 1))
    child.refresh_from_db()
    assert child.status == MembershipStatus.WAITING


def test_it_bars_rejoining_after_an_illness_in_the_waiting_period(join: Callable[..., Membership], number: str) -> None:
    membership_end_for_waiting_period_illness(membership=join(number), by=None, on=date(2026, 7, 1))
    with pytest.raises(RejoiningNotAllowed) as caught:
        join(number, on=date(2026, 9, 1))
    assert caught.value.code == "rejoining_not_allowed"


def test_it_bars_rejoining_even_when_the_member_had_already_exited(
    join: Callable[..., Membership], number: str
) -> None:
    first = join(number)
    membership_exit(membership=first, by=None, on=date(2026, 6, 20))
    ended = membership_end_for_waiting_period_illness(membership=first, by=None, on=date(2026, 7, 1))
    assert (ended.status, ended.ended_on) == (MembershipStatus.EXITED, date(2026, 6, 20))
    with pytest.raises(RejoiningNotAllowed):
        join(number, on=date(2026, 9, 1))


def test_it_bars_rejoining_after_a_payout(join: Callable[..., Membership], number: str) -> None:
    first = join(number)
    Membership.objects.filter(pk=first.pk).update(status=MembershipStatus.PAID_OUT)
    with pytest.raises(RejoiningNotAllowed):
        join(number, on=date(2026, 9, 1))
