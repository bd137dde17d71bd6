"""The authorization audit: every URL pattern has a row in docs/authorization.md, and every row's rule holds.

The table is the source of truth (the document explains why). This module parses it, walks the URL
resolver, and checks each row against the running project with named people: Alice (a household with a
claim, a document and a payment, and a juror), Charlie (another household, not a juror), staff with no
permissions, staff with exactly the permission a row names, a superuser, and two partners: Acme, whose
member, claim, payment and webhook endpoint they are, and Globex. Dora's rejected claim is on appeal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from claims.models import Claim, ClaimDocument, CoveredCondition
from claims.services import (
    claim_approve,
    claim_document_add,
    claim_file,
    claim_reject,
    claim_start_investigation,
)
from jury.models import Appeal, Juror
from jury.seeding import jury_seed_default
from jury.services import appeal_file
from members.models import Membership, Plan, User
from members.services import partner_create, person_reveal_id_number
from settlement.models import Payment, Period, partner_source
from settlement.services import payment_record, period_open
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_create, ping_create

DOC = Path(settings.BASE_DIR) / "docs" / "authorization.md"
RULES = {
    "public",
    "member",
    "household",
    "published",
    "juror",
    "staff",
    "admin-model",
    "nobody",
    "partner",
    "partner-owner",
    "api-not-found",
}
# The pages Django admin makes for every registered model; an `admin-model` row stands for these.
ADMIN_MODEL_PAGES = {
    "": "view",
    "add/": "add",
    "<path:object_id>/": "view",
    "<path:object_id>/change/": "view",
    "<path:object_id>/delete/": "delete",
    "<path:object_id>/history/": "view",
    "^([^/]+)/history/([^/]+)/$": "view",
}
# admin's app index lists the registered apps in its regex: the row stands for whichever apps there are.
_APP_INDEX = re.compile(r"^admin/\^\(\?P<app_label>.*\)/\$$")
APP_INDEX_ROW = "admin/^(?P<app_label>…)/$"
API_CATCH_ALL = "^api/(?P<path>.*)$"
MISSING = 999_999_999
# Alice's payment, in yuan as her charges page writes it (thousands separators aside): nobody else's.
ALICE_PAID_FEN = 432_109


# --- the table --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    pattern: str
    name: str
    who: str
    rule: str

    @property
    def permission(self) -> str | None:
        return self.rule.split(":", 1)[1] if self.rule.startswith("staff:") else None


def _cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [cell.strip().replace("\\|", "|").strip("`") for cell in cells]


def table_rows() -> list[Row]:
    """The rows of every table headed `| URL pattern | name | who may reach it | rule |`."""
    rows: list[Row] = []
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = _cells(line)
        if cells[0] == "URL pattern":
            in_table = True
        elif in_table and not re.fullmatch(r":?-+:?", cells[0]):  # not the line under the header
            rows.append(Row(*cells))
    return rows


ROWS = table_rows()


def _normalise(pattern: str) -> str:
    return APP_INDEX_ROW if _APP_INDEX.match(pattern) else pattern


def url_patterns(resolver: URLResolver | None = None, prefix: str = "", ns: str = "") -> Iterator[tuple[str, str]]:
    """Every pattern the project serves, as its full route text, with its name (namespace included)."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, route, f"{ns}{entry.namespace}:" if entry.namespace else ns)
        elif isinstance(entry, URLPattern):
            yield _normalise(route), f"{ns}{entry.name}" if entry.name else ""


def _covered(pattern: str, rows: list[Row]) -> bool:
    for row in rows:
        if row.pattern == pattern:
            return True
        page = pattern[len(row.pattern) :]
        if row.rule == "admin-model" and pattern.startswith(row.pattern) and page in ADMIN_MODEL_PAGES:
            return True
    return False


_ADMIN_MODEL_PAGE = re.compile(r"^(admin/\w+/\w+/)(.*)$")


def _suggested_row(pattern: str, name: str) -> str:
    model_page = _ADMIN_MODEL_PAGE.match(pattern)
    if model_page and model_page.group(2) in ADMIN_MODEL_PAGES:
        prefix = model_page.group(1)
        label = "_".join(prefix.split("/")[1:3])
        return f"| `{prefix}` | `admin:{label}_*` | <staff with the … permissions> | `admin-model` |"
    if pattern.startswith("api/"):
        rule = "partner` or `partner-owner"
    elif pattern.startswith("admin/"):
        rule = "staff` or `staff:<app.permission>"
    else:
        rule = "public` or `member` or `household"
    escaped = pattern.replace("|", "\\|")
    return f"| `{escaped}` | `{name or '—'}` | <who may reach it, in words> | `{rule}` |"


