"""No raw ID number ever reaches a log record: every logger at DEBUG, SQL logging on (as with DEBUG on),
through an enrolment on the site, an enrolment and a claim through the API, and the refusals between."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, Plan, User
from members.services import partner_create

pytestmark = pytest.mark.django_db


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> Iterator[str]:
        """Every part of every record a handler or formatter could write: message, arguments, extras."""
        formatter = logging.Formatter()
        for record in self.records:
            yield record.getMessage()
            yield repr(vars(record))
            if record.exc_info:
                yield formatter.formatException(record.exc_info)


@pytest.fixture
def captured(settings: Any) -> Iterator[Everything]:
    settings.DEBUG = True
    handler = Everything()
    names = ["", "django", "django.db.backends", "django.request", "django.server", "axes", "celery", "members"]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(log, log.level, log.disabled) for log in loggers]
    for log in loggers:
        log.setLevel(logging.DEBUG)
        log.disabled = False
    logging.getLogger().addHandler(handler)
    connection.force_debug_cursor = True  # SQL with its parameters, as DEBUG=True logs it
    try:
        yield handler
    finally:
        connection.force_debug_cursor = False
        logging.getLogger().removeHandler(handler)
        for log, level, disabled in saved:
            log.setLevel(level)
            log.disabled = disabled


def _number_with_x(make_id: Callable[..., str], birth_date: date) -> str:
    for serial in range(1, 1000):
        number: str = make_id(birth_date, serial=serial)
        if number.endswith("X"):
            return number
    raise AssertionError("no serial gives the check digit X")


def _assert_not_logged(handler: Everything, numbers: list[str]) -> None:
    assert len(handler.records) > 50, "the capture caught too little to prove anything"
    forms = {form for number in numbers for form in (number, number.lower(), number.upper())}
    for text in handler.texts():
        for form in forms:
            assert form not in text, f"a raw ID number is in a log record: {text[:300]}"


def test_no_raw_id_number_in_any_log_record(
    captured: Everything, plan: Plan, make_id: Callable[..., str], no_answers: dict[str, bool]
) -> None:
    web_number = _number_with_x(make_id, date(1988, 4, 2))
    api_number = make_id(date(1991, 7, 9), serial=7)
    child_number = make_id(date(2015, 1, 20), serial=8)
    CreditRecord.objects.create(
        id_number_hash=hash_id_number(web_number), id_number_masked=mask_id_number(web_number), score=720
    )

    # On the site: sign up, join with a lower-case x, then a typo'd family member and a duplicate.
    site = Client(headers={"accept-language": "en"})
    signed_up = site.post(
        reverse("members:signup"),
        {"phone": "13912345678", "password1": "sturdy-pass-7315", "password2": "sturdy-pass-7315"},
    )
    assert signed_up.status_code == 302
    health = {f"health_{code}": "no" for code in no_answers}
    joined = site.post(
        reverse("members:join"), {"name": "王芳", "id_number": web_number.lower(), "relationship": "self", **health}
    )
    assert joined.status_code == 302, joined.context["form"].errors
    bad_digit = child_number[:-1] + ("0" if child_number[-1] != "0" else "1")
    refused = site.post(
        reverse("members:join"), {"name": "王小", "id_number": bad_digit, "relationship": "child", **health}
    )
    assert refused.status_code == 200
    again = site.post(
        reverse("members:join"), {"name": "王芳", "id_number": web_number, "relationship": "spouse", **health}
    )
    assert again.status_code == 200
    site.post(reverse("members:login"), {"username": "13912345678", "password": "wrong"})

    # Through the API: enrol, enrol the same person again (refused), file a claim.
    _partner, key = partner_create(name="acme")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    body = {
        "external_ref": "p-1",
        "name": "张三",
        "id_number": api_number,
        "phone": "13800000000",
        "payer": None,
        "relationship": "self",
        "credit_score": 700,
        "health_declaration": dict(no_answers),
    }
    enrolled = api.post("/api/v1/members/", body, format="json")
    assert enrolled.status_code == 201, enrolled.json()
    duplicate = api.post("/api/v1/members/", {**body, "external_ref": "p-2"}, format="json")
    assert duplicate.status_code == 422
    condition = plan.conditions.order_by("code").first()
    assert condition is not None
    claim = api.post(
        "/api/v1/claims/",
        {
            "member": enrolled.json()["id"],
            "kind": "illness",
            "condition": condition.code,
            "diagnosed_on": (timezone.localdate() - timedelta(days=3)).isoformat(),
            "hospital": "北京协和医院",
            "description": "Diagnosed after a check-up.",
        },
        format="json",
    )
    assert claim.status_code == 201, claim.json()
    assert User.objects.filter(phone="13912345678").exists()

    _assert_not_logged(captured, [web_number, api_number, bad_digit])
    # The capture saw what it had to: the SQL with its parameters (the keyed hash looked up is one).
    assert any(hash_id_number(api_number) in text for text in captured.texts())
