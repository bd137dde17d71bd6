"""E-mail notifications to members: the settings page, and each kind of e-mail, in the household's
language, only to those who asked for them (Django's locmem backend keeps what was sent)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.models import Claim, ClaimStatus
from claims.services import claim_file, claim_start_investigation
from members.models import Membership, NotificationMark, Plan, User
from members.services import membership_exit
from portal import notifications
from portal.tasks import notify_charge_published
from settlement.models import Period
from settlement.services import period_open
from tests.settlement.conftest import add_members

Capture = Callable[..., Any]
NOTICE_DAY = date(2025, 6, 7)  # charged on 14 June


@pytest.fixture(autouse=True)
def _tasks_in_process(tasks_in_process: None) -> None:
    """The notifications are queued tasks; they run in the test's own process."""


def _subscribe(user: User, *, email: str = "alice@example.com", language: str = "en", on: bool = True) -> User:
    user.email, user.email_language, user.email_notifications = email, language, on
    user.save(update_fields=["email", "email_language", "email_notifications"])
    return user


@pytest.fixture
def household(enrol: Callable[..., Membership], alice: User) -> tuple[Membership, Membership]:
    payer = enrol(account=alice, on=date(2025, 1, 10))
    child = enrol(payer=payer, relationship="child", name="张小明", birth_date=date(2015, 3, 1), on=date(2025, 1, 10))
    return payer, child


# --- the page ---------------------------------------------------------------------------------------------


def test_the_page_needs_a_login(client: Client) -> None:
    response = client.get("/account/notifications/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_member_sets_an_address_turns_notifications_on_and_picks_a_language(client: Client, alice: User) -> None:
    client.force_login(alice)
    page = client.get("/account/notifications/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert 'name="email"' in page.content.decode()
    response = client.post("/account/notifications/", {"email": "alice@example.com", "enabled": "on", "language": "en"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.email, alice.email_notifications, alice.email_language) == ("alice@example.com", True, "en")
    client.post("/account/notifications/", {"email": "alice@example.com", "language": "zh-hans"})
    alice.refresh_from_db()
    assert (alice.email_notifications, alice.email_language) == (False, "zh-hans")


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not-an-address", "enabled": "on", "language": "en"},
        {"email": "", "enabled": "on", "language": "en"},
        {"email": "a@example.com", "enabled": "on", "language": "fr"},
        {"email": "a" * 300 + "@example.com", "language": "en"},
    ],
)
def test_bad_input_is_a_form_error_not_a_server_error(client: Client, alice: User, data: dict[str, str]) -> None:
    client.force_login(alice)
    response = client.post("/account/notifications/", data)
    assert response.status_code == 200
    assert response.context["form"].errors
    alice.refresh_from_db()
    assert alice.email == ""


# --- membership status ------------------------------------------------------------------------------------


def test_a_membership_change_is_written_to_the_household_in_its_language(
    household: tuple[Membership, Membership], alice: User, django_capture_on_commit_callbacks: Capture
) -> None:
    _subscribe(alice, language="zh-hans")
    _payer, child = household
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=child, by=alice)
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "张小明" in message.subject
    assert "已退出" in message.subject or "已退出" in message.body


def test_the_same_change_in_english(
    household: tuple[Membership, Membership], alice: User, django_capture_on_commit_callbacks: Capture
) -> None:
    _subscribe(alice, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=household[1], by=alice)
    [message] = mail.outbox
    assert "exited" in message.subject
    assert "张小明: exited" in message.body