def test_every_url_pattern_has_a_row_in_the_audit() -> None:
    missing = [(pattern, name) for pattern, name in url_patterns() if not _covered(pattern, ROWS)]
    assert not missing, (
        f"{len(missing)} URL pattern(s) have no row in docs/authorization.md. Add one row each to the table "
        "of their section (public, member, administration, partner API), with one of the rules listed at "
        "the top of the document, and make sure the rule's check in tests/security/test_authorization_audit.py "
        "can build the URL (a new path parameter goes into `concrete_url`):\n"
        + "\n".join(dict.fromkeys(_suggested_row(pattern, name) for pattern, name in missing))
    )


def test_every_row_names_a_pattern_that_exists() -> None:
    served = [pattern for pattern, _name in url_patterns()]
    stale = [row.pattern for row in ROWS if not any(_covered(pattern, [row]) for pattern in served)]
    assert not stale, f"docs/authorization.md has rows for patterns the project no longer serves: {stale}"


def test_every_row_has_a_known_rule() -> None:
    unknown = [row for row in ROWS if row.rule not in RULES and row.permission is None]
    assert not unknown, f"unknown rules (see the top of docs/authorization.md): {unknown}"


# --- the people and their objects --------------------------------------------------------------------------


@dataclass
class World:
    alice: User
    charlie: User
    staff: User
    superuser: User
    membership: Membership
    claim: Claim
    document: ClaimDocument
    published: Claim
    period: Period
    acme: APIClient
    globex: APIClient
    acme_member: Membership
    acme_claim: Claim
    acme_payment: Payment
    acme_endpoint: WebhookEndpoint
    appeal: Appeal


def _file(member: Membership, condition: CoveredCondition, by: User | None) -> Claim:
    return claim_file(
        member=member,
        by=by,
        kind="accident",
        condition=condition,
        diagnosed_on=timezone.localdate() - timedelta(days=3),
        hospital="北京协和医院",
        description="A fall at work.",
    )


def _next_notice_day(plan: Plan) -> date:
    day = timezone.localdate() + timedelta(days=1)
    while day.day not in (plan.first_notice_day, plan.second_notice_day):
        day += timedelta(days=1)
    return day


