"""Exit: a confirmation page that says what exit means, then one POST; a payer leaves after the family."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from members.models import Membership, MembershipStatus, User

pytestmark = pytest.mark.django_db


def _url(membership: Membership) -> str:
    return reverse("members:exit", args=[membership.pk])


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def alice_payer(enrol: Callable[..., Membership], alice: User) -> Membership:
    return enrol(name="王芳", account=alice)


@pytest.fixture
def alice_child(enrol: Callable[..., Membership], alice_payer: Membership) -> Membership:
    return enrol(name="李小宝", payer=alice_payer, relationship="child", birth_date=date(2018, 9, 9))


@pytest.fixture
def charlie_payer(enrol: Callable[..., Membership], charlie: User) -> Membership:
    return enrol(name="赵六", account=charlie)


def test_it_requires_login(client: Client, alice_payer: Membership) -> None:
    response = client.get(_url(alice_payer))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("members:login"))


def test_it_explains_what_exit_means_before_asking_to_confirm(alice_client: Client, alice_child: Membership) -> None:
    response = alice_client.get(_url(alice_child), headers={"accept-language": "en"})
    html = response.content.decode()
    assert "Exit is free" in html
    assert "Shares already charged are not refunded" in html
    assert "a new 90-day waiting period starts" in html
    assert "Yes, exit the plan" in html


def test_it_does_not_exit_on_get(alice_client: Client, alice_child: Membership) -> None:
    alice_client.get(_url(alice_child))
    alice_child.refresh_from_db()
    assert alice_child.status == MembershipStatus.WAITING


def test_it_exits_a_family_member_on_confirmation(alice_client: Client, alice_child: Membership) -> None:
    response = alice_client.post(_url(alice_child))
    assert response.status_code == 302
    assert response["Location"] == reverse("members:household")
    alice_child.refresh_from_db()
    assert alice_child.status == MembershipStatus.EXITED


def test_it_exits_a_payer_without_family_members(alice_client: Client, alice_payer: Membership) -> None:
    alice_client.post(_url(alice_payer))
    alice_payer.refresh_from_db()
    assert alice_payer.status == MembershipStatus.EXITED


def test_it_refuses_to_exit_a_payer_who_still_pays_for_family_with_a_clear_message(
    alice_client: Client, alice_payer: Membership, alice_child: Membership
) -> None:
    response = alice_client.post(_url(alice_payer), headers={"accept-language": "en"})
    assert response.status_code == 200
    assert "exit them first, then exit yourself" in response.content.decode()
    alice_payer.refresh_from_db()
    assert alice_payer.status == MembershipStatus.WAITING


def test_it_lists_the_family_members_to_exit_first_instead_of_the_confirm_button(
    alice_client: Client, alice_payer: Membership, alice_child: Membership
) -> None:
    response = alice_client.get(_url(alice_payer), headers={"accept-language": "en"})
    html = response.content.decode()
    assert _url(alice_child) in html
    assert "Yes, exit the plan" not in html


def test_it_says_so_when_the_membership_has_already_ended(alice_client: Client, alice_child: Membership) -> None:
    alice_client.post(_url(alice_child))
    response = alice_client.post(_url(alice_child), headers={"accept-language": "en"})
    assert response.status_code == 200
    assert "This membership has already ended." in response.content.decode()


def test_it_answers_404_when_alice_opens_charlies_membership(
    alice_client: Client, alice_payer: Membership, charlie_payer: Membership
) -> None:
    assert alice_client.get(_url(charlie_payer)).status_code == 404


def test_it_answers_404_and_keeps_charlie_in_the_plan_when_alice_posts_his_exit(
    alice_client: Client, alice_payer: Membership, charlie_payer: Membership
) -> None:
    assert alice_client.post(_url(charlie_payer)).status_code == 404
    charlie_payer.refresh_from_db()
    assert charlie_payer.status == MembershipStatus.WAITING


def test_it_answers_404_for_a_membership_that_does_not_exist(alice_client: Client) -> None:
    assert alice_client.get(reverse("members:exit", args=[999_999])).status_code == 404
