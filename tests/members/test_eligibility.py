"""Eligibility on the day of joining: age, credit and the health declaration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from django.utils import translation

from members.errors import AgeOutOfRange, CreditCheckFailed, DomainError, HealthDeclarationFailed
from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, CreditSource, Membership, MembershipStatus, Plan
from members.services import eligibility_check_age, membership_enrol

JOIN_DAY = date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """Messages are matched in English; the site's default language is Chinese."""
    with translation.override("en"):
        yield


@pytest.fixture
def join(plan: Plan, no_answers: dict[str, bool], make_id: Callable[..., str]) -> Callable[..., Membership]:
    """Enrol a payer with a known ID number, no attested score unless given."""

    def _join(id_number: str | None = None, *, answers: dict[str, bool] | None = None, **extra: Any) -> Membership:
        return membership_enrol(
            plan=plan,
            name="李四",
            id_number=id_number or make_id(date(1990, 5, 17)),
            health_answers=no_answers if answers is None else answers,
            on=JOIN_DAY,
            **extra,
        )

    return _join


def bureau_record(id_number: str, *, score: int, dishonest_debtor: bool = False) -> CreditRecord:
    return CreditRecord.objects.create(
        id_number_hash=hash_id_number(id_number),
        id_number_masked=mask_id_number(id_number),
        score=score,
        dishonest_debtor=dishonest_debtor,
    )


# --- age -------------------------------------------------------------------------------------------


def test_it_enrols_a_baby_of_30_days(enrol: Callable[..., Membership]) -> None:
    membership = enrol(birth_date=date(2026, 1, 1), on=date(2026, 1, 31))
    assert membership.status == MembershipStatus.WAITING


def test_it_refuses_a_baby_of_29_days(enrol: Callable[..., Membership]) -> None:
    with pytest.raises(AgeOutOfRange) as caught:
        enrol(birth_date=date(2026, 1, 1), on=date(2026, 1, 30))
    assert caught.value.code == "age_out_of_range"


def test_it_enrols_someone_the_day_before_their_60th_birthday(enrol: Callable[..., Membership]) -> None:
    membership = enrol(birth_date=date(1966, 6, 15), on=date(2026, 6, 14))
    assert membership.status == MembershipStatus.WAITING


def test_it_refuses_someone_on_their_60th_birthday(enrol: Callable[..., Membership]) -> None:
    with pytest.raises(AgeOutOfRange):
        enrol(birth_date=date(1966, 6, 15), on=date(2026, 6, 15))


def test_it_refuses_someone_older_than_60(enrol: Callable[..., Membership]) -> None:
    with pytest.raises(AgeOutOfRange):
        enrol(birth_date=date(1950, 1, 1), on=JOIN_DAY)


def test_it_enrols_a_29_february_baby_30_days_later(enrol: Callable[..., Membership]) -> None:
    assert enrol(birth_date=date(2024, 2, 29), on=date(2024, 3, 30)).status == MembershipStatus.WAITING


def test_it_refuses_a_29_february_baby_29_days_later(enrol: Callable[..., Membership]) -> None:
    with pytest.raises(AgeOutOfRange):
        enrol(birth_date=date(2024, 2, 29), on=date(2024, 3, 29))


def test_it_refuses_a_29_february_person_on_29_february_of_their_60th_year(enrol: Callable[..., Membership]) -> None:
    assert enrol(birth_date=date(1964, 2, 29), on=date(2024, 2, 28)).status == MembershipStatus.WAITING
    with pytest.raises(AgeOutOfRange):
        enrol(birth_date=date(1964, 2, 29), on=date(2024, 2, 29))


def test_it_counts_1_march_as_the_birthday_of_29_february_in_a_common_year(plan: Plan) -> None:
    plan.max_entry_age_years, plan.age_out_years = 58, 59  # the 59th birthday falls in 2023
    eligibility_check_age(plan=plan, birth_date=date(1964, 2, 29), on=date(2023, 2, 28))
    with pytest.raises(AgeOutOfRange):
        eligibility_check_age(plan=plan, birth_date=date(1964, 2, 29), on=date(2023, 3, 1))


def test_it_reads_the_age_limits_from_the_plan(plan: Plan) -> None:
    plan.min_age_days = 60
    with pytest.raises(AgeOutOfRange):
        eligibility_check_age(plan=plan, birth_date=date(2026, 1, 1), on=date(2026, 2, 15))


# --- credit ----------------------------------------------------------------------------------------


def test_it_accepts_an_attested_score_at_the_minimum(join: Callable[..., Membership]) -> None:
    membership = join(attested_score=650)
    assert (membership.status, membership.credit_source, membership.credit_score) == (
        MembershipStatus.WAITING,
        CreditSource.ATTESTED,
        650,
    )


def test_it_refuses_an_attested_score_below_the_minimum(join: Callable[..., Membership]) -> None:
    with pytest.raises(CreditCheckFailed) as caught:
        join(attested_score=649)
    assert caught.value.code == "credit_check_failed"


