"""Partner keys: created by partner_create (shown once, stored hashed), required on every call, revocable."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from members.models import Partner, PartnerAPIKey, Plan
from members.selectors import (
    KEY_CACHE_SECONDS,
    KEY_CHANGED_MARK_SECONDS,
    partner_key_cache_key,
    partner_key_changed_mark,
)
from members.services import partner_key_create, partner_keys_revoke
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
    assert acme.get("/api/v1/plan/").status_code == 200  # the key is in the cache before it is revoked
    assert admin_client.get(f"{url}{acme.partner.pk}/change/").status_code == 200
    response = admin_client.post(url, {"action": "revoke_keys", "_selected_action": [acme.partner.pk]}, follow=True)
    assert response.status_code == 200
    assert acme.get("/api/v1/plan/").status_code == 401
    response = admin_client.post(url, {"action": "issue_key", "_selected_action": [acme.partner.pk]}, follow=True)
    assert PartnerAPIKey.objects.filter(partner=acme.partner, revoked=False).count() == 1


# --- the key cache: every request needs the key, so it is kept in the cache; no change may be missed -------


def key_queries(captured: CaptureQueriesContext) -> int:
    return sum('"members_partnerapikey"' in query["sql"] for query in captured.captured_queries)


def test_the_key_is_read_from_the_database_once_then_from_the_cache(acme: Caller) -> None:
    with CaptureQueriesContext(connection) as first:
        assert acme.get("/api/v1/plan/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert acme.get("/api/v1/plan/").status_code == 200
    assert (key_queries(first), key_queries(second)) == (1, 0)


def test_a_key_revoked_after_it_was_cached_is_refused_on_the_next_request(acme: Caller) -> None:
    assert acme.get("/api/v1/plan/").status_code == 200
    partner_keys_revoke(partner=acme.partner)
    assert acme.get("/api/v1/plan/").status_code == 401


def test_a_key_revoked_on_its_own_admin_page_is_refused_on_the_next_request(
    admin_client: APIClient, acme: Caller
) -> None:
    assert acme.get("/api/v1/plan/").status_code == 200
    api_key = PartnerAPIKey.objects.get(partner=acme.partner)
    url = f"/admin/members/partnerapikey/{api_key.pk}/change/"
    form = {"name": api_key.name, "revoked": "on", "expiry_date_0": "", "expiry_date_1": "", "partner": acme.partner.pk}
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PartnerAPIKey.objects.get(pk=api_key.pk).revoked
    assert acme.get("/api/v1/plan/").status_code == 401


def test_a_deleted_key_is_refused_on_the_next_request(acme: Caller) -> None:
    assert acme.get("/api/v1/plan/").status_code == 200
    PartnerAPIKey.objects.filter(partner=acme.partner).delete()
    assert acme.get("/api/v1/plan/").status_code == 401


def test_a_key_that_expires_while_cached_is_refused(acme: Caller) -> None:
    expiry = timezone.now() + timedelta(hours=1)
    PartnerAPIKey.objects.filter(partner=acme.partner).update(expiry_date=expiry)
    with time_machine.travel(expiry - timedelta(seconds=1), tick=False):
        assert acme.get("/api/v1/plan/").status_code == 200
    with time_machine.travel(expiry + timedelta(seconds=1), tick=False):
        assert acme.get("/api/v1/plan/").status_code == 401


def test_a_revocation_rolled_back_leaves_the_key_working(acme: Caller) -> None:
    assert acme.get("/api/v1/plan/").status_code == 200
    with pytest.raises(RuntimeError), transaction.atomic():
        partner_keys_revoke(partner=acme.partner)
        raise RuntimeError("the revoking transaction fails")
    assert acme.get("/api/v1/plan/").status_code == 200


def test_a_renamed_partner_is_not_served_from_an_older_copy(acme: Caller) -> None:
    assert acme.get("/api/v1/plan/").status_code == 200
    api_key = PartnerAPIKey.objects.get(partner=acme.partner)
    assert cache.get(partner_key_cache_key(api_key.prefix))["partner"]["name"] == "acme"
    acme.partner.name = "acme holdings"
    acme.partner.save()
    assert cache.get(partner_key_cache_key(api_key.prefix)) is None


def test_a_prefix_that_names_no_key_is_not_cached(plan: Plan) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key nothere.0123456789")
    assert client.get("/api/v1/plan/").status_code == 401
    assert cache.get(partner_key_cache_key("nothere")) is None


@pytest.mark.services
def test_a_revocation_drops_the_key_from_redis_where_every_worker_reads_it(acme: Caller) -> None:
    assert acme.get("/api/v1/plan/").status_code == 200
    prefix = PartnerAPIKey.objects.get(partner=acme.partner).prefix
    raw = redis.Redis.from_url(django_settings.REDIS_URL)
    stored = cache.make_key(partner_key_cache_key(prefix))
    assert raw.exists(stored)
    assert 0 < raw.ttl(stored) <= KEY_CACHE_SECONDS
    partner_keys_revoke(partner=acme.partner)
    assert not raw.exists(stored)
    assert 0 < raw.ttl(cache.make_key(partner_key_changed_mark(prefix))) <= KEY_CHANGED_MARK_SECONDS


def test_a_copy_written_after_the_revocation_by_a_request_that_read_before_it_is_never_used(acme: Caller) -> None:
    """The race a time limit alone would leave open: a request reads the key, the revocation commits and
    drops the cache, then the request writes its older copy. The revocation's mark outlives any copy."""
    assert acme.get("/api/v1/plan/").status_code == 200
    prefix = PartnerAPIKey.objects.get(partner=acme.partner).prefix
    read_before = cache.get(partner_key_cache_key(prefix))
    assert read_before is not None and read_before["key"]["revoked"] is False
    partner_keys_revoke(partner=acme.partner)
    cache.set(partner_key_cache_key(prefix), read_before, KEY_CACHE_SECONDS)  # the late write
    assert acme.get("/api/v1/plan/").status_code == 401
    assert acme.get("/api/v1/plan/").status_code == 401


def test_a_new_key_is_cached_from_its_first_use(acme: Caller) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner_key_create(partner=acme.partner)}")
    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/plan/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/api/v1/plan/").status_code == 200
    assert (key_queries(first), key_queries(second)) == (1, 0)


def test_the_cache_holds_plain_values_and_anything_else_there_is_read_from_the_database(acme: Caller) -> None:
    """No pickled model instance (a deploy that changes Django or the model would break every copy): the
    key's columns; an entry of another shape, left by an older release, is a miss, not an error."""
    assert acme.get("/api/v1/plan/").status_code == 200
    prefix = PartnerAPIKey.objects.get(partner=acme.partner).prefix
    stored = cache.get(partner_key_cache_key(prefix))
    assert set(stored) == {"key", "partner"} and stored["key"]["prefix"] == prefix
    assert all(isinstance(v, str | int | bool | datetime | type(None)) for v in stored["key"].values())
    cache.set(partner_key_cache_key(prefix), object(), KEY_CACHE_SECONDS)
    with CaptureQueriesContext(connection) as read:
        assert acme.get("/api/v1/plan/").status_code == 200
    assert key_queries(read) == 1


@pytest.mark.parametrize("prefix", ["has space", "x" * 300, "ключ", "a;b"])
def test_a_prefix_that_cannot_be_a_key_is_refused_unread(plan: Plan, prefix: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {prefix}.0123456789")
    with CaptureQueriesContext(connection) as read:
        assert client.get("/api/v1/plan/").status_code == 401
    assert key_queries(read) == 0
