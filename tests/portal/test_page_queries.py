"""Every member page reads a fixed number of queries: the same ceiling for a household of one with one
charge as for a household of five with a year of charges, claims and a period in notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim
from claims.services import claim_file
from members.models import Membership, Plan, User
from tests.portal.conftest import JOINED, in_notice, settled, travel

pytestmark = pytest.mark.django_db

# The most queries each page may take, measured (session, user and the header's plan name included): the
# same for both households, so none of them grows with the members, charges, periods or claims.
CEILINGS = {
    "household": 13,
    "charges": 17,
    "join": 6,
    "exit": 6,
    "claims": 4,
    "new_claim": 7,
    "claim": 9,
}


def _household(plan: Plan, enrol: Callable[..., Membership], alice: User, *, size: int, periods: int) -> Membership:
    payer = enrol(name="王芳", account=alice, on=JOINED)
    family = [("spouse", date(1989, 3, 1)), ("child", date(2015, 1, 1)), ("child", date(2017, 1, 1))]
    family += [("parent", date(1970, 1, 1))]
    for relationship, born in family[: size - 1]:
        enrol(name="家人", payer=payer, relationship=relationship, on=JOINED, birth_date=born)
    for n in range(periods):
        settled(plan, notice_date=date(2025, 1, 21) + timedelta(days=14 * n), payouts=[30_000_000] * (n + 1))
    for member in Membership.objects.filter(pk=payer.pk) | payer.dependants.all():
        claim_file(
            member=member,
            by=alice,
            kind="accident",
            condition=plan.conditions.order_by("code").first(),  # type: ignore[arg-type]
            diagnosed_on=date(2025, 6, 1),
            hospital="北京协和医院",
            description="—",
        )
    return payer


def _urls(payer: Membership) -> dict[str, str]:
    claim = Claim.objects.filter(member=payer).get()
    return {
        "household": reverse("members:household"),
        "charges": reverse("portal:charges"),
        "join": reverse("members:join"),
        "exit": reverse("members:exit", args=[payer.pk]),
        "claims": reverse("claims:list"),
        "new_claim": reverse("claims:new"),
        "claim": reverse("claims:detail", args=[claim.pk]),
    }


@pytest.mark.parametrize(("size", "periods"), [(1, 1), (5, 8)])
@pytest.mark.parametrize("page", sorted(CEILINGS))
def test_a_member_page_stays_under_its_query_ceiling(
    alice_client: Client,
    plan: Plan,
    enrol: Callable[..., Membership],
    alice: User,
    django_assert_max_num_queries: Any,
    page: str,
    size: int,
    periods: int,
) -> None:
    payer = _household(plan, enrol, alice, size=size, periods=periods)
    url = _urls(payer)[page]
    with travel(date(2025, 6, 22)):
        in_notice(plan, notice_date=date(2025, 6, 21), payouts=[30_000_000] * periods)
        alice_client.get(url)  # the expected sharers of the period in notice are counted once, then kept
        with django_assert_max_num_queries(CEILINGS[page]):
            assert alice_client.get(url).status_code == 200


@pytest.mark.parametrize("name", ["members:signup", "members:login"])
def test_the_pages_before_login_stay_under_four_queries(
    client: Client, plan: Plan, django_assert_max_num_queries: Any, name: str
) -> None:
    with django_assert_max_num_queries(4):
        assert client.get(reverse(name)).status_code == 200