def _partner_client(key: str | None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def world(
    plan: Plan,
    enrol: Callable[..., Membership],
    alice: User,
    charlie: User,
    admin_user: User,
    settings: Any,
    tmp_path: Path,
) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ADMIN_REQUIRE_2FA = False  # the second factor has its own tests; this audit is about who is who
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True  # Acme's endpoint is on this machine, and never called
    jury_seed_default(plan=plan)
    joined = timezone.localdate() - timedelta(days=200)
    condition = plan.conditions.order_by("code").first()
    assert condition is not None
    membership = enrol(account=alice, on=joined)
    claim = _file(membership, condition, alice)
    pdf = SimpleUploadedFile("report.pdf", b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\ntrailer\n<< >>\n%%EOF\n")
    document = claim_document_add(claim=claim, upload=pdf, by=alice)
    # Charlie's claim goes through review into the public notice, which opens a period.
    charlie_member = enrol(account=charlie, on=joined)
    published = _file(charlie_member, condition, charlie)
    second_admin = User.objects.create_superuser(username="admin2", password="x-admin2-pass", email="a2@example.com")
    published = claim_start_investigation(claim=published, by=admin_user)
    published = claim_approve(claim=claim_approve(claim=published, by=admin_user), by=second_admin)
    period = period_open(plan=plan, on=_next_notice_day(plan))
    assert period is not None
    acme, acme_key = partner_create(name="acme")
    _globex, globex_key = partner_create(name="globex")
    acme_member = enrol(partner=acme, external_ref="p-1", on=joined)
    acme_payment = payment_record(
        payer=acme_member, amount_fen=10_000, reference="acme-transfer-1", by=None, source=partner_source(acme.pk)
    )
    acme_endpoint, _secret = endpoint_create(partner=acme, url="http://127.0.0.1:9/hooks")
    ping_create(endpoint=acme_endpoint)  # an event and its delivery, for admin's pages
    payment_record(payer=membership, amount_fen=ALICE_PAID_FEN, reference="alice-transfer-1", by=admin_user)
    alice.email = "alice@example.org"
    alice.save(update_fields=["email"])
    # Alice has passed the juror test; Charlie never took it. Dora's claim is rejected and on appeal.
    Juror.objects.create(plan=plan, user=alice, passed_at=timezone.now(), rules_accepted_at=timezone.now())
    dora = User.objects.create_user(username="13800000004", phone="13800000004", password="dora-pass-123")
    rejected = claim_reject(
        claim=_file(enrol(account=dora, on=joined), condition, dora), by=admin_user, reason="not_covered"
    )
    appeal = appeal_file(claim=rejected, by=dora, statement="The second report shows the severe stage.")
    staff = User.objects.create_user(username="staff", password="x-staff-pass", is_staff=True)
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    person_reveal_id_number(person=membership.person, by=admin_user, reason="A call from the hospital to confirm her.")
    _failed_logins()
    Group.objects.create(name="reviewers")
    return World(
        alice=alice,
        charlie=charlie,
        staff=staff,
        superuser=admin_user,
        membership=membership,
        claim=claim,
        document=document,
        published=published,
        period=period,
        acme=_partner_client(acme_key),
        globex=_partner_client(globex_key),
        acme_member=acme_member,
        acme_claim=_file(acme_member, condition, None),
        acme_payment=acme_payment,
        acme_endpoint=acme_endpoint,
        appeal=appeal,
    )


def _failed_logins() -> None:
    """One record of each kind the lockout keeps, for admin's pages about them."""
    seen = {"username": "13800000001", "ip_address": "203.0.113.7", "user_agent": "test", "path_info": "/login/"}
    AccessAttempt.objects.create(**seen, http_accept="*/*", get_data="", post_data="", failures_since_start=1)
    AccessFailureLog.objects.create(**seen, http_accept="*/*")
    AccessLog.objects.create(**seen, http_accept="*/*")


def staff_with(permission: str) -> User:
    app_label, codename = permission.split(".")
    user = User.objects.create_user(username=f"staff-{codename}", password="x-staff-pass", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=user.pk)  # a fresh instance: permissions are cached per instance


def client_for(user: User | None) -> Client:
    client = Client(headers={"accept-language": "en"})
    if user is not None:
        client.force_login(user)
    return client


# --- from a pattern to a URL -------------------------------------------------------------------------------


def concrete_url(pattern: str, world: World, *, for_partner: bool = False) -> str:
    """The pattern with each parameter replaced by the id of the object the row is about."""
    if _APP_INDEX.match(pattern) or pattern == APP_INDEX_ROW:
        return "/admin/members/"
    if pattern == "admin/(?P<url>.*)$":
        return "/admin/no-such-page/"
    if pattern == API_CATCH_ALL:
        return "/api/v1/no-such-endpoint/"
    values: dict[str, object] = {
        "membership_id": world.membership.pk,
        "claim_id": (world.acme_claim if for_partner else world.claim).pk,
        "document_id": world.document.pk,
        "period_id": world.period.pk,
        "member_id": world.acme_member.pk,
        "payment_id": world.acme_payment.pk,
        "endpoint_id": world.acme_endpoint.pk,
        "appeal_id": world.appeal.pk,
        "import_id": MISSING,
        "id": world.alice.pk,
        "content_type_id": ContentType.objects.get_for_model(Claim).pk,
    }
    if "<int:object_id>" in pattern or "<path:object_id>" in pattern or "<int:pk>" in pattern:
        values["object_id"] = values["pk"] = _admin_object_id(pattern, world)

    def value(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, pattern)


def _admin_object_id(pattern: str, world: World) -> object:
    app_label, model_name = pattern.split("/")[1:3]
    if app_label == "r":  # view on site: the claim's content type and id
        return world.claim.pk
    if (app_label, model_name) == ("claims", "claim"):
        return world.claim.pk
    if (app_label, model_name) == ("members", "membership"):
        return world.membership.pk
    if (app_label, model_name) == ("settlement", "period"):
        return world.period.pk
    if (app_label, model_name) == ("jury", "appeal"):
        return world.appeal.pk
    model: type[Model] = apps.get_model(app_label, model_name)
    first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    return first if first is not None else MISSING


def fetch(client: Client | APIClient, url: str) -> Any:
    """GET, or POST where the page takes only POST (a 405 for GET)."""
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    return response


def to_login(response: Any, login_path: str) -> bool:
    """Sent to log in first, to come back after (a logout's redirect to the login page is not this)."""
    return bool(response.status_code == 302 and response["Location"].startswith(f"{login_path}?next="))


def reached(response: Any) -> bool:
    """Let through: not sent to a login page, not refused, not hidden; a 404 of the page's own is a check."""
    return (
        response.status_code < 500
        and response.status_code not in (401, 403)
        and not to_login(response, "/login/")
        and not to_login(response, "/admin/login/")
    )


# --- one test per row --------------------------------------------------------------------------------------


def check_public(row: Row, world: World) -> None:
    response = fetch(client_for(None), concrete_url(row.pattern, world))
    assert reached(response) and response.status_code != 404, response


# What a member page shows Alice and must not show anyone else (Charlie's page of the same URL).
ALICE_ONLY: dict[str, Callable[[World], str]] = {
    "claims:list": lambda world: f"/claims/{world.claim.pk}/",
    "portal:charges": lambda world: f"{ALICE_PAID_FEN // 100}.{ALICE_PAID_FEN % 100:02d}",
    "members:notifications": lambda world: world.alice.email,
}


def check_member(row: Row, world: World) -> None:
    url = concrete_url(row.pattern, world)
    assert to_login(fetch(client_for(None), url), "/login/")
    response = fetch(client_for(world.alice), url)
    assert response.status_code == 200
    if row.name in ALICE_ONLY:
        marker = ALICE_ONLY[row.name](world)
        assert marker in response.content.decode().replace(",", "")
        assert marker not in client_for(world.charlie).get(url).content.decode().replace(",", "")


def check_household(row: Row, world: World) -> None:
    url = concrete_url(row.pattern, world)
    assert to_login(client_for(None).get(url), "/login/")
    assert client_for(world.charlie).get(url).status_code == 404
    assert client_for(world.alice).get(url).status_code == 200


def check_published(row: Row, world: World) -> None:
    url = concrete_url(row.pattern, world)
    assert to_login(client_for(None).get(url), "/login/")
    assert client_for(world.alice).get(url).status_code == 404  # Alice's own claim was never published
    published_url = url.replace(f"/{world.claim.pk}/", f"/{world.published.pk}/")
    assert client_for(world.alice).get(published_url).status_code == 200


def check_juror(row: Row, world: World) -> None:
    url = concrete_url(row.pattern, world)
    assert to_login(client_for(None).get(url), "/login/")
    not_a_juror = client_for(world.charlie).get(url)
    assert not_a_juror.status_code == 302 and not_a_juror["Location"] == "/jury/", not_a_juror
    page = client_for(world.alice).get(url)
    assert page.status_code == 200
    if row.name == "jury:cases":
        assert f"/jury/cases/{world.appeal.pk}/" in page.content.decode()
    if "<int:appeal_id>" in row.pattern:
        assert client_for(world.alice).get(url.replace(f"/{world.appeal.pk}/", f"/{MISSING}/")).status_code == 404


def check_staff(row: Row, world: World) -> None:
    url = concrete_url(row.pattern, world)
    assert to_login(fetch(client_for(None), url), "/admin/login/")
    assert to_login(fetch(client_for(world.alice), url), "/admin/login/")
    permission = row.permission
    if permission is None:
        # Past admin's gate; what the page then says (a 404 for no such page, a 403 for a bad query) is its own.
        response = fetch(client_for(world.staff), url)
        assert response.status_code < 500 and not to_login(response, "/admin/login/")
        return
    assert fetch(client_for(world.staff), url).status_code == 403
    if re.search(r"<(?:\w+:)?(?:object_id|id|pk)>", row.pattern):
        # Refused before the object is looked up: a 404 for a missing id would tell which ids exist.
        missing = concrete_url(re.sub(r"<(?:\w+:)?(object_id|id|pk)>", str(MISSING), row.pattern), world)
        assert fetch(client_for(world.staff), missing).status_code == 403, missing
    assert reached(fetch(client_for(staff_with(permission)), url))


def check_nobody(row: Row, world: World) -> None:
    url = concrete_url(row.pattern, world)
    assert to_login(fetch(client_for(None), url), "/admin/login/")
    assert to_login(fetch(client_for(world.alice), url), "/admin/login/")
    app_label, model_name = row.pattern.split("/")[1:3]
    keeper = staff_with(f"{app_label}.view_{model_name}")
    keeper.user_permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=f"change_{model_name}")
    )
    for user in (world.staff, User.objects.get(pk=keeper.pk), world.superuser):
        assert fetch(client_for(user), url).status_code == 403, user


