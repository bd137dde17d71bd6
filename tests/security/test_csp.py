"""The Content-Security-Policy header: on every page, scripts from this site only, and the pages that exist
(member pages, the API docs, Django admin) still work under it in a real browser."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from members.models import User

if TYPE_CHECKING:
    from playwright.sync_api import Browser

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _policy(response: Any) -> dict[str, list[str]]:
    header: str = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", [reverse("members:login"), reverse("api-docs"), reverse("admin:login"), reverse("claims:notices")]
)
def test_every_page_forbids_inline_and_foreign_scripts(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_the_api_docs_load_their_script_from_this_site() -> None:
    page = Client().get(reverse("api-docs")).content.decode()
    assert "<script>" not in page
    script = re.search(r'<script src="([^"]*\?script=)"', page)
    assert script is not None
    response = Client().get(script.group(1))
    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.content.decode()


def test_no_template_has_an_inline_script_or_event_handler() -> None:
    """An inline script would be refused by the policy: scripts belong in static files."""
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template


# --- in a real browser ------------------------------------------------------------------------------------

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def browser(live_server: Any, transactional_db: None, chromium_executable: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


@pytest.mark.browser
def test_the_pages_work_under_the_policy_and_it_blocks_an_injected_script(browser: Browser, live_server: Any) -> None:
    from playwright.sync_api import Error as PlaywrightError

    admin = User.objects.create_superuser(username="admin", password="admin-pass-123", email="admin@example.com")
    page = browser.new_context(locale="en-US").new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )

    page.goto(live_server.url + reverse("members:login"))
    with pytest.raises(PlaywrightError, match="violates the following Content Security Policy directive"):
        page.add_script_tag(content="window.injected = true;")
    assert page.evaluate("window.injected === undefined")
    assert len(violations) == 1  # the injected script, and only it
    violations.clear()

    page.goto(live_server.url + reverse("api-docs"))
    page.wait_for_selector(".opblock-summary", timeout=30_000)  # Swagger UI drew the operations

    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin-pass-123")
    page.click("form#login-form [type=submit]")
    page.wait_for_selector("#site-name")
    page.goto(live_server.url + reverse("admin:members_person_changelist"))
    page.wait_for_selector("#changelist")
    page.goto(live_server.url + reverse("admin:members_user_change", args=[admin.pk]))
    page.wait_for_selector("#user_form")
    assert violations == []
