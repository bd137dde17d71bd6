"""A claim from a phone to a decision: the member files it with a PDF, two administrators review it in
Django admin (one proposes the approval, a different one confirms it), and the member sees the outcome.

Three browser contexts of one headless Chromium: the member on a 360-px-wide phone screen, each
administrator on a desktop screen. All pages are in English (the language cookie), so the texts matched
are the source texts; what can be found by a form's action, a field's name or a value is found that way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, ClaimStatus, CoveredCondition
from members.models import Membership, MembershipStatus, Plan, User
from members.services import memberships_daily
from tests.e2e.conftest import DESKTOP, open_page, screenshot, scrolls_sideways

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser

MEMBER_PHONE = "13912340001"
MEMBER_PASSWORD = "sturdy-pass-7315"
REVIEWERS = (("reviewer-one", "first-review-pass-42"), ("reviewer-two", "second-review-pass-42"))
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
AGE_AT_DIAGNOSIS = 35
PAYOUT_UNDER_40 = "300,000.00"  # yuan, the plan's tier for ages 0 to 39 at diagnosis


def _diagnosis_day() -> date:
    """Ten days ago: long after the waiting period, well within the 180-day claim window."""
    return timezone.localdate() - timedelta(days=10)


def _admin_log_in(page: Page, base: str, *, username: str, password: str, next_url: str) -> None:
    page.goto(f"{base}{reverse('admin:login')}?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form#login-form [type=submit]")
    page.wait_for_url(base + next_url)


def _decision_button(page: Page, claim: Claim, action: str) -> Locator:
    """The submit button of the decision panel's form that posts `action` to the claim's transition URL."""
    transition_url = reverse("admin:claims_claim_transition", args=[claim.pk])
    form = page.locator(f"form[action^='{transition_url}']:has(input[name=action][value={action}])")
    return form.locator("button[type=submit]")


@pytest.fixture
def member(enrol: Callable[..., Membership]) -> Membership:
    """A payer 35 at the diagnosis, enrolled 200 days ago: the 90-day waiting period is over, the membership active."""
    today = timezone.localdate()
    diagnosis = _diagnosis_day()
    born = date(diagnosis.year - AGE_AT_DIAGNOSIS, diagnosis.month, 1)  # the birthday falls before the diagnosis
    account = User.objects.create_user(username=MEMBER_PHONE, phone=MEMBER_PHONE, password=MEMBER_PASSWORD)
    membership = enrol(account=account, name="王建华", birth_date=born, on=today - timedelta(days=200))
    memberships_daily(on=today)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE
    return membership


@pytest.fixture
def reviewers(db: Any) -> tuple[User, User]:
    first, second = (
        User.objects.create_superuser(username=name, password=password, email=f"{name}@example.com")
        for name, password in REVIEWERS
    )
    return first, second


def test_a_claim_filed_on_a_phone_is_approved_by_two_admins_and_the_member_sees_the_decision(
    live_server: Any,
    browser: Browser,
    plan: Plan,
    member: Membership,
    reviewers: tuple[User, User],
    settings: Any,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url
    condition = plan.conditions.order_by("code").first()
    assert isinstance(condition, CoveredCondition)
    diagnosed_on = _diagnosis_day()
    report = tmp_path / "diagnosis-report.pdf"
    report.write_bytes(PDF_BYTES)

    # The member, on a phone: log in on the way to the claim form, fill it in, attach the PDF.
    phone = open_page(browser, base, english=True)
    phone.goto(base + reverse("claims:new"))
    phone.wait_for_url(re.compile(re.escape(base + reverse("members:login")) + r"\?next="))
    phone.fill("input[name=username]", MEMBER_PHONE)
    phone.fill("input[name=password]", MEMBER_PASSWORD)
    phone.click("main form button[type=submit]")
    phone.wait_for_url(base + reverse("claims:new"))

    phone.select_option("select[name=member]", value=str(member.pk))
    phone.check("input[name=kind][value=illness]")
    phone.select_option("select[name=condition]", value=str(condition.pk))
    phone.fill("input[name=diagnosed_on]", diagnosed_on.isoformat())
    phone.fill("input[name=hospital]", "北京协和医院")
    phone.fill("textarea[name=description]", "Found at a check-up; the hospital's diagnosis report is attached.")
    phone.set_input_files("input[type=file][name=documents]", str(report))
    phone.click("main form button[type=submit]")
    phone.wait_for_url(re.compile(re.escape(base) + r"/claims/\d+/$"))

    claim = Claim.objects.get(member=member)
    assert phone.url == base + reverse("claims:detail", args=[claim.pk])
    assert claim.status == ClaimStatus.SUBMITTED
    document = claim.documents.get()
    assert (document.name, document.content_type, document.size) == (report.name, "application/pdf", len(PDF_BYTES))
    expect(phone.locator(".badge.submitted")).to_be_visible()
    expect(phone.locator(f"a[href='{reverse('claims:document', args=[document.pk])}']")).to_have_text(report.name)

    # The first administrator, on a desktop: starts the investigation, then proposes the approval.
    change_url = reverse("admin:claims_claim_change", args=[claim.pk])
    first_admin = open_page(browser, base, viewport=DESKTOP, english=True, accept_downloads=True)
    _admin_log_in(first_admin, base, username=REVIEWERS[0][0], password=REVIEWERS[0][1], next_url=change_url)
    with first_admin.expect_download() as download:
        first_admin.click(f"a[href='{reverse('admin:claims_claim_document', args=[claim.pk, document.pk])}']")
    assert Path(download.value.path()).read_bytes() == PDF_BYTES

    _decision_button(first_admin, claim, "start_investigation").click()
    expect(_decision_button(first_admin, claim, "approve")).to_be_enabled()
    expect(_decision_button(first_admin, claim, "start_investigation")).to_have_count(0)
    expect(first_admin.locator("#claim-decision")).to_contain_text(PAYOUT_UNDER_40)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.INVESTIGATING

    _decision_button(first_admin, claim, "approve").click()
    # Four eyes: the proposer's own confirm button is disabled, and the claim is still under investigation.
    expect(_decision_button(first_admin, claim, "approve")).to_be_disabled()
    claim.refresh_from_db()
    assert (claim.status, claim.approval_proposed_by, claim.payout_fen) == (
        ClaimStatus.INVESTIGATING,
        reviewers[0],
        None,
    )

    # A second, different administrator confirms the approval.
    second_admin = open_page(browser, base, viewport=DESKTOP, english=True)
    _admin_log_in(second_admin, base, username=REVIEWERS[1][0], password=REVIEWERS[1][1], next_url=change_url)
    confirm = _decision_button(second_admin, claim, "approve")
    expect(confirm).to_be_enabled()
    expect(confirm).to_contain_text(REVIEWERS[0][0])
    confirm.click()
    expect(second_admin.locator("ul.messagelist li.success")).to_contain_text(PAYOUT_UNDER_40)
    expect(_decision_button(second_admin, claim, "approve")).to_have_count(0)
    expect(second_admin.locator(".field-payout .readonly")).to_have_text(PAYOUT_UNDER_40)

    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    assert claim.payout_fen == 300_000 * 100
    assert claim.age_at_diagnosis == AGE_AT_DIAGNOSIS
    steps = list(claim.transitions.order_by("at", "pk").values_list("action", "by__username"))
    assert steps == [
        ("file", MEMBER_PHONE),
        ("start_investigation", REVIEWERS[0][0]),
        ("propose_approval", REVIEWERS[0][0]),
        ("approve", REVIEWERS[1][0]),
    ]

    # The member reloads the claim page: approved, the payout, and every step in the timeline.
    phone.reload()
    expect(phone.locator(".badge.approved")).to_be_visible()
    expect(phone.locator(".amount")).to_have_text(f"{PAYOUT_UNDER_40} yuan")
    expect(phone.locator("main")).to_contain_text(f"Fixed by the age at diagnosis: {AGE_AT_DIAGNOSIS} years.")
    timeline = phone.locator("ol.timeline li .what")
    expect(timeline).to_have_text(["Claim filed", "Investigation started", "Under review", "Approved"])
    # A decided claim takes no more documents and cannot be withdrawn from the member's page.
    expect(phone.locator("#documents form")).to_have_count(0)
    expect(phone.locator(f"a[href='{reverse('claims:withdraw', args=[claim.pk])}']")).to_have_count(0)
    assert not scrolls_sideways(phone)

    screenshot(phone, "claim_member_approved")
    screenshot(second_admin, "claim_admin_approved")