def check_admin_model(row: Row, world: World) -> None:
    app_label, model_name = row.pattern.split("/")[1:3]
    model = apps.get_model(app_label, model_name)
    served = {pattern for pattern, _name in url_patterns()}
    viewer = staff_with(f"{app_label}.view_{model_name}")
    for page in ADMIN_MODEL_PAGES:
        if row.pattern + page not in served:
            continue  # a model without recorded history has no history record page
        url = concrete_url(row.pattern + page, world)
        if page == "^([^/]+)/history/([^/]+)/$":
            history = model.history.order_by("pk").first()  # type: ignore[attr-defined]
            url = f"/{row.pattern}{history.instance.pk}/history/{history.pk}/"
        assert to_login(client_for(None).get(url), "/admin/login/"), url
        assert to_login(client_for(world.alice).get(url), "/admin/login/"), url
        if page == "<path:object_id>/":
            # An old-style link, redirected to the object's page, where the permission is checked.
            assert client_for(world.staff).get(url)["Location"] == f"{url}change/"
            continue
        refused = client_for(world.staff).get(url)
        # A page some ModelAdmin sends elsewhere for everyone (credit records are added only by import)
        # leads to another admin page, with rules of its own.
        assert refused.status_code == 403 or _elsewhere_in_admin(refused, url), url
        superuser_response = client_for(world.superuser).get(url)
        if _allowed_to_superuser(model, page, url, world):
            assert reached(superuser_response), url
        else:
            assert superuser_response.status_code == 403 or _elsewhere_in_admin(superuser_response, url), url
        if page == "" or (page == "<path:object_id>/change/" and f"/{MISSING}/" not in url):
            assert client_for(viewer).get(url).status_code == 200, url


