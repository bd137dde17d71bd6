"""The members list and member page in admin: filters, search, query count, the household, no raw ID."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Membership, MembershipStatus, User
from members.services import membership_change_status

CHANGELIST = reverse("admin:members_membership_changelist")
Enrol = Callable[..., Membership]


@pytest.fixture
def staff(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def listed(client: Client, **params: str) -> set[int]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return {m.pk for m in response.context["cl"].result_list}


def test_it_lists_members_with_their_masked_id_number(staff: Client, enrol: Enrol) -> None:
    member = enrol(name="王芳", external_ref="P-1")
    html = staff.get(CHANGELIST).content.decode()
    assert "王芳" in html
    assert member.person.id_number_masked in html
    assert "P-1" in html


def test_it_filters_by_status(staff: Client, enrol: Enrol, admin_user: User) -> None:
    waiting = enrol()
    exited = enrol()
    membership_change_status(membership=exited, status=MembershipStatus.EXITED, reason="moved", by=admin_user)
    assert listed(staff, status="waiting") == {waiting.pk}
    assert listed(staff, status="exited") == {exited.pk}


def test_it_filters_by_relationship(staff: Client, enrol: Enrol) -> None:
    payer = enrol()
    child = enrol(payer=payer, relationship="child", birth_date=date(2015, 3, 1))
    assert listed(staff, relationship="child") == {child.pk}
    assert listed(staff, relationship="self") == {payer.pk}


@time_machine.travel(datetime(2026, 6, 15, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False)
def test_it_filters_by_age_band_on_the_birthday_boundaries(staff: Client, enrol: Enrol) -> None:
    joined = date(2020, 1, 1)
    seventeen = enrol(birth_date=date(2008, 6, 16), on=joined)  # 18 tomorrow
    eighteen = enrol(birth_date=date(2008, 6, 15), on=joined)  # 18 today
    thirty_nine = enrol(birth_date=date(1986, 6, 16), on=joined)
    forty = enrol(birth_date=date(1986, 6, 15), on=joined)
    fifty_nine = enrol(birth_date=date(1966, 6, 16), on=joined)
    sixty = enrol(birth_date=date(1966, 6, 15), on=joined)
    assert listed(staff, age_band="0-17") == {seventeen.pk}
    assert listed(staff, age_band="18-39") == {eighteen.pk, thirty_nine.pk}
    assert listed(staff, age_band="40-59") == {forty.pk, fifty_nine.pk}
    assert listed(staff, age_band="60-") == {sixty.pk}


def test_it_filters_by_joined_date(staff: Client, enrol: Enrol) -> None:
    january = enrol(on=date(2026, 1, 10))
    march = enrol(on=date(2026, 3, 5))
    assert listed(staff, joined_on__year="2026", joined_on__month="1") == {january.pk}
    assert listed(staff, joined_on__gte="2026-03-01", joined_on__lt="2026-04-01") == {march.pk}


def test_it_searches_by_name(staff: Client, enrol: Enrol) -> None:
    li = enrol(name="李四")
    enrol(name="张三")
    assert listed(staff, q="李四") == {li.pk}


def test_it_searches_by_external_reference(staff: Client, enrol: Enrol) -> None:
    partner = enrol(external_ref="ALIPAY-77812")
    enrol(external_ref="WX-1")
    assert listed(staff, q="ALIPAY-77812") == {partner.pk}


def test_it_searches_by_the_last_four_characters_of_the_id_number(staff: Client, enrol: Enrol) -> None:
    members = [enrol() for _ in range(3)]
    target = members[1]
    tail = target.person.id_number_masked[-4:]
    assert listed(staff, q=tail) == {m.pk for m in members if m.person.id_number_masked.endswith(tail)}
    assert target.pk in listed(staff, q=tail.lower())


def test_it_keeps_the_list_filters_when_searching_by_id_digits(staff: Client, enrol: Enrol, admin_user: User) -> None:
    member = enrol()
    membership_change_status(membership=member, status=MembershipStatus.EXITED, reason="moved", by=admin_user)
    assert listed(staff, q=member.person.id_number_masked[-4:], status="waiting") == set()


def test_it_lists_members_in_a_constant_number_of_queries(staff: Client, enrol: Enrol) -> None:
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(CHANGELIST).status_code == 200
        return len(queries)

    payer = enrol()
    enrol(payer=payer, relationship="spouse", birth_date=date(1991, 2, 3))
    with_two = count_queries()
    for _ in range(5):
        household = enrol()
        enrol(payer=household, relationship="child", birth_date=date(2016, 4, 5))
    assert Membership.objects.count() == 12
    assert count_queries() == with_two


def test_it_never_shows_the_raw_id_number(staff: Client, enrol: Enrol, admin_user: User) -> None:
    member = enrol()
    membership_change_status(membership=member, status=MembershipStatus.EXITED, reason="moved", by=admin_user)
    raw = member.person.reveal_id_number()
    pages = [
        CHANGELIST,
        reverse("admin:members_membership_change", args=[member.pk]),
        reverse("admin:members_membership_history", args=[member.pk]),
        reverse("admin:members_membership_status", args=[member.pk]),
        reverse("admin:members_person_changelist"),
        reverse("admin:members_person_change", args=[member.person_id]),
        reverse("admin:members_person_history", args=[member.person_id]),
    ]
    for page in pages:
        response = staff.get(page)
        assert response.status_code == 200, page
        assert raw not in response.content.decode(), page


def test_it_shows_the_household_on_the_member_page(staff: Client, enrol: Enrol) -> None:
    payer = enrol(name="王芳")
    child = enrol(payer=payer, relationship="child", name="王小明", birth_date=date(2015, 3, 1))
    html = staff.get(reverse("admin:members_membership_change", args=[child.pk])).content.decode()
    assert reverse("admin:members_membership_change", args=[payer.pk]) in html
    assert "王小明" in html
    assert payer.person.id_number_masked in html


def test_it_links_to_the_status_form_from_the_member_page(staff: Client, enrol: Enrol) -> None:
    member = enrol()
    html = staff.get(reverse("admin:members_membership_change", args=[member.pk])).content.decode()
    assert reverse("admin:members_membership_status", args=[member.pk]) in html


def test_it_saves_the_external_reference_without_touching_the_status(staff: Client, enrol: Enrol) -> None:
    member = enrol()
    response = staff.post(
        reverse("admin:members_membership_change", args=[member.pk]),
        {"external_ref": "BROKER-9", "status": "active", "relationship": "child"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.external_ref == "BROKER-9"
    assert member.status == MembershipStatus.WAITING
    assert member.relationship == "self"


def test_it_has_no_add_or_delete_for_members(staff: Client, enrol: Enrol) -> None:
    member = enrol()
    assert staff.get(reverse("admin:members_membership_add")).status_code == 403
    assert staff.get(reverse("admin:members_membership_delete", args=[member.pk])).status_code == 403
    assert Membership.objects.filter(pk=member.pk).exists()


def test_it_refuses_to_revert_a_member_to_an_old_version(staff: Client, enrol: Enrol, admin_user: User) -> None:
    member = enrol()
    first = member.history.earliest()
    membership_change_status(membership=member, status=MembershipStatus.EXITED, reason="moved", by=admin_user)
    url = reverse("admin:members_membership_simple_history", args=[member.pk, first.history_id])
    assert staff.get(url).status_code == 200
    assert staff.post(url, {"external_ref": ""}).status_code == 403
    member.refresh_from_db()
    assert member.status == MembershipStatus.EXITED


def test_it_shows_admin_pages_in_chinese_by_default(client: Client, admin_user: User, enrol: Enrol) -> None:
    enrol()
    client.force_login(admin_user)
    html = client.get(CHANGELIST).content.decode()
    assert 'lang="zh-hans"' in html
