"""Chinese first, English on every page: a switch on every page, and the pages follow it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from members.models import Membership, Plan, User

pytestmark = pytest.mark.django_db

SET_LANGUAGE = reverse("set_language")


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def _switch_to_english(client: Client) -> None:
    response = client.post(SET_LANGUAGE, {"language": "en", "next": reverse("members:household")})
    assert response.status_code == 302


def test_it_speaks_chinese_by_default(alice_client: Client) -> None:
    html = alice_client.get(reverse("members:household")).content.decode()
    assert "我的家庭" in html
    assert '<html lang="zh-Hans">' in html


def test_it_switches_to_english(alice_client: Client) -> None:
    _switch_to_english(alice_client)
    html = alice_client.get(reverse("members:household")).content.decode()
    assert "My household" in html
    assert "我的家庭" not in html


def test_it_asks_the_health_questions_in_english_after_the_switch(alice_client: Client, plan: Plan) -> None:
    _switch_to_english(alice_client)
    html = alice_client.get(reverse("members:join")).content.decode()
    question = plan.health_questions.first()
    assert question is not None
    assert question.text_en in html
    assert question.text_zh not in html


def test_it_shows_the_statuses_in_english_after_the_switch(
    alice_client: Client, enrol: Callable[..., Membership], alice: User
) -> None:
    enrol(account=alice)
    _switch_to_english(alice_client)
    assert "In waiting period" in alice_client.get(reverse("members:household")).content.decode()


def test_it_shows_service_errors_in_chinese_by_default(
    alice_client: Client, plan: Plan, enrol: Callable[..., Membership], alice: User
) -> None:
    payer = enrol(account=alice)
    data = {"name": "王芳", "id_number": payer.person.reveal_id_number(), "relationship": "parent"}
    data.update({f"health_{code}": "no" for code in plan.health_questions.values_list("code", flat=True)})
    assert "此人已经是本计划的成员" in alice_client.post(reverse("members:join"), data).content.decode()


@pytest.mark.parametrize("name", ["members:signup", "members:login"])
def test_it_offers_the_language_switch_before_login(client: Client, name: str) -> None:
    html = client.get(reverse(name)).content.decode()
    assert f'action="{SET_LANGUAGE}"' in html
    assert 'value="en"' in html


def test_it_offers_the_language_switch_on_every_members_page(
    alice_client: Client, enrol: Callable[..., Membership], alice: User
) -> None:
    payer = enrol(account=alice)
    pages = [reverse("members:household"), reverse("members:join"), reverse("members:exit", args=[payer.pk])]
    for page in pages:
        assert f'action="{SET_LANGUAGE}"' in alice_client.get(page).content.decode(), page
