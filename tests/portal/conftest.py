"""The member portal's fixtures: Alice's household of three, charged in settled periods, on a fixed day.

The household joins on 2 January 2025 through the enrolment service; other sharers are made in bulk.
Periods are settled in this process (tests/settlement/conftest.settle_now). "Today" is 20 June 2025,
Beijing time: after the 14 June charge day, within its grace (last day 26 June).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from members.models import Membership, Plan, User
from settlement.models import Period
from tests.settlement.conftest import period_with_claims, settle_now

BEIJING = ZoneInfo("Asia/Shanghai")
JOINED = date(2025, 1, 2)
TODAY = date(2025, 6, 20)
# A 300,000-yuan payout: with a handful of sharers, everyone pays the per-claim cap of 0.10 yuan.
PAYOUT_FEN = 30_000_000


@pytest.fixture(autouse=True)
def _tasks_in_process(tasks_in_process: None) -> None:
    """Settlement tasks run in the test's own process, even when REDIS_URL is set."""


def travel(day: date) -> time_machine.travel:
    return time_machine.travel(datetime(day.year, day.month, day.day, 10, tzinfo=BEIJING), tick=False)


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with travel(TODAY):
        yield


@dataclass(frozen=True)
class Home:
    payer: Membership
    spouse: Membership
    child: Membership

    @property
    def members(self) -> list[Membership]:
        return [self.payer, self.spouse, self.child]


@pytest.fixture
def home(enrol: Callable[..., Membership], alice: User) -> Home:
    payer = enrol(name="王芳", account=alice, on=JOINED, birth_date=date(1990, 5, 17))
    spouse = enrol(name="李强", payer=payer, relationship="spouse", on=JOINED, birth_date=date(1989, 3, 1))
    child = enrol(name="李小宝", payer=payer, relationship="child", on=JOINED, birth_date=date(2018, 9, 9))
    return Home(payer=payer, spouse=spouse, child=child)


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(alice)
    return client


def settled(plan: Plan, *, notice_date: date, payouts: list[int] | None = None) -> Period:
    """A period with claims of `payouts` fen (one 300,000-yuan claim by default), settled."""
    return settle_now(period_with_claims(plan, payouts=payouts or [PAYOUT_FEN], notice_date=notice_date))


def in_notice(plan: Plan, *, notice_date: date, payouts: list[int] | None = None) -> Period:
    """A period opened on its notice day: its claims published, nothing charged yet."""
    return period_with_claims(plan, payouts=payouts or [PAYOUT_FEN], notice_date=notice_date)
