"""One design on every member page: the site's stylesheet and nothing inline (the Content-Security-Policy
can then refuse inline styles and scripts), a skip link, the page's language, a label on every input, and
text colours of at least 4.5:1 against their backgrounds."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from claims.services import claim_file
from members.models import Membership, Plan, User
from tests.portal.conftest import JOINED, settled

pytestmark = pytest.mark.django_db

STYLESHEET = "portal/site.css"


@pytest.fixture
def pages(plan: Plan, enrol: Callable[..., Membership], alice: User) -> list[str]:
    payer = enrol(name="王芳", account=alice, on=JOINED)
    settled(plan, notice_date=JOINED.replace(month=6, day=7))
    claim = claim_file(
        member=payer,
        by=alice,
        kind="accident",
        condition=plan.conditions.order_by("code").first(),  # type: ignore[arg-type]
        diagnosed_on=JOINED.replace(month=6, day=1),
        hospital="北京协和医院",
        description="—",
    )
    return [
        reverse("members:household"),
        reverse("portal:charges"),
        reverse("members:join"),
        reverse("members:exit", args=[payer.pk]),
        reverse("claims:list"),
        reverse("claims:new"),
        reverse("claims:detail", args=[claim.pk]),
        reverse("claims:withdraw", args=[claim.pk]),
        reverse("claims:notices"),
        reverse("settlement:periods"),
        reverse("settlement:rules"),
    ]


class _Page(HTMLParser):
    """What the checks need from a page: its inputs and labels, inline styles and scripts, links."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self.inline: list[str] = []
        self.stylesheets: list[str] = []
        self.ids: set[str] = set()
        self.html_lang: str | None = None
        self.first_link: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        if "style" in attributes or tag in ("style", "script"):
            self.inline.append(tag)
        if tag == "html":
            self.html_lang = attributes.get("lang")
        if tag == "a" and self.first_link is None:
            self.first_link = attributes.get("href")
        if tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(str(attributes.get("href")))
        if tag == "label" and attributes.get("for"):
            self.labelled.add(str(attributes["for"]))
        if tag in ("input", "select", "textarea") and attributes.get("type") not in ("hidden", "submit"):
            self.inputs.append(attributes)


def _parse(client: Client, url: str) -> _Page:
    response = client.get(url)
    assert response.status_code == 200, url
    page = _Page()
    page.feed(response.content.decode())
    return page


BEFORE_LOGIN = [reverse("members:signup"), reverse("members:login")]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_uses_the_one_stylesheet_and_nothing_inline(
    client: Client, alice: User, pages: list[str], language: str
) -> None:
    visitor = Client()
    for browser in (client, visitor):
        browser.post(reverse("set_language"), {"language": language, "next": "/"})
    client.force_login(alice)
    for browser, url in [*((client, url) for url in pages), *((visitor, url) for url in BEFORE_LOGIN)]:
        page = _parse(browser, url)
        # The site's stylesheet first; a page may add its own (the charts'), always as a static file.
        assert page.stylesheets[:1] == [f"/static/{STYLESHEET}"], url
        assert all(href.startswith("/static/") for href in page.stylesheets), url
        assert page.inline == [], url


def test_every_page_starts_with_a_skip_link_and_names_its_language(
    client: Client, alice: User, pages: list[str]
) -> None:
    client.force_login(alice)
    for url in pages:
        page = _parse(client, url)
        assert page.first_link == "#main" and "main" in page.ids, url
        assert page.html_lang == "zh-Hans", url
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert _parse(client, pages[0]).html_lang == "en"


def test_every_input_has_a_label(client: Client, alice: User, pages: list[str]) -> None:
    visitor = Client()
    client.force_login(alice)
    for browser, url in [*((client, url) for url in pages), *((visitor, url) for url in BEFORE_LOGIN)]:
        page = _parse(browser, url)
        unlabelled = [
            field.get("name")
            for field in page.inputs
            if field.get("id") not in page.labelled and not field.get("aria-label")
        ]
        assert unlabelled == [], url


def test_the_stylesheet_is_served_by_whitenoise(client: Client, settings: Any) -> None:
    assert finders.find(STYLESHEET) is not None
    settings.WHITENOISE_USE_FINDERS = True  # production serves the collected copy (collectstatic)
    response = Client().get(f"/static/{STYLESHEET}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


# --- contrast ---------------------------------------------------------------------------------------------

HEADER_BLUE = "#0b5cad"
PAGE_BACKGROUNDS = ("#ffffff", "#f2f4f7")  # cards and the page itself
RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
COLOR = re.compile(r"(?<![-\w])color:(#[0-9a-fA-F]{3,6})")
BACKGROUND = re.compile(r"(?<![-\w])background(?:-color)?:(#[0-9a-fA-F]{3,6})")


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _pairs() -> list[tuple[str, str, str]]:
    """(selector, text colour, background) for every rule that sets a text colour."""
    path = finders.find(STYLESHEET)
    assert isinstance(path, str)
    with open(path, encoding="utf-8") as handle:
        css = re.sub(r"/\*.*?\*/", "", handle.read(), flags=re.S)
    css = re.sub(r"@media[^{]*\{", "", css)
    pairs = []
    for selector, body in RULE.findall(css):
        colour = COLOR.search(body)
        if colour is None:
            continue
        background = BACKGROUND.search(body)
        if background is not None:
            pairs.append((selector.strip(), colour.group(1), background.group(1)))
        elif selector.strip().startswith((".top", ".brand", ".lang")):
            pairs.append((selector.strip(), colour.group(1), HEADER_BLUE))
        else:
            pairs.extend((selector.strip(), colour.group(1), page) for page in PAGE_BACKGROUNDS)
    return pairs


def test_the_contrast_checker_knows_black_on_white() -> None:
    assert round(contrast("#000", "#fff"), 1) == 21.0
    assert contrast("#767676", "#ffffff") >= 4.5 > contrast("#777777", "#ffffff")


def test_every_text_colour_has_a_contrast_of_at_least_4_5_to_1() -> None:
    pairs = _pairs()
    assert len(pairs) > 30
    weak = [(selector, fg, bg, round(contrast(fg, bg), 2)) for selector, fg, bg in pairs if contrast(fg, bg) < 4.5]
    assert weak == []
