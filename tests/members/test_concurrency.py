"""Races between two requests, each on its own database connection (PostgreSQL: real row locks)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any
from unittest import mock

import pytest

from members import services
from members.errors import AlreadyEnrolled, DomainError, HasDependants
from members.identity import hash_id_number
from members.models import Membership, MembershipStatus, Person, Plan, Relationship
from members.services import membership_enrol, membership_exit
from tests.concurrency import at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

JOIN_DAY = date(2026, 6, 1)


@pytest.fixture
def slow_person_step() -> Any:
    """Hold the first transaction open a moment after it reaches the person, so the race overlaps."""
    original = services.person_get_or_create

    def slow(**kwargs: Any) -> Person:
        person = original(**kwargs)
        time.sleep(0.2)
        return person

    with mock.patch.object(services, "person_get_or_create", slow):
        yield


def enrolment(plan: Plan, answers: dict[str, bool], number: str, **extra: Any) -> Callable[[], Membership]:
    def call() -> Membership:
        return membership_enrol(plan=plan, name="张三", id_number=number, health_answers=answers, on=JOIN_DAY, **extra)

    return call


def outcome(results: list[Any]) -> tuple[list[Membership], list[Exception]]:
    return (
        [r for r in results if isinstance(r, Membership)],
        [r for r in results if isinstance(r, Exception)],
    )


def test_it_enrols_a_person_once_when_two_requests_race(
    plan: Plan, no_answers: dict[str, bool], make_id: Callable[..., str], slow_person_step: None
) -> None:
    number = make_id(date(1990, 5, 17), serial=31)
    results = at_once(
        enrolment(plan, no_answers, number, attested_score=700),
        enrolment(plan, no_answers, number, attested_score=700),
    )
    created, errors = outcome(results)
    assert len(created) == 1
    assert [type(e) for e in errors] == [AlreadyEnrolled]
    assert (Person.objects.count(), Membership.objects.count()) == (1, 1)


def test_it_enrols_a_known_person_once_when_two_requests_race(
    plan: Plan, no_answers: dict[str, bool], make_id: Callable[..., str], slow_person_step: None
) -> None:
    number = make_id(date(1990, 5, 17), serial=32)
    first = enrolment(plan, no_answers, number, attested_score=700)()
    membership_exit(membership=first, by=None, on=JOIN_DAY)
    results = at_once(
        enrolment(plan, no_answers, number, attested_score=700),
        enrolment(plan, no_answers, number, attested_score=700),
    )
    created, errors = outcome(results)
    assert (len(created), [type(e) for e in errors]) == (1, [AlreadyEnrolled])
    assert Membership.objects.filter(status__in=[MembershipStatus.WAITING]).count() == 1


def test_it_adds_a_person_to_one_household_when_two_payers_race(
    plan: Plan,
    no_answers: dict[str, bool],
    make_id: Callable[..., str],
    enrol: Callable[..., Membership],
    slow_person_step: None,
) -> None:
    payer_a = enrol(birth_date=date(1980, 1, 1), on=JOIN_DAY)
    payer_b = enrol(birth_date=date(1981, 1, 1), on=JOIN_DAY)
    number = make_id(date(1970, 3, 3), serial=33)  # a parent both siblings try to add
    results = at_once(
        enrolment(plan, no_answers, number, payer=payer_a, relationship=Relationship.PARENT),
        enrolment(plan, no_answers, number, payer=payer_b, relationship=Relationship.PARENT),
    )
    created, errors = outcome(results)
    assert len(created) == 1
    assert [type(e) for e in errors] == [AlreadyEnrolled]
    assert Membership.objects.filter(person__id_number_hash=hash_id_number(number)).count() == 1


def test_it_adds_one_spouse_when_two_requests_race(
    plan: Plan,
    no_answers: dict[str, bool],
    make_id: Callable[..., str],
    enrol: Callable[..., Membership],
    slow_person_step: None,
) -> None:
    payer = enrol(on=JOIN_DAY)
    results = at_once(
        enrolment(plan, no_answers, make_id(date(1991, 1, 1), serial=34), payer=payer, relationship="spouse"),
        enrolment(plan, no_answers, make_id(date(1992, 2, 2), serial=35), payer=payer, relationship="spouse"),
    )
    created, errors = outcome(results)
    assert len(created) == 1
    assert len(errors) == 1 and isinstance(errors[0], DomainError) and errors[0].field == "relationship"
    assert payer.dependants.count() == 1


def test_it_never_leaves_a_dependant_behind_a_payer_who_exited_at_the_same_moment(
    plan: Plan,
    no_answers: dict[str, bool],
    make_id: Callable[..., str],
    enrol: Callable[..., Membership],
    slow_person_step: None,
) -> None:
    payer = enrol(on=JOIN_DAY)
    results = at_once(
        enrolment(plan, no_answers, make_id(date(2018, 3, 3), serial=36), payer=payer, relationship="child"),
        lambda: membership_exit(membership=payer, by=None, on=JOIN_DAY),
    )
    payer.refresh_from_db()
    live_children = payer.dependants.filter(status__in=[MembershipStatus.WAITING, MembershipStatus.ACTIVE])
    if payer.status == MembershipStatus.EXITED:
        assert not live_children.exists()
        assert isinstance(results[0], DomainError)
    else:
        assert live_children.count() == 1
        assert isinstance(results[1], HasDependants)
