"""Calendar arithmetic for ages and birthdays (Beijing dates)."""

from __future__ import annotations

from datetime import date


def add_years(day: date, years: int) -> date:
    """The same day `years` later (or earlier); 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def age_in_years(birth_date: date, on: date) -> int:
    """Completed years of age on `on` (a birthday counts from the day itself)."""
    years = on.year - birth_date.year
    if on < add_years(birth_date, years):
        years -= 1
    return years


def latest_birth_date_for_age(on: date, years: int) -> date:
    """The latest birth date of a person who is at least `years` old on `on`.

    `birth_date <= latest_birth_date_for_age(on, n)` is the same as `age_in_years(birth_date, on) >= n`,
    so the daily job can select a day's birthdays with an index on the birth date. It is not
    `add_years(on, -n)`: going back from 29 February to a common year must land on 28 February,
    since someone born on 1 March of that year is not yet `n` on 29 February.
    """
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return date(on.year - years, 2, 28)