@pytest.mark.parametrize("settings_", [{"on": False}, {"email": ""}])
def test_nobody_is_written_to_who_turned_it_off_or_gave_no_address(
    household: tuple[Membership, Membership],
    alice: User,
    settings_: dict[str, Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(alice, **settings_)
    with django_capture_on_commit_callbacks(execute=True):
        membership_exit(membership=household[1], by=alice)
    assert mail.outbox == []


def test_the_daily_job_writes_one_e_mail_per_household(
    household: tuple[Membership, Membership], alice: User, django_capture_on_commit_callbacks: Capture
) -> None:
    from members.services import memberships_daily

    _subscribe(alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert memberships_daily(on=date(2025, 4, 11)).activated == 2
    [message] = mail.outbox
    assert "Alice" not in message.body
    assert "张三: covered" in message.body and "张小明: covered" in message.body


# --- claim status -----------------------------------------------------------------------------------------


def test_a_claim_status_change_is_written_to_the_household(
    household: tuple[Membership, Membership],
    alice: User,
    admin_user: User,
    plan: Plan,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(alice, language="zh-hans")
    condition = plan.conditions.order_by("code").first()
    assert condition is not None
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_file(
            member=household[1],
            by=alice,
            kind="accident",
            condition=condition,
            diagnosed_on=timezone.localdate() - timedelta(days=2),
            hospital="北京协和医院",
            description="Fell from a tree.",
        )
    with django_capture_on_commit_callbacks(execute=True):
        claim_start_investigation(claim=claim, by=admin_user)
    filed, investigating = mail.outbox
    assert "已提交" in filed.subject
    assert "调查中" in investigating.subject
    assert condition.name_zh in investigating.body
    assert f"{claim.pk}" in investigating.body


def test_a_claim_email_in_english_names_the_condition_in_english(
    household: tuple[Membership, Membership], alice: User, plan: Plan, django_capture_on_commit_callbacks: Capture
) -> None:
    _subscribe(alice, language="en")
    condition = plan.conditions.order_by("code").first()
    assert condition is not None
    with django_capture_on_commit_callbacks(execute=True):
        claim_file(
            member=household[0],
            by=alice,
            kind="accident",
            condition=condition,
            diagnosed_on=timezone.localdate() - timedelta(days=2),
            hospital="北京协和医院",
            description="Fell from a tree.",
        )
    [message] = mail.outbox
    assert "submitted" in message.subject
    assert condition.name_en in message.body


# --- the charge published on the notice day ----------------------------------------------------------------


def _approved_claim(plan: Plan, payout_fen: int) -> None:
    [claimant] = add_members(plan, 1, joined_on=date(2024, 1, 1))
    condition = plan.conditions.order_by("code").first()
    assert condition is not None
    Claim.objects.create(
        member=claimant,
        person_id=claimant.person_id,
        kind="accident",
        condition=condition,
        diagnosed_on=date(2025, 5, 1),
        hospital="北京协和医院",
        description="—",
        status=ClaimStatus.APPROVED,
        payout_fen=payout_fen,
        age_at_diagnosis=35,
        decided_at=datetime(2025, 6, 1, 12, tzinfo=ZoneInfo("Asia/Shanghai")),
    )


@pytest.fixture
def notice_day(plan: Plan, household: tuple[Membership, Membership], settings: Any) -> Callable[..., Period]:
    """100 sharers on the notice day (alice's household of two among them) and one approved claim."""
    settings.SETTLEMENT_CHUNK_SIZE = 16  # a handful of chunks of payer ids
    add_members(plan, 97, joined_on=date(2025, 1, 1))
    _approved_claim(plan, 30_000_000)

    def _open(capture: Capture) -> Period:
        with capture(execute=True):
            period = period_open(plan=plan, on=NOTICE_DAY)
        assert period is not None
        return period

    return _open


def test_the_notice_day_tells_each_household_what_it_will_be_charged(
    notice_day: Callable[..., Period], alice: User, django_capture_on_commit_callbacks: Capture
) -> None:
    _subscribe(alice, language="en")
    notice_day(django_capture_on_commit_callbacks)
    [message] = mail.outbox
    # 324,000 yuan over 100 sharers is 3,240 yuan each, capped at 0.10 yuan per claim: 0.20 for two people.
    assert message.to == ["alice@example.com"]
    assert "about 0.20 yuan" in message.subject
    assert "June 14, 2025" in message.subject
    assert "charged about 0.20 yuan on June 14, 2025 for 1 claim." in message.body
    assert "0.10 yuan for each of the 2 people" in message.body
    assert "100 members" in message.body


def test_the_charge_email_in_chinese_has_the_chinese_date(
    notice_day: Callable[..., Period], alice: User, django_capture_on_commit_callbacks: Capture
) -> None:
    _subscribe(alice, language="zh-hans")
    notice_day(django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert "2025年6月14日" in message.body


def test_the_charge_email_goes_once_even_when_the_jobs_run_again(
    notice_day: Callable[..., Period],
    alice: User,
    charlie: User,
    enrol: Callable[..., Membership],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(alice)
    _subscribe(enrol(account=charlie, on=date(2025, 1, 10)).account or charlie, email="c@example.com", on=False)
    period = notice_day(django_capture_on_commit_callbacks)
    notice_day(django_capture_on_commit_callbacks)  # the notice-day job again: the period exists, nobody is told
    notify_charge_published.delay(period.pk)  # the task itself again (a redelivered message)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert NotificationMark.objects.filter(key__startswith=f"charge-published:{period.pk}:").count() >= 7


def test_a_chunk_reads_its_payers_in_a_fixed_number_of_queries(
    plan: Plan, notice_day: Callable[..., Period], alice: User, django_capture_on_commit_callbacks: Capture
) -> None:
    period = notice_day(django_capture_on_commit_callbacks)
    _subscribe(alice)
    estimate = notifications.charge_estimate(period=period)
    with CaptureQueriesContext(connection) as queries:
        assert notifications.charge_published_chunk_emails(estimate=estimate, lo=1, hi=10_000) == 1  # another key
    # the period, the mark (with its savepoint), the payers with their logins and sharers, the mark again
    assert len(queries) <= 8, [q["sql"][:80] for q in queries]


# --- configuration ----------------------------------------------------------------------------------------

_SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.EMAIL_BACKEND, getattr(s, 'EMAIL_HOST', ''), getattr(s, 'EMAIL_PORT', 0), "
    "getattr(s, 'EMAIL_USE_TLS', False), s.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES]))"
)


def test_the_mail_server_is_read_from_email_url() -> None:
    import json

    from tests.test_settings import production_env, python, run

    result = run(python(_SHOW), production_env(EMAIL_URL="smtp+tls://notify:secret@smtp.example.com:587"))
    assert result.returncode == 0, result.stderr
    backend, host, port, tls, private = json.loads(result.stdout.strip().splitlines()[-1])
    assert (backend, host, port, tls) == ("django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", 587, True)
    assert private is False, "production sends webhooks to public addresses only"


def test_without_email_url_messages_go_to_the_log_and_a_bad_one_is_refused_without_its_password() -> None:
    import json

    from tests.test_settings import production_env, python, refusal, run

    result = run(python(_SHOW), production_env())
    assert json.loads(result.stdout.strip().splitlines()[-1])[0] == "django.core.mail.backends.console.EmailBackend"
    message = refusal(run(python(_SHOW), production_env(EMAIL_URL="imap://notify:hunter2@mail.example.com")))
    assert "EMAIL_URL" in message and "hunter2" not in message
