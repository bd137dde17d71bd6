"""A rejected claimant appeals from the claim page, and a juror takes the test and votes, each on a phone.

Two browser contexts of one headless Chromium, 360 px wide, in English (the language cookie), so the
texts matched are the source texts. The vote then closes as the deadline job would close it, and the
juror reads the result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, ClaimStatus, CoveredCondition
from claims.services import claim_file, claim_reject, claim_start_investigation
from jury.models import Appeal, Juror, Vote
from jury.seeding import jury_seed_default
from jury.services import appeal_close
from members.models import Membership, Plan, User
from members.services import memberships_daily
from tests.e2e.conftest import open_page, screenshot, scrolls_sideways

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

CLAIMANT = ("13912345001", "claimant-pass-4821")
JUROR = ("13912345002", "juror-pass-5930")
STATEMENT = "The second hospital report shows the severe stage the plan's definition asks for."


def _log_in(page: Page, base: str, phone: str, password: str, next_url: str) -> None:
    page.goto(f"{base}{reverse('members:login')}?next={next_url}")
    page.fill("input[name=username]", phone)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(base + next_url)


@pytest.fixture
def rejected(plan: Plan, enrol: Callable[..., Membership], admin_user: User) -> Claim:
    """A payer of 200 days whose claim for an illness diagnosed 10 days ago was rejected just now."""
    jury_seed_default(plan=plan)
    plan.jury_quorum = 1
    plan.save(update_fields=["jury_quorum"])
    today = timezone.localdate()
    account = User.objects.create_user(username=CLAIMANT[0], phone=CLAIMANT[0], password=CLAIMANT[1])
    member = enrol(account=account, name="王建华", birth_date=date(1988, 3, 1), on=today - timedelta(days=200))
    memberships_daily(on=today)
    condition = plan.conditions.order_by("code").first()
    assert isinstance(condition, CoveredCondition)
    claim = claim_file(
        member=member,
        by=account,
        kind="illness",
        condition=condition,
        diagnosed_on=today - timedelta(days=10),
        hospital="北京协和医院",
        description="Found at a check-up.",
        on=today,
    )
    claim = claim_start_investigation(claim=claim, by=admin_user)
    return claim_reject(
        claim=claim, by=admin_user, reason="not_covered", note="The first report shows an early stage only."
    )


@pytest.fixture
def juror_account(plan: Plan, enrol: Callable[..., Membership]) -> User:
    account = User.objects.create_user(username=JUROR[0], phone=JUROR[0], password=JUROR[1])
    enrol(account=account, name="李秀英", birth_date=date(1980, 8, 8), on=timezone.localdate() - timedelta(days=100))
    return account


def test_a_claimant_appeals_and_a_juror_takes_the_test_and_votes_on_a_phone(
    live_server: Any, browser: Browser, plan: Plan, rejected: Claim, juror_account: User
) -> None:
    from playwright.sync_api import expect

    base = live_server.url

    # The claimant, on the claim page: the appeal form, a statement, sent.
    claimant = open_page(browser, base, english=True)
    claim_url = reverse("claims:detail", args=[rejected.pk])
    _log_in(claimant, base, *CLAIMANT, next_url=claim_url)
    claimant.fill("#appeal textarea[name=statement]", STATEMENT)
    claimant.click("#appeal button[type=submit]")
    claimant.wait_for_url(base + claim_url)
    expect(claimant.locator(".badge.appealed")).to_be_visible()
    expect(claimant.locator("#appeal")).to_contain_text("The jury is voting")
    appeal = Appeal.objects.get(claim=rejected)
    assert Claim.objects.get(pk=rejected.pk).status == ClaimStatus.APPEALED

    # The juror: the rules and the test, one answer wrong first (not passed), then all right.
    juror = open_page(browser, base, english=True)
    _log_in(juror, base, *JUROR, next_url=reverse("jury:home"))
    expect(juror.locator("#rules")).to_be_visible()
    questions = list(plan.juror_questions.all())
    for index, question in enumerate(questions):
        wrong = (question.answer + 1) % len(question.choices_en)
        juror.check(f"input[name=q_{question.code}][value='{wrong if index < 2 else question.answer}']")
    juror.check("input[name=accept_rules]")
    juror.click("#juror-test button[type=submit]")
    expect(juror.locator(".alert.error")).to_contain_text("Not passed this time")
    assert Juror.objects.get(user=juror_account).passed_at is None
    for question in questions:
        juror.check(f"input[name=q_{question.code}][value='{question.answer}']")
    juror.check("input[name=accept_rules]")
    juror.click("#juror-test button[type=submit]")
    expect(juror.locator(".alert.success")).to_contain_text(f"{len(questions)} of {len(questions)}")
    assert not scrolls_sideways(juror)

    # The open cases, the case (anonymised), the vote.
    juror.click(f"a[href='{reverse('jury:cases')}']")
    juror.click(f"a[href='{reverse('jury:case', args=[appeal.pk])}']")
    main = juror.locator("main")
    expect(main).to_contain_text(STATEMENT)
    expect(main).to_contain_text("The first report shows an early stage only.")
    expect(main).not_to_contain_text("王建华")
    expect(main).not_to_contain_text("北京协和医院")
    expect(juror.locator("#result")).to_have_count(0)
    juror.check("input[name=vote][value=for]")
    juror.click("#vote button[type=submit]")
    expect(juror.locator(".alert.success")).to_contain_text("your vote is recorded")
    expect(juror.locator("#vote")).to_contain_text("You voted for the claimant.")
    assert not scrolls_sideways(juror)
    vote = Vote.objects.get()
    assert (vote.appeal, vote.juror.user, vote.for_claimant) == (appeal, juror_account, True)

    # The deadline passes; the job closes the vote: quorum 1, one vote for, so the claim is approved.
    appeal_close(appeal_id=appeal.pk, now=appeal.deadline)
    juror.reload()
    expect(juror.locator("#result")).to_contain_text("1 for the claimant, 0 against.")
    claimant.reload()
    expect(claimant.locator(".badge.approved")).to_be_visible()
    expect(claimant.locator("ol.timeline")).to_contain_text("Approved on appeal")

    screenshot(juror, "jury_case_voted")
    screenshot(claimant, "jury_claim_approved_on_appeal")