def test_it_accepts_a_bureau_record_at_the_minimum(
    join: Callable[..., Membership], make_id: Callable[..., str]
) -> None:
    number = make_id(date(1990, 5, 17))
    bureau_record(number, score=650)
    membership = join(number)
    assert (membership.status, membership.credit_source, membership.credit_score) == (
        MembershipStatus.WAITING,
        CreditSource.RECORD,
        650,
    )


def test_it_refuses_a_bureau_record_below_the_minimum(
    join: Callable[..., Membership], make_id: Callable[..., str]
) -> None:
    number = make_id(date(1990, 5, 17))
    bureau_record(number, score=649)
    with pytest.raises(CreditCheckFailed):
        join(number)


def test_it_refuses_a_dishonest_debtor_even_with_a_high_score(
    join: Callable[..., Membership], make_id: Callable[..., str]
) -> None:
    number = make_id(date(1990, 5, 17))
    bureau_record(number, score=800, dishonest_debtor=True)
    with pytest.raises(CreditCheckFailed):
        join(number)


def test_it_refuses_a_dishonest_debtor_even_with_an_attested_score(
    join: Callable[..., Membership], make_id: Callable[..., str]
) -> None:
    number = make_id(date(1990, 5, 17))
    bureau_record(number, score=800, dishonest_debtor=True)
    with pytest.raises(CreditCheckFailed):
        join(number, attested_score=800)


def test_it_finds_the_record_of_a_number_typed_with_a_lower_case_x(
    join: Callable[..., Membership], make_id: Callable[..., str]
) -> None:
    number = next(n for n in (make_id(date(1990, 5, 17), serial=s) for s in range(100)) if n.endswith("X"))
    bureau_record(number, score=700)
    assert join(number.lower()).credit_source == CreditSource.RECORD


def test_it_sends_a_person_without_a_record_to_review(join: Callable[..., Membership]) -> None:
    membership = join()
    assert (membership.status, membership.status_reason) == (MembershipStatus.PENDING_REVIEW, "no_credit_record")


def test_it_lets_dependants_ride_on_the_payers_credit(enrol: Callable[..., Membership]) -> None:
    payer = enrol(on=JOIN_DAY)
    child = enrol(birth_date=date(2020, 3, 3), payer=payer, relationship="child", on=JOIN_DAY)
    assert (child.status, child.credit_source, child.credit_score) == (
        MembershipStatus.WAITING,
        CreditSource.PAYER,
        None,
    )


def test_it_does_not_check_a_dependants_own_record(
    enrol: Callable[..., Membership], plan: Plan, no_answers: dict[str, bool], make_id: Callable[..., str]
) -> None:
    payer = enrol(on=JOIN_DAY)
    number = make_id(date(1991, 1, 1), serial=77)
    bureau_record(number, score=100)
    spouse = membership_enrol(
        plan=plan,
        name="王五",
        id_number=number,
        health_answers=no_answers,
        relationship="spouse",
        payer=payer,
        on=JOIN_DAY,
    )
    assert spouse.status == MembershipStatus.WAITING


# --- health declaration ----------------------------------------------------------------------------


def test_it_needs_every_question_answered(join: Callable[..., Membership], no_answers: dict[str, bool]) -> None:
    answers = dict(no_answers)
    missing = answers.popitem()[0]
    with pytest.raises(DomainError) as caught:
        join(answers=answers, attested_score=700)
    assert caught.value.field == "health_declaration"
    assert missing in str(caught.value.message)


def test_it_treats_an_answer_that_is_not_yes_or_no_as_missing(
    join: Callable[..., Membership], no_answers: dict[str, bool]
) -> None:
    answers: dict[str, Any] = {**no_answers, "H1": None}
    with pytest.raises(DomainError) as caught:
        join(answers=answers, attested_score=700)
    assert caught.value.field == "health_declaration"


def test_it_refuses_anyone_who_answers_yes(join: Callable[..., Membership], no_answers: dict[str, bool]) -> None:
    with pytest.raises(HealthDeclarationFailed) as caught:
        join(answers={**no_answers, "H3": True}, attested_score=700)
    assert caught.value.code == "health_declaration_failed"


def test_it_refuses_an_answer_to_a_question_the_plan_does_not_ask(
    join: Callable[..., Membership], no_answers: dict[str, bool]
) -> None:
    with pytest.raises(DomainError) as caught:
        join(answers={**no_answers, "H99": False}, attested_score=700)
    assert caught.value.field == "health_declaration"
    assert "H99" in str(caught.value.message)


def test_it_keeps_the_declaration_on_the_membership(
    join: Callable[..., Membership], no_answers: dict[str, bool]
) -> None:
    membership = join(attested_score=700)
    membership.refresh_from_db()
    assert membership.health_declaration == no_answers
    assert len(no_answers) == 6
