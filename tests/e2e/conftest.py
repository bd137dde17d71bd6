"""Browser fixtures: one headless Chromium a test, driven by Playwright, and the helpers the paths share.

Each page opens in a browser context of its own (own cookies, own session), so one test can be a member
on a phone and an administrator on a desktop at once. Screenshots go under the test output
(SCREENSHOT_DIR, default test-output/screenshots/).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.urls import reverse

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
)
PHONE: ViewportSize = {"width": 360, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture
def browser(live_server: Any, transactional_db: None, chromium_executable: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's ORM calls on a connection of their
            # own; close it here, or PostgreSQL cannot drop the test database at the end of the session.
            connections.close_all()


def open_page(
    browser: Browser, base: str, *, viewport: ViewportSize = PHONE, english: bool = False, **options: Any
) -> Page:
    """A page in a browser context of its own, in Chinese as a phone in China asks for it, or in English
    (the language cookie, so the texts a test matches are the source texts)."""
    context = browser.new_context(viewport=viewport, locale="en-US" if english else "zh-CN", **options)
    context.set_default_timeout(15_000)
    if english:
        context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": base}])
    return context.new_page()


def scrolls_sideways(page: Page) -> bool:
    """Wider than the screen: the page would scroll sideways, which a page for phones must never do."""
    width: int = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    return width > viewport["width"]


def screenshot(page: Page, name: str) -> None:
    """Save the whole page as SCREENSHOTS/<name>.png (`name` may name a folder: "en/household")."""
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def join(page: Page, base: str, *, name: str, id_number: str, relationship: str | None = None) -> None:
    """Join the plan on the join page, answering “no” to every health question, and land on the household."""
    page.goto(base + reverse("members:join"))
    if relationship is not None:
        page.check(f"input[name=relationship][value={relationship}]")
    page.fill("input[name=name]", name)
    page.fill("input[name=id_number]", id_number)
    for answer in page.locator("input[type=radio][value=no]").all():
        answer.check()
    page.click("main form button[type=submit]")
    page.wait_for_url(base + reverse("members:household"))
