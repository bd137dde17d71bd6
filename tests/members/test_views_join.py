"""Joining in the browser: for yourself, then family members, each with the health declaration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, Membership, MembershipStatus, Plan, User

pytestmark = pytest.mark.django_db

URL = reverse("members:join")
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
    return enrol(name="王芳", account=alice)


@pytest.fixture
def join_data(plan: Plan, make_id: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """The form as a careful person fills it in: a valid ID, “no” to every health question."""

    def _data(**overrides: str) -> dict[str, str]:
        data = {"name": "王芳", "id_number": make_id(date(1990, 5, 17), serial=41), "relationship": "self"}
        data.update({f"health_{code}": "no" for code in plan.health_questions.values_list("code", flat=True)})
        data.update(overrides)
        return data

    return _data


def _with_credit_record(number: str, *, score: int = 700) -> str:
    CreditRecord.objects.create(
        id_number_hash=hash_id_number(number), id_number_masked=mask_id_number(number), score=score
    )
    return number


def _errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200
    return dict(response.context["form"].errors)


# --- the page ----------------------------------------------------------------------------------


def test_it_requires_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("members:login"))


def test_it_asks_every_health_question_of_the_plan(alice_client: Client, plan: Plan) -> None:
    html = alice_client.get(URL).content.decode()
    for question in plan.health_questions.all():
        assert question.text_zh in html


def test_it_offers_only_joining_for_yourself_to_an_account_without_membership(alice_client: Client, plan: Plan) -> None:
    form = alice_client.get(URL).context["form"]
    assert form.for_self
    assert [value for value, _label in form.fields["relationship"].choices] == ["self"]


def test_it_offers_only_family_relationships_once_the_account_has_joined(
    alice_client: Client, alice_payer: Membership
) -> None:
    form = alice_client.get(URL).context["form"]
    assert [value for value, _label in form.fields["relationship"].choices] == ["spouse", "child", "parent"]


def test_it_answers_503_with_an_explanation_when_no_plan_is_open(alice_client: Client) -> None:
    response = alice_client.get(URL, headers={"accept-language": "en"})
    assert response.status_code == 503
    assert b"The plan is not open for joining right now." in response.content


# --- joining -----------------------------------------------------------------------------------


def test_it_enrols_a_self_joiner_with_a_good_credit_record_in_the_waiting_period(
    alice_client: Client, alice: User, join_data: Callable[..., dict[str, str]], make_id: Callable[..., str]
) -> None:
    number = _with_credit_record(make_id(date(1990, 5, 17), serial=41))
    response = alice_client.post(URL, join_data(id_number=number))
    assert response.status_code == 302
    assert response["Location"] == reverse("members:household")
    membership = Membership.objects.get(account=alice)
    assert membership.status == MembershipStatus.WAITING
    assert membership.relationship == "self"
    assert membership.person.phone == alice.phone


def test_it_puts_a_self_joiner_without_a_credit_record_in_pending_review(
    alice_client: Client, alice: User, join_data: Callable[..., dict[str, str]]
) -> None:
    alice_client.post(URL, join_data())
    assert Membership.objects.get(account=alice).status == MembershipStatus.PENDING_REVIEW


def test_it_adds_a_spouse_to_the_accounts_household(
    alice_client: Client, alice_payer: Membership, join_data: Callable[..., dict[str, str]]
) -> None:
    response = alice_client.post(URL, join_data(name="李强", relationship="spouse"))
    assert response.status_code == 302
    spouse = Membership.objects.get(person__name="李强")
    assert spouse.payer == alice_payer
    assert spouse.status == MembershipStatus.WAITING


def test_it_keeps_the_raw_id_number_out_of_the_page_after_joining(
    alice_client: Client, alice_payer: Membership, join_data: Callable[..., dict[str, str]]
) -> None:
    data = join_data(name="李强", relationship="spouse")
    response = alice_client.post(URL, data, follow=True)
    html = response.content.decode()
    assert "李强" in html
    assert mask_id_number(data["id_number"]) in html
    assert data["id_number"] not in html


def test_it_does_not_write_the_id_number_back_into_the_form_on_error(
    alice_client: Client, join_data: Callable[..., dict[str, str]]
) -> None:
    data = join_data(name="")
    response = alice_client.post(URL, data)
    assert "name" in _errors(response)
    assert data["id_number"] not in response.content.decode()


# --- bad input gives a field error -------------------------------------------------------------


def test_it_gives_a_field_error_for_a_missing_name(
    alice_client: Client, join_data: Callable[..., dict[str, str]]
) -> None:
    assert "name" in _errors(alice_client.post(URL, join_data(name=" ")))


@pytest.mark.parametrize("number", ["11010519900517413", "110105199005174130", "110105199002304137", "abc"])
def test_it_gives_a_field_error_for_a_bad_id_number(
    alice_client: Client, join_data: Callable[..., dict[str, str]], number: str
) -> None:
    assert "id_number" in _errors(alice_client.post(URL, join_data(id_number=number)))
    assert not Membership.objects.exists()


def test_it_gives_a_field_error_for_a_child_too_young_to_join(
    alice_client: Client, alice_payer: Membership, join_data: Callable[..., dict[str, str]], make_id: Callable[..., str]
) -> None:
    baby = make_id(TODAY - timedelta(days=29), serial=42)
    errors = _errors(alice_client.post(URL, join_data(name="李小宝", relationship="child", id_number=baby)))
    assert "id_number" in errors


def test_it_gives_a_field_error_for_a_parent_too_old_to_join(
    alice_client: Client, alice_payer: Membership, join_data: Callable[..., dict[str, str]], make_id: Callable[..., str]
) -> None:
    sixty_today = make_id(date(1966, 11, 30), serial=43)
    errors = _errors(alice_client.post(URL, join_data(name="王建国", relationship="parent", id_number=sixty_today)))
    assert "id_number" in errors


def test_it_gives_a_field_error_on_the_question_answered_yes(
    alice_client: Client, join_data: Callable[..., dict[str, str]]
) -> None:
    errors = _errors(alice_client.post(URL, join_data(health_H3="yes")))
    assert list(errors) == ["health_H3"]
    assert not Membership.objects.exists()


def test_it_gives_a_field_error_for_an_unanswered_question(
    alice_client: Client, join_data: Callable[..., dict[str, str]]
) -> None:
    data = join_data()
    del data["health_H5"]
    assert list(_errors(alice_client.post(URL, data))) == ["health_H5"]


def test_it_gives_a_field_error_for_an_answer_that_is_not_yes_or_no(
    alice_client: Client, join_data: Callable[..., dict[str, str]]
) -> None:
    assert "health_H1" in _errors(alice_client.post(URL, join_data(health_H1="maybe")))


def test_it_gives_a_field_error_for_someone_already_in_the_plan(
    alice_client: Client, alice_payer: Membership, join_data: Callable[..., dict[str, str]]
) -> None:
    own_number = alice_payer.person.reveal_id_number()
    errors = _errors(alice_client.post(URL, join_data(relationship="parent", id_number=own_number)))
    assert "id_number" in errors
    assert alice_payer.person.memberships.count() == 1


def test_it_gives_a_field_error_for_a_second_spouse(
    alice_client: Client,
    alice_payer: Membership,
    enrol: Callable[..., Membership],
    join_data: Callable[..., dict[str, str]],
) -> None:
    enrol(payer=alice_payer, relationship="spouse")
    assert "relationship" in _errors(alice_client.post(URL, join_data(name="李强", relationship="spouse")))


def test_it_gives_a_field_error_for_joining_yourself_twice(
    alice_client: Client, alice_payer: Membership, join_data: Callable[..., dict[str, str]]
) -> None:
    assert "relationship" in _errors(alice_client.post(URL, join_data(relationship="self")))


def test_it_refuses_family_members_while_the_payer_awaits_credit_review(
    alice_client: Client, alice: User, enrol: Callable[..., Membership], join_data: Callable[..., dict[str, str]]
) -> None:
    enrol(account=alice, attested_score=None)
    response = alice_client.post(URL, join_data(name="李强", relationship="spouse"))
    assert response.context["form"].non_field_errors()
    assert not Membership.objects.filter(person__name="李强").exists()


def test_it_refuses_a_self_joiner_whose_credit_score_is_too_low(
    alice_client: Client, join_data: Callable[..., dict[str, str]], make_id: Callable[..., str]
) -> None:
    number = _with_credit_record(make_id(date(1990, 5, 17), serial=44), score=500)
    response = alice_client.post(URL, join_data(id_number=number))
    assert response.context["form"].non_field_errors()
    assert not Membership.objects.exists()
