"""A family of three joins in headless Chromium on a 360-px-wide phone screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse

from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, Membership, MembershipStatus, Plan
from tests.e2e.conftest import join, open_page, screenshot, scrolls_sideways

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_it_signs_up_enrols_a_family_of_three_and_shows_them_all(
    live_server: Any, plan: Plan, make_id: Callable[..., str], browser: Browser
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    page = open_page(browser, base)
    payer_id = make_id(date(1988, 3, 14), serial=21)
    spouse_id = make_id(date(1989, 7, 2), serial=22, male=False)
    child_id = make_id(date(2016, 10, 1), serial=23)
    # The payer's bureau record, so that joining lands in the waiting period rather than in review.
    CreditRecord.objects.create(
        id_number_hash=hash_id_number(payer_id), id_number_masked=mask_id_number(payer_id), score=700
    )

    page.goto(base + reverse("members:signup"))
    page.fill("input[name=phone]", "13912345678")
    page.fill("input[name=password1]", "sturdy-pass-4821")
    page.fill("input[name=password2]", "sturdy-pass-4821")
    page.click("main form button[type=submit]")
    page.wait_for_url(base + reverse("members:join"))

    join(page, base, name="李建国", id_number=payer_id)
    join(page, base, name="张丽", id_number=spouse_id, relationship="spouse")
    join(page, base, name="李小宝", id_number=child_id, relationship="child")

    cards = page.locator("article.member")
    expect(cards).to_have_count(3)
    for name in ("李建国", "张丽", "李小宝"):
        expect(cards.filter(has_text=name)).to_contain_text("等待期中")
    html = page.content()
    for number in (payer_id, spouse_id, child_id):
        assert mask_id_number(number) in html
        assert number not in html
    assert not scrolls_sideways(page)
    screenshot(page, "enrol_family")

    assert Membership.objects.filter(status=MembershipStatus.WAITING).count() == 3
