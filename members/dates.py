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
