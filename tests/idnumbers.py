"""Valid resident ID numbers for tests, built with python-stdnum's own check-digit function."""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric


def make_id_number(birth_date: date, *, serial: int = 1, male: bool = True, region: str = "110105") -> str:
    """An 18-character ID for `birth_date`; the 17th digit is odd for men, even for women."""
    seq = f"{serial % 100:02d}{(1 if male else 2) if serial % 2 == 0 else (3 if male else 4)}"
    body = f"{region}{birth_date:%Y%m%d}{seq}"
    return body + ric.calc_check_digit(body + "0")  # the function ignores the last character
