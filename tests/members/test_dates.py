"""Calendar arithmetic behind the age rules: birthdays, 29 February, completed years."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from members.dates import add_years, age_in_years, latest_birth_date_for_age

births = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
years = st.integers(min_value=0, max_value=120)


def test_it_adds_years_to_an_ordinary_day() -> None:
    assert add_years(date(1990, 5, 17), 60) == date(2050, 5, 17)


def test_it_keeps_29_february_in_a_leap_year() -> None:
    assert add_years(date(2000, 2, 29), 4) == date(2004, 2, 29)


def test_it_moves_29_february_to_1_march_in_a_common_year() -> None:
    assert add_years(date(2000, 2, 29), 1) == date(2001, 3, 1)


def test_it_goes_back_in_years() -> None:
    assert add_years(date(2026, 11, 29), -60) == date(1966, 11, 29)


def test_it_counts_age_from_the_birthday_itself() -> None:
    assert age_in_years(date(1966, 11, 29), date(2026, 11, 29)) == 60


def test_it_counts_one_year_less_the_day_before_the_birthday() -> None:
    assert age_in_years(date(1966, 11, 29), date(2026, 11, 28)) == 59


def test_it_ages_a_29_february_baby_on_1_march_in_common_years() -> None:
    assert age_in_years(date(2000, 2, 29), date(2001, 2, 28)) == 0
    assert age_in_years(date(2000, 2, 29), date(2001, 3, 1)) == 1


def test_it_ages_a_29_february_baby_on_29_february_in_leap_years() -> None:
    assert age_in_years(date(2000, 2, 29), date(2004, 2, 28)) == 3
    assert age_in_years(date(2000, 2, 29), date(2004, 2, 29)) == 4


def test_it_gives_zero_on_the_day_of_birth() -> None:
    assert age_in_years(date(2026, 1, 1), date(2026, 1, 1)) == 0


@given(birth=births, n=years)
def test_it_is_exactly_n_years_old_n_years_later(birth: date, n: int) -> None:
    assert age_in_years(birth, add_years(birth, n)) == n


@given(birth=births, n=st.integers(min_value=1, max_value=120))
def test_it_is_one_year_younger_the_day_before(birth: date, n: int) -> None:
    assert age_in_years(birth, add_years(birth, n) - timedelta(days=1)) == n - 1


@given(birth=births, on=births, n=years)
def test_it_finds_the_latest_birth_date_for_an_age(birth: date, on: date, n: int) -> None:
    if birth > on or on.year - n < 1:
        return
    assert (birth <= latest_birth_date_for_age(on, n)) == (age_in_years(birth, on) >= n)


def test_it_does_not_count_1_march_as_a_birthday_on_29_february() -> None:
    # 2028-02-29 minus 65 years is in a common year: someone born on 1 March 1963 is still 64.
    assert latest_birth_date_for_age(date(2028, 2, 29), 65) == date(1963, 2, 28)
    assert age_in_years(date(1963, 3, 1), date(2028, 2, 29)) == 64
