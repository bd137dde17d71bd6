"""The public notice: anonymised cases as the plan published them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple
from datetime import date

import pytest
from django.utils import translation

from claims.models import Claim, Notice
from claims.selectors import PublicCase, mask_name, public_cases
from claims.services import notices_publish
from members.models import Membership, Plan
from members.services import membership_enrol
from tests.claims.conftest import JOIN_DAY, on_day

pytestmark = pytest.mark.django_db

NOTICE_DAY = date(2025, 6, 7)


def test_it_masks_a_two_character_name_after_the_family_name() -> None:
    assert mask_name("张三") == "张*"


def test_it_masks_a_four_character_name_after_the_first_character() -> None:
    assert mask_name("欧阳娜娜") == "欧***"


def test_it_masks_a_single_character_name_with_a_star() -> None:
    assert mask_name("张") == "张*"


def test_it_masks_an_empty_name_as_a_star() -> None:
    assert mask_name("  ") == "*"


@pytest.fixture
def publish(plan: Plan, approve: Callable[..., Claim]) -> Callable[[Claim], Notice]:
    def _publish(claim: Claim) -> Notice:
        approve(claim)
        with on_day(NOTICE_DAY, hour=0):
            notice = notices_publish(plan=plan, on=NOTICE_DAY)
        assert notice is not None
        return notice

    return _publish


@pytest.fixture
def case(claim: Claim, publish: Callable[[Claim], Notice]) -> PublicCase:
    """Alice (张三, a man born on 17 May 1990 with a Beijing ID), joined 10 January, diagnosed 2 June 2025."""
    publish(claim)
    (only,) = public_cases(language="zh-hans")
    return only


def test_a_public_case_never_shows_the_full_name(case: PublicCase) -> None:
    assert case.masked_name == "张*"
    assert not any("张三" in str(value) for value in astuple(case))


def test_a_public_case_shows_the_age_at_diagnosis(case: PublicCase) -> None:
    assert case.age == 35


def test_a_public_case_shows_the_days_from_joining_to_diagnosis(case: PublicCase) -> None:
    assert case.days_since_joining == (date(2025, 6, 2) - JOIN_DAY).days == 143


def test_a_public_case_shows_the_payout_sex_condition_and_notice(case: PublicCase, claim: Claim) -> None:
    assert (case.payout_fen, case.sex, case.condition_code, case.notice_date) == (
        30_000_000,
        "男",  # the case was read for language="zh-hans"
        claim.condition.code,
        NOTICE_DAY,
    )


def test_a_public_case_shows_the_province_of_the_id_number(case: PublicCase) -> None:
    assert case.province == "北京"


def test_the_province_follows_the_id_prefix_and_the_language(
    plan: Plan,
    no_answers: dict[str, bool],
    make_id: Callable[..., str],
    file_claim: Callable[..., Claim],
    publish: Callable[[Claim], Notice],
) -> None:
    cantonese = membership_enrol(
        plan=plan,
        name="陈大文",
        id_number=make_id(date(1980, 4, 4), serial=81, region="440106"),
        health_answers=no_answers,
        attested_score=700,
        on=JOIN_DAY,
    )
    publish(file_claim(cantonese))
    (only,) = public_cases(language="en")
    assert (only.province, only.masked_name) == ("Guangdong", "陈**")


def test_an_approved_claim_is_not_public_until_its_notice_day(
    claim: Claim, approve: Callable[..., Claim], member: Membership
) -> None:
    approve(claim)
    assert public_cases(language="zh-hans") == []


def test_a_public_case_shows_the_sex_in_the_language_asked_for(
    claim: Claim, publish: Callable[[Claim], Notice]
) -> None:
    publish(claim)
    with translation.override("zh-hans"):
        (english,) = public_cases(language="en")
    with translation.override("en"):
        (chinese,) = public_cases(language="zh-hans")
    assert (english.sex, chinese.sex) == ("male", "男")
