"""A member's main paths on a 360 × 740 phone screen, in Chinese and in English, in headless Chromium:
sign up → join with the family → the household → its charges → claims → exit, with a screenshot of each
main page under the test output (SCREENSHOT_DIR, default test-output/screenshots/<language>/<page>.png).

Joining happens in the browser; the household's history (joined months ago, two settled periods, one
payment, a period in notice today) is then written with the services, so the money pages have something
to show. Texts are matched where the page's language does not matter (names, amounts, dates, links).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse
from django.utils import timezone

from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, Membership, MembershipStatus, Plan
from settlement.models import Charge, Period
from settlement.selectors import grace_last_day
from settlement.services import payment_record
from tests.e2e.conftest import DESKTOP, join, open_page, screenshot, scrolls_sideways
from tests.settlement.conftest import period_with_claims, settle_now

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# The settlement's tasks run in this process (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("tasks_in_process")]

PASSWORD = "sturdy-pass-4821"
PAYOUT_FEN = 30_000_000  # 300,000 yuan: with a few sharers, each pays the 0.10-yuan cap per claim


@pytest.fixture
def phone(live_server: Any, browser: Browser) -> Page:
    """A phone asking for Chinese, at the pixel density of a real one (sharper screenshots)."""
    return open_page(browser, live_server.url, device_scale_factor=2)


def _shot(page: Page, language: str, name: str) -> None:
    """Save the page, and check it fits the screen's width (no sideways scrolling) and is in the language chosen."""
    assert not scrolls_sideways(page), name
    assert page.get_attribute("html", "lang") == ("en" if language == "en" else "zh-Hans"), name
    screenshot(page, f"{language}/{name}")


def _nav(page: Page, url_name: str, base: str) -> None:
    """One tap on the main menu."""
    url = reverse(url_name)
    page.click(f"nav.nav a[href='{url}']")
    page.wait_for_url(base + url)


def _history(plan: Plan, household: list[Membership]) -> tuple[Period, Period, Period]:
    """Months in the plan: the payer and spouse joined 200 days ago (covered), the child 40 days ago (still
    waiting); two periods settled, the first paid, and the period in notice since yesterday."""
    today = timezone.localdate()
    payer, spouse, child = household
    for member, days in ((payer, 200), (spouse, 200), (child, 40)):
        joined = today - timedelta(days=days)
        Membership.objects.filter(pk=member.pk).update(
            joined_on=joined,
            waiting_period_ends=joined + timedelta(days=plan.waiting_period_days),
            status=MembershipStatus.ACTIVE if days > plan.waiting_period_days else MembershipStatus.WAITING,
        )
    notice = today - timedelta(days=50)
    first = settle_now(period_with_claims(plan, payouts=[PAYOUT_FEN] * 2, notice_date=notice))
    payment_record(payer=payer, amount_fen=_charged(first), reference=f"paid-{first.pk}", by=None)
    second = settle_now(
        period_with_claims(
            plan, payouts=[PAYOUT_FEN, PAYOUT_FEN, 10_000_000, 25_000_000], notice_date=today - timedelta(days=21)
        )
    )
    upcoming = period_with_claims(
        plan, payouts=[PAYOUT_FEN], notice_date=today - timedelta(days=1), charge_date=today + timedelta(days=6)
    )
    return first, second, upcoming


