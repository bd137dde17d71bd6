"""Partner keys: created by partner_create (shown once, stored hashed), required on every call, revocable."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from rest_framework.test import APIClient

from members.models import Partner, PartnerAPIKey, Plan
from members.services import partner_keys_revoke
from tests.api.conftest import Caller, error_code


def test_it_answers_401_in_the_error_shape_without_a_key(plan: Plan) -> None:
    response = APIClient().get("/api/v1/members/")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"
    assert response.json()["error"]["message"]
    assert response["WWW-Authenticate"] == "Api-Key"


def test_it_answers_401_to_a_bad_key(acme: Caller) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {acme.key[:-1]}x")
    response = client.get("/api/v1/members/")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_it_answers_401_to_a_key_of_an_unknown_prefix(plan: Plan) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key nothere.0123456789")
    assert client.get("/api/v1/plan/").status_code == 401


def test_it_refuses_a_revoked_key(acme: Caller) -> None:
    partner_keys_revoke(partner=acme.partner)
    assert acme.get("/api/v1/members/").status_code == 401


def test_partner_create_prints_a_working_key_as_its_last_line(plan: Plan) -> None:
    out = StringIO()
    call_command("partner_create", "initech", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/plan/").status_code == 200
    stored = PartnerAPIKey.objects.get(partner=Partner.objects.get(name="initech"))
    assert key not in (stored.id, stored.hashed_key)
    assert stored.hashed_key.startswith("sha512$$")


def test_the_admin_issues_and_revokes_keys(admin_client: APIClient, acme: Caller) -> None:
    url = "/admin/members/partner/"
    assert admin_client.get(f"{url}{acme.partner.pk}/change/").status_code == 200
    response = admin_client.post(url, {"action": "revoke_keys", "_selected_action": [acme.partner.pk]}, follow=True)
    assert response.status_code == 200
    assert acme.get("/api/v1/plan/").status_code == 401
    response = admin_client.post(url, {"action": "issue_key", "_selected_action": [acme.partner.pk]}, follow=True)
    assert PartnerAPIKey.objects.filter(partner=acme.partner, revoked=False).count() == 1
