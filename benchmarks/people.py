"""People to enrol through the API: valid, distinct resident ID numbers and the enrolment bodies around them.

Needs neither Django nor locust, so the load generator (locustfile.py) and the tests both import it.
Number n of a run maps one-to-one to (region, birth date, serial): no two numbers of a run are the same,
and a run that starts at a random offset (`PersonSource.random`) is very unlikely to meet an earlier one
in the same database, which would be refused as `already_enrolled`.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

# ISO 7064 MOD 11-2, as resident ID numbers use it: weights of the 17 digits, and the check characters.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# Districts of Beijing, Shanghai and Tianjin whose codes stood unchanged for every birth date generated, so
# that a check of the code against the date (as some validators do) accepts every number.
REGIONS = ("110105", "110108", "110102", "310104", "310101", "310110", "120101", "120103")
# Ages from 1 to 58 years on the day of the run: inside the plan's entry ages (30 days to 59 years) even
# if the run crosses midnight, and everyone is enrolled straight into the waiting period.
YOUNGEST_DAYS = 366
AGE_SPAN_DAYS = 57 * 365
SERIALS = 1000
SPACE = len(REGIONS) * AGE_SPAN_DAYS * SERIALS
# Above the plan's minimum credit score: an attested score skips the bureau and the review.
CREDIT_SCORE = 720
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def check_character(body: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are `body`."""
    return ID_CHECK[sum(int(digit) * weight for digit, weight in zip(body, ID_WEIGHTS, strict=True)) % 11]


def id_number(n: int, *, today: date) -> str:
    """The n-th ID number of the space (0 ≤ n < SPACE), for someone 1 to 58 years old on `today`."""
    if not 0 <= n < SPACE:
        raise ValueError(f"n must be in [0, {SPACE}), not {n}")
    rest, serial = divmod(n, SERIALS)
    region, day = divmod(rest, AGE_SPAN_DAYS)
    born = today - timedelta(days=YOUNGEST_DAYS + day)
    body = f"{REGIONS[region]}{born:%Y%m%d}{serial:03d}"
    return body + check_character(body)


def person_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]


def phone_number(n: int) -> str:
    """A mainland mobile number (11 digits, 13x–19x)."""
    return f"1{3 + n % 7}{n % 1_000_000_000:09d}"


def enrolment(n: int, *, today: date, questions: Sequence[str], ref_prefix: str = "bench") -> dict[str, Any]:
    """An enrolment body of API.md that the plan accepts: every health question answered no, a good score."""
    return {
        "external_ref": f"{ref_prefix}-{n}",
        "name": person_name(n),
        "id_number": id_number(n, today=today),
        "phone": phone_number(n),
        "payer": None,
        "relationship": "self",
        "credit_score": CREDIT_SCORE,
        "health_declaration": dict.fromkeys(questions, False),
    }


@dataclass
class PersonSource:
    """Hands out the numbers n of a run, each once (one source per load-generator process)."""

    start: int = 0
    _counter: Iterator[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._counter = itertools.count(self.start)

    @classmethod
    def random(cls, *, room: int = 10_000_000) -> PersonSource:
        """A source starting at a random place that leaves `room` numbers before the end of the space."""
        return cls(start=random.randrange(SPACE - room))  # noqa: S311  (spreading, not secrecy)

    def next(self) -> int:
        n = next(self._counter)
        if n >= SPACE:
            raise RuntimeError("no ID numbers left in this run's space")
        return n

    def batch(
        self, size: int, *, today: date, questions: Sequence[str], ref_prefix: str = "bench"
    ) -> list[dict[str, Any]]:
        return [enrolment(self.next(), today=today, questions=questions, ref_prefix=ref_prefix) for _ in range(size)]
