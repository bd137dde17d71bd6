"""The household page: every member with status, masked ID, waiting-period end and today's coverage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Membership, User

pytestmark = pytest.mark.django_db

URL = reverse("members:household")
TODAY = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def _beijing_today() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 11, 30, 10, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        yield


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def alice_payer(enrol: Callable[..., Membership], alice: User) -> Membership:
    return enrol(name="王芳", account=alice, birth_date=date(1990, 5, 17))


def test_it_sends_visitors_who_are_not_logged_in_to_the_login_page(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('members:login')}?next={URL}"


def test_it_is_also_the_home_page(alice_client: Client) -> None:
    assert alice_client.get("/").status_code == 200


def test_it_invites_a_new_account_to_join_for_themself(alice_client: Client) -> None:
    response = alice_client.get(URL)
    assert reverse("members:join").encode() in response.content
    assert response.context["live_rows"] == []


def test_it_shows_every_member_of_the_household(
    alice_client: Client, alice_payer: Membership, enrol: Callable[..., Membership]
) -> None:
    enrol(name="李强", payer=alice_payer, relationship="spouse")
    enrol(name="李小宝", payer=alice_payer, relationship="child", birth_date=date(2018, 9, 9))
    html = alice_client.get(URL).content.decode()
    assert "王芳" in html
    assert "李强" in html
    assert "李小宝" in html


def test_it_shows_the_masked_id_number(alice_client: Client, alice_payer: Membership) -> None:
    html = alice_client.get(URL).content.decode()
    assert alice_payer.person.id_number_masked in html


def test_it_never_shows_the_raw_id_number(alice_client: Client, alice_payer: Membership) -> None:
    html = alice_client.get(URL).content.decode()
    assert alice_payer.person.reveal_id_number() not in html


def test_it_shows_the_end_of_the_waiting_period(alice_client: Client, alice_payer: Membership) -> None:
    html = alice_client.get(URL).content.decode()
    assert alice_payer.waiting_period_ends == date(2027, 2, 28)
    assert "2027-02-28" in html


def test_it_shows_todays_coverage_in_yuan_by_age(
    alice_client: Client, alice_payer: Membership, enrol: Callable[..., Membership]
) -> None:
    enrol(name="王建国", payer=alice_payer, relationship="parent", birth_date=date(1970, 1, 1))
    rows = {row.membership.person.name: row.coverage_yuan for row in alice_client.get(URL).context["live_rows"]}
    assert rows == {"王芳": "300,000", "王建国": "100,000"}


def test_it_says_only_accidents_are_covered_during_the_waiting_period(
    alice_client: Client, alice_payer: Membership
) -> None:
    html = alice_client.get(URL, headers={"accept-language": "en"}).content.decode()
    assert "Accidents only until the waiting period ends on 2027-02-28" in html


def test_it_explains_that_a_self_joiner_without_credit_record_awaits_review(
    alice_client: Client, enrol: Callable[..., Membership], alice: User
) -> None:
    enrol(account=alice, attested_score=None)
    html = alice_client.get(URL, headers={"accept-language": "en"}).content.decode()
    assert "Waiting for an administrator to review your credit" in html
    assert "not covered yet" in html


def test_it_lists_members_who_left_apart_from_those_in_the_plan(
    alice_client: Client, alice_payer: Membership, enrol: Callable[..., Membership]
) -> None:
    from members.services import membership_exit

    child = enrol(name="李小宝", payer=alice_payer, relationship="child", birth_date=date(2018, 9, 9))
    membership_exit(membership=child, by=None)
    context = alice_client.get(URL).context
    assert [row.membership for row in context["live_rows"]] == [alice_payer]
    assert [row.membership for row in context["ended_rows"]] == [child]


def test_it_does_not_show_another_households_members(
    alice_client: Client, alice_payer: Membership, enrol: Callable[..., Membership], charlie: User
) -> None:
    enrol(name="赵六", account=charlie)
    assert "赵六" not in alice_client.get(URL).content.decode()


def _household_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_its_query_count_does_not_grow_with_the_number_of_members(
    alice_client: Client, alice_payer: Membership, enrol: Callable[..., Membership]
) -> None:
    # A first visit fills the payout tiers each process keeps, so both counts below are warm.
    _household_queries(alice_client)
    one_member = _household_queries(alice_client)
    enrol(payer=alice_payer, relationship="spouse")
    for serial in range(3):
        enrol(payer=alice_payer, relationship="child", birth_date=date(2015 + serial, 1, 1))
    assert len(alice_client.get(URL).context["live_rows"]) == 5
    assert _household_queries(alice_client) == one_member
