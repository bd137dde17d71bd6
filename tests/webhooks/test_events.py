"""Which events are made, for whom: a partner hears about its own members only, a settled period is
everyone's, and a status change of thousands of memberships becomes events set-based."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.models import Claim
from claims.services import claim_file, claim_start_investigation, claims_share_notice
from members.models import CreditSource, Membership, MembershipStatus, Person, Plan, User
from members.services import household_remove_for_non_payment, membership_exit, memberships_daily
from tests.settlement.conftest import add_members, period_with_claims, settle_now
from tests.webhooks.conftest import Hooked, Receiver
from webhooks.models import EventKind, WebhookDelivery, WebhookEvent
from webhooks.services import endpoint_create, endpoint_disable, member_events_create

Capture = Callable[..., Any]


def _kinds(receiver: Receiver) -> list[str]:
    return [r.headers["Mutualaid-Event"] for r in receiver.requests]


def _file(member: Membership) -> Claim:
    condition = member.plan.conditions.order_by("code").first()
    assert condition is not None
    return claim_file(
        member=member,
        by=None,
        kind="accident",
        condition=condition,
        diagnosed_on=timezone.localdate() - timedelta(days=1),
        hospital="北京协和医院",
        description="Hurt at work.",
    )


def test_a_partner_hears_only_about_its_own_members(
    acme: Hooked, globex: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    mine, theirs = enrol_for(acme), enrol_for(globex)
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=mine, by=None)
    assert [r.json()["data"]["member"] for r in acme.receiver.requests] == [mine.pk]
    assert globex.receiver.requests == []
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=theirs, by=None)
    assert [r.json()["data"]["member"] for r in globex.receiver.requests] == [theirs.pk]
    assert len(acme.receiver.requests) == 1


def test_members_who_signed_up_on_the_site_make_no_partner_event(
    acme: Hooked, enrol: Callable[..., Membership], alice: User, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol(account=alice), by=None)
    assert not WebhookEvent.objects.exists()
    assert acme.receiver.requests == []


def test_a_claim_status_change_goes_to_the_partner_of_the_claimant_only(
    acme: Hooked,
    globex: Hooked,
    enrol_for: Callable[..., Membership],
    admin_user: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    member = enrol_for(acme)
    with django_capture_on_commit_callbacks(execute=True):
        claim = _file(member)
    with django_capture_on_commit_callbacks(execute=True):
        claim_start_investigation(claim=claim, by=admin_user)
    assert _kinds(acme.receiver) == ["claim.status_changed", "claim.status_changed"]
    filed, investigating = (r.json()["data"] for r in acme.receiver.requests)
    assert filed == {
        "claim": claim.pk,
        "member": member.pk,
        "external_ref": member.external_ref,
        "status": "submitted",
        "previous_status": None,
        "action": "file",
        "rejection_reason": "",
    }
    assert investigating["status"] == "investigating"
    assert investigating["previous_status"] == "submitted"
    assert investigating["action"] == "start_investigation"
    assert globex.receiver.requests == []


def test_sharing_a_notice_makes_one_event_per_claim_of_the_partners_members(
    acme: Hooked, plan: Plan, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    period = period_with_claims(plan, payouts=[30_000_000, 10_000_000], notice_date=date(2025, 6, 7))
    claimants = list(Claim.objects.filter(notice=period.notice).values_list("member_id", flat=True))
    Membership.objects.filter(pk=claimants[0]).update(partner=acme.partner)
    with django_capture_on_commit_callbacks(execute=True):
        assert claims_share_notice(notice=period.notice) == 2
    [request] = acme.receiver.requests
    data = request.json()["data"]
    assert (data["status"], data["previous_status"], data["action"]) == ("shared", "in_notice", "share")
    assert Claim.objects.get(pk=data["claim"]).member_id == claimants[0]


def test_a_settled_period_goes_to_every_partner_with_an_endpoint(
    acme: Hooked, globex: Hooked, plan: Plan, django_capture_on_commit_callbacks: Capture
) -> None:
    add_members(plan, 7, joined_on=date(2025, 1, 1))
    period = period_with_claims(plan, payouts=[30_000_000], notice_date=date(2025, 6, 7))
    with django_capture_on_commit_callbacks(execute=True):
        settle_now(period)
    for hooked in (acme, globex):
        [request] = hooked.receiver.requests
        assert request.headers["Mutualaid-Event"] == "period.settled"
        data = request.json()["data"]
        assert data["period"] == period.pk
        assert data["sharers"] == 7
        assert data["status"] == "settled"
        assert data["total"] == {"amount": "324000.00", "currency": "CNY"}
    assert acme.receiver.requests[0].json()["id"] != globex.receiver.requests[0].json()["id"]


def test_an_endpoint_gets_only_the_kinds_it_subscribed_to(
    plan: Plan,
    make_receiver: Callable[[], Receiver],
    enrol: Callable[..., Membership],
    admin_user: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    from members.services import partner_create

    partner, _key = partner_create(name="initech")
    claims_only = make_receiver()
    endpoint_create(partner=partner, url=claims_only.url, kinds=["claim.status_changed"])
    member = enrol(partner=partner, external_ref="i-1")
    with django_capture_on_commit_callbacks(execute=True):
        _file(member)
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol(partner=partner, external_ref="i-2"), by=None)
    assert _kinds(claims_only) == ["claim.status_changed"]


def test_a_disabled_endpoint_gets_nothing_more(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    endpoint_disable(endpoint=acme.endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=enrol_for(acme), by=None)
    assert acme.receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_a_household_removed_for_non_payment_is_one_event_per_member(
    acme: Hooked, enrol_for: Callable[..., Membership], django_capture_on_commit_callbacks: Capture
) -> None:
    payer = enrol_for(acme)
    child = enrol_for(acme, payer=payer, relationship="child", birth_date=date(2015, 3, 1))
    with django_capture_on_commit_callbacks(execute=True):
        household_remove_for_non_payment(payer=payer, on=timezone.localdate())
    got = {r.json()["data"]["member"]: r.json()["data"]["status_reason"] for r in acme.receiver.requests}
    assert got == {payer.pk: "non_payment", child.pk: "non_payment"}


def _waiting_members(plan: Plan, partner: Any, count: int, *, waiting_ends: date, serial: int) -> None:
    people = Person.objects.bulk_create(
        Person(
            name="王五",
            id_number_encrypted="-",
            id_number_hash=f"hook-{serial}-{i}",
            id_number_masked="110105********0000",
            birth_date=date(1990, 1, 1),
            sex="M",
        )
        for i in range(count)
    )
    Membership.objects.bulk_create(
        Membership(
            plan=plan,
            person=person,
            partner=partner,
            relationship="self",
            status=MembershipStatus.WAITING,
            joined_on=waiting_ends - timedelta(days=90),
            waiting_period_ends=waiting_ends,
            credit_source=CreditSource.ATTESTED,
        )
        for person in people
    )


def _webhook_statements(queries: CaptureQueriesContext) -> int:
    return sum(1 for q in queries.captured_queries if "webhooks_" in q["sql"])


def test_the_daily_job_makes_its_events_set_based_in_as_many_queries_for_600_members_as_for_150(
    acme: Hooked, globex: Hooked, plan: Plan
) -> None:
    today = date(2026, 3, 2)
    _waiting_members(plan, acme.partner, 150, waiting_ends=today - timedelta(days=2), serial=1)
    _waiting_members(plan, acme.partner, 600, waiting_ends=today - timedelta(days=1), serial=2)
    _waiting_members(plan, None, 40, waiting_ends=today - timedelta(days=1), serial=3)  # sign-ups: no partner

    with CaptureQueriesContext(connection) as small:
        assert memberships_daily(on=today - timedelta(days=1)).activated == 150
    with CaptureQueriesContext(connection) as large:
        assert memberships_daily(on=today).activated == 640
    # The webhooks' own statements (the endpoints, the events, the deliveries) do not grow with the members;
    # the job's own bulk updates are batched by the database's parameter limit (smaller on SQLite).
    assert _webhook_statements(large) == _webhook_statements(small) == 3
    events = WebhookEvent.objects.filter(kind=EventKind.MEMBER_STATUS_CHANGED)
    assert events.count() == 750
    assert set(events.values_list("partner_id", flat=True)) == {acme.partner.pk}
    assert WebhookDelivery.objects.filter(endpoint=acme.endpoint).count() == 750
    assert not WebhookDelivery.objects.filter(endpoint=globex.endpoint).exists()
    assert {e.payload["status"] for e in events[:5]} == {"active"}


def test_member_events_for_thousands_of_ids_are_three_statements(acme: Hooked, plan: Plan) -> None:
    _waiting_members(plan, acme.partner, 2000, waiting_ends=date(2026, 1, 1), serial=4)
    ids = list(Membership.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        assert member_events_create(membership_ids=ids) == 2000
    # The endpoints, one INSERT … SELECT of the events, one of their deliveries; the sweeper is queued on commit.
    assert len(queries) == 3, [q["sql"][:80] for q in queries]
    assert WebhookDelivery.objects.count() == 2000


def test_nothing_is_read_when_no_partner_listens(plan: Plan) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert member_events_create(membership_ids=[1, 2, 3]) == 0
    assert len(queries) == 1  # the endpoints, none of them subscribed
