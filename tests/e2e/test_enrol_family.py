"""A family of three joins in headless Chromium on a 360-px-wide phone screen."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse

from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, Membership, MembershipStatus, Plan

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture
def page(live_server: Any, transactional_db: None, chromium_executable: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            # ORM calls made while Playwright's event loop runs get their own connection: close it, or
            # PostgreSQL refuses to drop the test database at the end of the run.
            connections.close_all()
            browser.close()


def _join(page: Any, base: str, *, name: str, id_number: str, relationship: str | None = None) -> None:
    page.goto(base + reverse("members:join"))
    if relationship is not None:
        page.check(f"input[name=relationship][value={relationship}]")
    page.fill("input[name=name]", name)
    page.fill("input[name=id_number]", id_number)
    for answer in page.locator("input[type=radio][value=no]").all():
        answer.check()
    page.click("main form button[type=submit]")
    page.wait_for_url(base + reverse("members:household"))


def test_it_signs_up_enrols_a_family_of_three_and_shows_them_all(
    live_server: Any, transactional_db: None, plan: Plan, make_id: Callable[..., str], page: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
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

    _join(page, base, name="李建国", id_number=payer_id)
    _join(page, base, name="张丽", id_number=spouse_id, relationship="spouse")
    _join(page, base, name="李小宝", id_number=child_id, relationship="child")

    cards = page.locator("article.member")
    expect(cards).to_have_count(3)
    for name in ("李建国", "张丽", "李小宝"):
        expect(cards.filter(has_text=name)).to_contain_text("等待期中")
    html = page.content()
    for number in (payer_id, spouse_id, child_id):
        assert mask_id_number(number) in html
        assert number not in html
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "enrol_family.png"), full_page=True)

    assert Membership.objects.filter(status=MembershipStatus.WAITING).count() == 3