def _elsewhere_in_admin(response: Any, url: str) -> bool:
    location = response.get("Location", "")
    return response.status_code == 302 and location.startswith("/admin/") and not location.startswith("/admin/login/")


def _allowed_to_superuser(model: type[Model], page: str, url: str, world: World) -> bool:
    """Whether the ModelAdmin allows this page at all: some models are never added, edited or deleted here."""
    model_admin = admin.site._registry[model]
    request = RequestFactory().get(url)
    request.user = world.superuser
    object_id = url.rstrip("/").split("/")[4] if "<path:object_id>" in page else None
    obj = model._default_manager.filter(pk=object_id).first() if object_id else None
    action = ADMIN_MODEL_PAGES[page]
    if action == "add":
        return bool(model_admin.has_add_permission(request))
    if action == "delete":
        return bool(model_admin.has_delete_permission(request, obj))
    return bool(model_admin.has_view_or_change_permission(request, obj))


def _partner_denied(response: Any) -> bool:
    return bool(response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated")


def check_partner(row: Row, world: World) -> None:
    url = concrete_url(row.pattern, world, for_partner=True)
    assert _partner_denied(fetch(_partner_client(None), url))
    assert _partner_denied(fetch(_partner_client("not-a-key.at-all"), url))
    response = world.acme.get(url)
    assert response.status_code in (200, 405), response.json()
    if row.name in ("api:members", "api:claims", "api:payments", "api:webhooks"):
        listed = world.globex.get(url).json()
        assert listed["count"] == 0
        assert world.acme.get(url).json()["count"] == 1
    if row.name == "api:payments":  # recording one too: only for a payer the partner enrolled
        body = {"payer": world.acme_member.pk, "amount": "1.00", "reference": "globex-transfer-1"}
        assert world.globex.post(url, body, format="json").status_code == 404
        assert not Payment.objects.filter(reference="globex-transfer-1").exists()
    if row.name in ("api:periods", "api:period"):
        assert world.globex.get(url).json() == response.json()  # public: the same for every partner


def check_api_not_found(row: Row, world: World) -> None:
    url = concrete_url(row.pattern, world)
    for client in (_partner_client(None), world.acme):
        for response in (client.get(url), client.post(url, {}, format="json")):
            assert response.status_code == 404 and response["Content-Type"] == "application/json", response
            assert response.json()["error"]["code"] == "not_found"


def check_partner_owner(row: Row, world: World) -> None:
    url = concrete_url(row.pattern, world, for_partner=True)
    assert _partner_denied(fetch(_partner_client(None), url))
    assert fetch(world.globex, url).status_code == 404
    assert reached(fetch(world.acme, url))


CHECKS: dict[str, Callable[[Row, World], None]] = {
    "public": check_public,
    "member": check_member,
    "household": check_household,
    "published": check_published,
    "juror": check_juror,
    "staff": check_staff,
    "admin-model": check_admin_model,
    "nobody": check_nobody,
    "partner": check_partner,
    "partner-owner": check_partner_owner,
    "api-not-found": check_api_not_found,
}


@pytest.mark.django_db
@pytest.mark.parametrize("row", ROWS, ids=[row.pattern or "(home)" for row in ROWS])
def test_the_rule_of_the_row_holds(row: Row, world: World) -> None:
    check = CHECKS["staff" if row.permission else row.rule]
    check(row, world)