def _charged(period: Period) -> int:
    return sum(Charge.objects.filter(period=period).values_list("amount_fen", flat=True))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_family_signs_up_reads_its_household_and_charges_files_a_claim_and_one_of_them_leaves(
    live_server: Any, transactional_db: None, plan: Plan, make_id: Callable[..., str], phone: Page, language: str
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    people = [
        ("李建国", make_id(date(1988, 3, 14), serial=31), None),
        ("张丽", make_id(date(1989, 7, 2), serial=32, male=False), "spouse"),
        ("李小宝", make_id(date(2016, 10, 1), serial=33), "child"),
    ]
    CreditRecord.objects.create(
        id_number_hash=hash_id_number(people[0][1]), id_number_masked=mask_id_number(people[0][1]), score=700
    )

    # Sign up, choosing the language on the first page; the choice sticks from then on.
    phone.goto(base + reverse("members:signup"))
    if language == "en":
        phone.click("form.lang button[value=en]")
        phone.wait_for_url(base + reverse("members:signup"))
    _shot(phone, language, "signup")
    phone.fill("input[name=phone]", "13912345678" if language == "en" else "13912345679")
    phone.fill("input[name=password1]", PASSWORD)
    phone.fill("input[name=password2]", PASSWORD)
    phone.click("main form button[type=submit]")
    phone.wait_for_url(base + reverse("members:join"))
    _shot(phone, language, "join")
    for name, id_number, relationship in people:
        join(phone, base, name=name, id_number=id_number, relationship=relationship)
    household = list(Membership.objects.filter(person__name__in=[p[0] for p in people]).order_by("pk"))
    assert [m.status for m in household] == [MembershipStatus.WAITING] * 3

    _first, second, upcoming = _history(plan, household)

    # The household: each member with coverage, the child's countdown, the next charge, what is owed.
    phone.goto(base + reverse("members:household"))
    cards = phone.locator("article.member")
    expect(cards).to_have_count(3)
    expect(cards.filter(has_text="李小宝").locator(".countdown")).to_contain_text("51")  # 90 - 40 + 1 days
    expect(phone.locator(f"#upcoming-{upcoming.pk}")).to_contain_text(upcoming.charge_date.isoformat())
    owed = _charged(second)
    pay_by = grace_last_day(plan=plan, charge_date=second.charge_date).isoformat()
    expect(phone.locator("#main")).to_contain_text(f"{owed // 100}.{owed % 100:02d}")
    expect(phone.locator("#main")).to_contain_text(pay_by)
    _shot(phone, language, "household")

    # Charges: the period in notice first, then both settled periods with their claims, anonymised.
    _nav(phone, "portal:charges", base)
    expect(phone.locator(f"#upcoming-{upcoming.pk}")).to_be_visible()
    expect(phone.locator("main article.card")).to_have_count(2)
    # The claimants' names (成员<n>, tests/settlement/conftest.add_members) never appear; the page's own
    # Chinese text may say 成员 (“member”).
    expect(phone.locator("main")).not_to_contain_text(re.compile(r"成员\d"))
    _shot(phone, language, "charges")
    report = reverse("settlement:period", args=[second.pk])
    phone.click(f"article[aria-labelledby=period-{second.pk}] .card-actions a[href='{report}']")
    phone.wait_for_url(base + report)
    _shot(phone, language, "period_report")

    # Claims: the household has none yet; the form to file one.
    _nav(phone, "claims:list", base)
    _shot(phone, language, "claims")
    phone.click(f"main a.btn[href='{reverse('claims:new')}']")
    phone.wait_for_url(base + reverse("claims:new"))
    expect(phone.locator("select[name=member] option")).to_have_count(4)  # a blank choice and three people
    _shot(phone, language, "claim_new")

    # Exit in two taps from the household: the child's "exit" link, then the confirmation.
    _nav(phone, "members:household", base)
    child = household[2]
    exit_url = reverse("members:exit", args=[child.pk])
    phone.click(f"article.member a[href='{exit_url}']")
    phone.wait_for_url(base + exit_url)
    expect(phone.locator("main")).to_contain_text("90")  # the new waiting period on return
    _shot(phone, language, "exit")
    phone.click("main form button.danger")
    phone.wait_for_url(base + reverse("members:household"))
    expect(phone.locator("article.member")).to_have_count(2)
    child.refresh_from_db()
    assert child.status == MembershipStatus.EXITED
    _shot(phone, language, "household_after_exit")

    # The payer cannot leave before the spouse: the exit page says so and offers the spouse's link instead.
    payer_exit = reverse("members:exit", args=[household[0].pk])
    phone.click(f"article.member a[href='{payer_exit}']")
    phone.wait_for_url(base + payer_exit)
    expect(phone.locator("main form button.danger")).to_have_count(0)
    expect(phone.locator(f"main a[href='{reverse('members:exit', args=[household[1].pk])}']")).to_be_visible()
    assert re.search(r"[?&]", phone.url) is None

    # The same design on a desktop screen.
    phone.set_viewport_size(DESKTOP)
    for url_name in ("members:household", "portal:charges"):
        phone.goto(base + reverse(url_name))
        _shot(phone, language, f"{url_name.split(':')[1]}_desktop")
