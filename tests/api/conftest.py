"""API fixtures: two partners, acme and globex, each with its own key and client, and enrolment bodies.

Acme's members are acme's alone: every isolation test asks globex for them and expects a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from members.models import Partner, Plan
from members.services import partner_create


@dataclass
class Caller:
    partner: Partner
    key: str
    client: APIClient

    def post(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.client.post(path, data, format=extra.pop("format", "json"), **extra)

    def get(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.client.get(path, data, **extra)


def _caller(name: str) -> Caller:
    partner, key = partner_create(name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return Caller(partner=partner, key=key, client=client)


@pytest.fixture
def acme(plan: Plan) -> Caller:
    return _caller("acme")


@pytest.fixture
def globex(plan: Plan) -> Caller:
    return _caller("globex")


@pytest.fixture
def body(make_id: Callable[..., str], no_answers: dict[str, bool]) -> Callable[..., dict[str, Any]]:
    """An enrolment body for a new person (serial n), 36 years old, with a good attested credit score."""

    def _body(serial: int = 1, *, birth_date: date = date(1990, 5, 17), **overrides: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "external_ref": f"p-{serial}",
            "name": "张三",
            "id_number": make_id(birth_date, serial=serial),
            "phone": "13800000000",
            "payer": None,
            "relationship": "self",
            "credit_score": 700,
            "health_declaration": dict(no_answers),
        }
        data.update(overrides)
        return data

    return _body


@pytest.fixture
def enrolled(acme: Caller, body: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A payer acme enrolled through the API: the member object it got back."""
    response = acme.post("/api/v1/members/", body(1))
    assert response.status_code == 201, response.json()
    member: dict[str, Any] = response.json()
    return member


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def error_code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


@pytest.fixture
def claim_body(enrolled: dict[str, Any], plan: Plan) -> dict[str, Any]:
    condition = plan.conditions.order_by("code").first()
    assert condition is not None
    return {
        "member": enrolled["id"],
        "kind": "illness",
        "condition": condition.code,
        "diagnosed_on": (timezone.localdate() - timedelta(days=3)).isoformat(),
        "hospital": "北京协和医院",
        "description": "Diagnosed after a check-up.",
    }
