"""The claims review queue and the claim page in admin: filters, search, query count, what the page shows,
document downloads, and who may see any of it. The decision buttons are in test_admin_claim_decisions.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, ClaimDocument, ClaimStatus, CoveredCondition, Notice
from claims.services import (
    claim_approve,
    claim_document_add,
    claim_file,
    claim_reject,
    claim_start_investigation,
    claim_withdraw,
    notices_publish,
    objection_file,
)
from members.models import Membership, User

CHANGELIST = reverse("admin:claims_claim_changelist")
BEIJING = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
Enrol = Callable[..., Membership]


# --- helpers shared with the decision tests ---------------------------------------------------------


def covered_member(enrol: Enrol, **kwargs: Any) -> Membership:
    """A member who joined well over a year ago, so an illness today is past the waiting period."""
    kwargs.setdefault("on", timezone.localdate() - timedelta(days=400))
    return enrol(**kwargs)


def file_claim(
    member: Membership,
    *,
    kind: str = "illness",
    diagnosed_on: date | None = None,
    condition: CoveredCondition | None = None,
    hospital: str = "北京协和医院",
) -> Claim:
    return claim_file(
        member=member,
        by=member.account,
        kind=kind,
        condition=condition or member.plan.conditions.order_by("code").first(),  # type: ignore[arg-type]
        diagnosed_on=diagnosed_on or timezone.localdate() - timedelta(days=10),
        hospital=hospital,
        description="确诊后住院治疗，诊断证明见附件。",
    )


def staff_client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def change_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


def document_url(claim: Claim, document: ClaimDocument) -> str:
    return reverse("admin:claims_claim_document", args=[claim.pk, document.pk])


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def staff(admin_user: User) -> Client:
    return staff_client(admin_user)


@pytest.fixture
def admin2(db: Any) -> User:
    return User.objects.create_superuser(username="admin2", password="admin2-pass-123", email="admin2@example.com")


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def filed(enrol: Enrol, alice: User) -> Claim:
    """Alice's own claim for an illness diagnosed ten days ago: submitted."""
    return file_claim(covered_member(enrol, account=alice, name="王芳"))


def listed(client: Client, **params: str) -> list[int]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return [c.pk for c in response.context["cl"].result_list]


# --- who may see it -----------------------------------------------------------------------------


def claims_admin_pages(claim: Claim, document: ClaimDocument) -> list[str]:
    notice = Notice.objects.first()
    transition = claim.transitions.first()
    assert transition is not None
    pages = [
        CHANGELIST,
        change_url(claim),
        reverse("admin:claims_claim_history", args=[claim.pk]),
        document_url(claim, document),
        reverse("admin:claims_claimtransition_changelist"),
        reverse("admin:claims_claimtransition_change", args=[transition.pk]),
        reverse("admin:claims_notice_changelist"),
        reverse("admin:claims_coveredcondition_changelist"),
    ]
    if notice is not None:
        pages.append(reverse("admin:claims_notice_change", args=[notice.pk]))
    return pages


def test_it_sends_members_and_visitors_to_the_admin_login_from_every_claims_page(
    client: Client, alice: User, filed: Claim, media: Any
) -> None:
    document = claim_document_add(claim=filed, upload=SimpleUploadedFile("report.pdf", PDF), by=alice)
    client.force_login(alice)
    for page in claims_admin_pages(filed, document):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("admin:login")), page
    response = client.post(
        reverse("admin:claims_claim_transition", args=[filed.pk]),
        {"action": "start_investigation", "expected_status": "submitted"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    filed.refresh_from_db()
    assert filed.status == ClaimStatus.SUBMITTED


def test_it_refuses_staff_without_claim_permissions(alice: User, filed: Claim, media: Any) -> None:
    document = claim_document_add(claim=filed, upload=SimpleUploadedFile("report.pdf", PDF), by=alice)
    clerk = User.objects.create_user(username="clerk", password="clerk-pass-123", is_staff=True)
    client = staff_client(clerk)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(filed)).status_code == 403
    assert client.get(document_url(filed, document)).status_code == 403
    response = client.post(
        reverse("admin:claims_claim_transition", args=[filed.pk]),
        {"action": "start_investigation", "expected_status": "submitted"},
    )
    assert response.status_code == 403
    filed.refresh_from_db()
    assert filed.status == ClaimStatus.SUBMITTED


def test_it_lets_staff_with_view_permission_read_a_claim_but_not_decide_it(filed: Claim) -> None:
    reader = User.objects.create_user(username="reader", password="reader-pass-123", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_claim"))
    client = staff_client(reader)
    html = client.get(change_url(filed)).content.decode()
    assert "王芳" in html
    assert "You may read this claim but not decide it." in html
    assert 'name="action"' not in html
    response = client.post(
        reverse("admin:claims_claim_transition", args=[filed.pk]),
        {"action": "start_investigation", "expected_status": "submitted"},
    )
    assert response.status_code == 403
    filed.refresh_from_db()
    assert filed.status == ClaimStatus.SUBMITTED


def test_it_has_no_add_edit_or_delete_for_claims(staff: Client, filed: Claim) -> None:
    assert staff.get(reverse("admin:claims_claim_add")).status_code == 403
    assert staff.get(reverse("admin:claims_claim_delete", args=[filed.pk])).status_code == 403
    response = staff.post(change_url(filed), {"status": "approved", "payout_fen": "30000000", "hospital": "x"})
    assert response.status_code == 403
    filed.refresh_from_db()
    assert (filed.status, filed.payout_fen, filed.hospital) == (ClaimStatus.SUBMITTED, None, "北京协和医院")


def test_it_never_lets_anyone_edit_or_delete_a_timeline_step(staff: Client, filed: Claim) -> None:
    step = filed.transitions.get()
    url = reverse("admin:claims_claimtransition_change", args=[step.pk])
    assert staff.get(url).status_code == 200
    assert staff.post(url, {"note": "rewritten", "to_status": "approved"}).status_code == 403
    assert staff.get(reverse("admin:claims_claimtransition_delete", args=[step.pk])).status_code == 403
    assert staff.get(reverse("admin:claims_claimtransition_add")).status_code == 403
    step.refresh_from_db()
    assert (step.to_status, step.note) == ("submitted", "")


# --- the queue ----------------------------------------------------------------------------------


def test_it_lists_claims_with_member_condition_and_masked_id_number(staff: Client, filed: Claim) -> None:
    html = staff.get(CHANGELIST).content.decode()
    assert f"#{filed.pk}" in html
    assert "王芳" in html
    assert filed.member.person.id_number_masked in html
    assert filed.condition.code in html
    assert "submitted" in html


def test_it_shows_the_payout_in_yuan_once_approved(staff: Client, filed: Claim, admin_user: User, admin2: User) -> None:
    claim_start_investigation(claim=filed, by=admin_user)
    claim_approve(claim=filed, by=admin_user)
    claim_approve(claim=filed, by=admin2)
    assert "300,000.00" in staff.get(CHANGELIST).content.decode()


def test_it_puts_claims_awaiting_a_decision_first_the_longest_waiting_on_top(
    staff: Client, enrol: Enrol, admin_user: User
) -> None:
    def file_at(day: int) -> Claim:
        with time_machine.travel(datetime(2026, 3, day, 10, tzinfo=BEIJING), tick=False):
            return file_claim(covered_member(enrol, on=date(2025, 1, 1)), diagnosed_on=date(2026, 2, 20))

    decided_old, waiting_new, decided_new, waiting_old = file_at(1), file_at(5), file_at(6), file_at(2)
    claim_withdraw(claim=decided_old, by=admin_user)
    claim_reject(claim=decided_new, by=admin_user, reason="fraud")
    claim_start_investigation(claim=waiting_new, by=admin_user)
    assert listed(staff) == [waiting_old.pk, waiting_new.pk, decided_new.pk, decided_old.pk]


def test_it_filters_by_status(staff: Client, enrol: Enrol, admin_user: User) -> None:
    submitted = file_claim(covered_member(enrol))
    investigating = claim_start_investigation(claim=file_claim(covered_member(enrol)), by=admin_user)
    assert listed(staff, status__exact="submitted") == [submitted.pk]
    assert listed(staff, status__exact="investigating") == [investigating.pk]


def test_it_filters_by_kind(staff: Client, enrol: Enrol) -> None:
    illness = file_claim(covered_member(enrol))
    accident = file_claim(covered_member(enrol), kind="accident")
    assert listed(staff, kind__exact="accident") == [accident.pk]
    assert listed(staff, kind__exact="illness") == [illness.pk]


def test_it_filters_by_condition(staff: Client, enrol: Enrol, plan: Any) -> None:
    first, second = plan.conditions.order_by("code")[:2]
    cancer = file_claim(covered_member(enrol), condition=first)
    file_claim(covered_member(enrol), condition=second)
    assert listed(staff, condition__id__exact=str(first.pk)) == [cancer.pk]


def test_it_filters_by_age_at_diagnosis_on_the_birthday_boundaries(staff: Client, enrol: Enrol) -> None:
    diagnosed = date(2026, 3, 10)

    def aged(birth_date: date) -> int:
        member = covered_member(enrol, birth_date=birth_date, on=date(2025, 1, 1))
        return file_claim(member, diagnosed_on=diagnosed).pk

    thirty_nine = aged(date(1986, 3, 11))  # 40 the day after the diagnosis
    forty = aged(date(1986, 3, 10))  # 40 on the day of the diagnosis
    fifty_nine = aged(date(1966, 3, 11))
    assert set(listed(staff, age_at_diagnosis="18-39")) == {thirty_nine}
    assert set(listed(staff, age_at_diagnosis="40-59")) == {forty, fifty_nine}
    assert listed(staff, age_at_diagnosis="0-17") == []


def test_it_counts_a_29_february_birthday_from_1_march_in_a_common_year(staff: Client, enrol: Enrol) -> None:
    def leapling_diagnosed_on(day: date) -> int:
        member = covered_member(enrol, birth_date=date(2008, 2, 29), on=date(2025, 1, 1))
        return file_claim(member, diagnosed_on=day).pk

    seventeen = leapling_diagnosed_on(date(2026, 2, 28))
    eighteen = leapling_diagnosed_on(date(2026, 3, 1))
    assert listed(staff, age_at_diagnosis="0-17") == [seventeen]
    assert listed(staff, age_at_diagnosis="18-39") == [eighteen]


def test_it_filters_by_diagnosis_within_or_after_the_waiting_period(staff: Client, enrol: Enrol) -> None:
    joined = timezone.localdate() - timedelta(days=120)
    member = enrol(on=joined)
    last_waiting_day = member.waiting_period_ends
    within = file_claim(member, diagnosed_on=last_waiting_day)
    after = file_claim(enrol(on=joined), diagnosed_on=last_waiting_day + timedelta(days=1))
    assert listed(staff, waiting_period="within") == [within.pk]
    assert listed(staff, waiting_period="after") == [after.pk]


def test_it_filters_by_days_since_filing_in_beijing_days(staff: Client, enrol: Enrol) -> None:
    def file_at(moment: datetime) -> int:
        with time_machine.travel(moment, tick=False):
            member = covered_member(enrol, on=date(2025, 1, 1))
            return file_claim(member, diagnosed_on=date(2026, 5, 1)).pk

    seven = file_at(datetime(2026, 6, 23, 0, 30, tzinfo=BEIJING))
    eight = file_at(datetime(2026, 6, 22, 23, 50, tzinfo=BEIJING))
    thirty = file_at(datetime(2026, 5, 31, 10, 0, tzinfo=BEIJING))
    thirty_one = file_at(datetime(2026, 5, 30, 23, 59, tzinfo=BEIJING))
    with time_machine.travel(datetime(2026, 6, 30, 10, 0, tzinfo=BEIJING), tick=False):
        assert set(listed(staff, filed_days="0-7")) == {seven}
        assert set(listed(staff, filed_days="8-30")) == {eight, thirty}
        assert set(listed(staff, filed_days="31-")) == {thirty_one}


def test_it_searches_by_claim_number(staff: Client, enrol: Enrol) -> None:
    claims = [file_claim(covered_member(enrol, name="李四")) for _ in range(3)]
    target = claims[1]
    assert target.pk in listed(staff, q=str(target.pk))
    assert target.pk in listed(staff, q=f"#{target.pk}")
    assert claims[0].pk not in listed(staff, q=f"#{target.pk}")


def test_it_searches_by_member_name(staff: Client, enrol: Enrol) -> None:
    li = file_claim(covered_member(enrol, name="李四"))
    file_claim(covered_member(enrol, name="张三"))
    assert listed(staff, q="李四") == [li.pk]


def test_it_searches_by_hospital(staff: Client, enrol: Enrol) -> None:
    huashan = file_claim(covered_member(enrol), hospital="复旦大学附属华山医院")
    file_claim(covered_member(enrol))
    assert listed(staff, q="华山") == [huashan.pk]


def test_it_searches_by_the_last_characters_of_the_id_number(staff: Client, enrol: Enrol) -> None:
    claims = [file_claim(covered_member(enrol)) for _ in range(3)]
    target = claims[1]
    tail = target.member.person.id_number_masked[-4:]
    expected = {c.pk for c in claims if c.member.person.id_number_masked.endswith(tail)}
    assert set(listed(staff, q=tail)) >= expected
    assert target.pk in listed(staff, q=tail.lower())


def test_it_lists_claims_in_a_constant_number_of_queries(staff: Client, enrol: Enrol) -> None:
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(CHANGELIST).status_code == 200
        return len(queries)

    for _ in range(2):
        file_claim(covered_member(enrol))
    with_two = count_queries()
    for _ in range(10):
        file_claim(covered_member(enrol), kind="accident")
    assert Claim.objects.count() == 12
    assert count_queries() == with_two


# --- the claim page -----------------------------------------------------------------------------


def test_it_links_the_claim_page_to_the_member_page(staff: Client, filed: Claim) -> None:
    html = staff.get(change_url(filed)).content.decode()
    assert reverse("admin:members_membership_change", args=[filed.member_id]) in html
    assert filed.member.person.id_number_masked in html


def test_it_shows_the_members_health_declaration(staff: Client, filed: Claim) -> None:
    question = filed.member.plan.health_questions.order_by("position", "code").first()
    assert question is not None
    html = staff.get(change_url(filed)).content.decode()
    assert question.text_en in html


def test_it_links_the_earlier_claims_of_the_same_person(staff: Client, enrol: Enrol, admin_user: User) -> None:
    member = covered_member(enrol)
    earlier = file_claim(member)
    claim_withdraw(claim=earlier, by=admin_user, note="filed twice")
    later = file_claim(member)
    html = staff.get(change_url(later)).content.decode()
    assert change_url(earlier) in html


def test_it_warns_when_an_illness_was_diagnosed_in_the_waiting_period(staff: Client, enrol: Enrol) -> None:
    member = enrol(on=timezone.localdate() - timedelta(days=30))
    claim = file_claim(member, diagnosed_on=timezone.localdate() - timedelta(days=2))
    accident = file_claim(
        enrol(on=timezone.localdate() - timedelta(days=30)),
        kind="accident",
        diagnosed_on=timezone.localdate() - timedelta(days=2),
    )
    assert "diagnosed within the waiting period" in staff.get(change_url(claim)).content.decode()
    assert "diagnosed within the waiting period" not in staff.get(change_url(accident)).content.decode()


def test_it_shows_every_step_of_the_timeline(staff: Client, filed: Claim, admin_user: User, admin2: User) -> None:
    claim_start_investigation(claim=filed, by=admin_user, note="asked the hospital")
    claim_approve(claim=filed, by=admin_user)
    claim_reject(claim=filed, by=admin2, reason="fraud", note="forged report")
    html = staff.get(change_url(filed)).content.decode()
    for text in [
        "filed",
        "investigation started",
        "asked the hospital",
        "approval proposed",
        "rejected",
        "forged report",
        "(fraud)",
        "admin2",
    ]:
        assert text in html, text
    assert filed.transitions.count() == 4


NOTICE_DAY = datetime(2026, 6, 7, 10, 0, tzinfo=BEIJING)


def published_claim(enrol: Enrol, by: User, confirmed_by: User) -> Claim:
    """A claim approved by two admins the day before the notice day of 7 June 2026, then published."""
    with time_machine.travel(NOTICE_DAY - timedelta(days=1), tick=False):
        claim = file_claim(covered_member(enrol, name="王芳"))
        claim_start_investigation(claim=claim, by=by)
        claim_approve(claim=claim, by=by)
        claim_approve(claim=claim, by=confirmed_by)
    notices_publish(plan=claim.member.plan, on=NOTICE_DAY.date())
    claim.refresh_from_db()
    return claim


@time_machine.travel(NOTICE_DAY, tick=False)
def test_it_shows_the_objections_to_a_published_claim(
    staff: Client, enrol: Enrol, charlie: User, admin_user: User, admin2: User
) -> None:
    claim = published_claim(enrol, admin_user, admin2)
    covered_member(enrol, account=charlie, name="赵六")
    objection_file(claim=claim, by=charlie, reason="他上个月还在工地干活。")
    html = staff.get(change_url(claim)).content.decode()
    assert "他上个月还在工地干活。" in html
    assert charlie.username in html


def test_it_never_shows_the_raw_id_number(staff: Client, filed: Claim, admin_user: User, media: Any) -> None:
    claim_document_add(claim=filed, upload=SimpleUploadedFile("report.pdf", PDF), by=None)
    claim_start_investigation(claim=filed, by=admin_user)
    raw = filed.member.person.reveal_id_number()
    pages = [
        CHANGELIST,
        change_url(filed),
        f"{CHANGELIST}?q={filed.member.person.id_number_masked[-4:]}",
        reverse("admin:claims_claim_history", args=[filed.pk]),
        reverse("admin:claims_claimtransition_changelist"),
    ]
    for page in pages:
        response = staff.get(page)
        assert response.status_code == 200, page
        assert raw not in response.content.decode(), page


# --- documents ----------------------------------------------------------------------------------


def test_it_links_each_document_for_download_from_the_claim_page(staff: Client, filed: Claim, media: Any) -> None:
    document = claim_document_add(claim=filed, upload=SimpleUploadedFile("诊断证明.pdf", PDF), by=None)
    html = staff.get(change_url(filed)).content.decode()
    assert document_url(filed, document) in html
    assert "诊断证明.pdf" in html


def test_it_serves_a_document_as_an_attachment_never_inline(staff: Client, filed: Claim, media: Any) -> None:
    document = claim_document_add(claim=filed, upload=SimpleUploadedFile("report.pdf", PDF), by=None)
    response = staff.get(document_url(filed, document))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "report.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]


def test_it_answers_404_for_a_document_under_another_claims_address(
    staff: Client, filed: Claim, enrol: Enrol, media: Any
) -> None:
    other = file_claim(covered_member(enrol))
    document = claim_document_add(claim=other, upload=SimpleUploadedFile("report.pdf", PDF), by=None)
    assert staff.get(document_url(filed, document)).status_code == 404


# --- notices ------------------------------------------------------------------------------------


@time_machine.travel(NOTICE_DAY, tick=False)
def test_it_lists_notices_with_their_number_of_claims(
    staff: Client, enrol: Enrol, admin_user: User, admin2: User
) -> None:
    claim = published_claim(enrol, admin_user, admin2)
    assert claim.notice is not None
    response = staff.get(reverse("admin:claims_notice_changelist"))
    assert response.status_code == 200
    [row] = response.context["cl"].result_list
    assert (row.notice_date, row.charge_date, row.claim_count) == (date(2026, 6, 7), date(2026, 6, 14), 1)
    assert staff.get(reverse("admin:claims_notice_add")).status_code == 403
    html = staff.get(reverse("admin:claims_notice_change", args=[claim.notice.pk])).content.decode()
    assert change_url(claim) in html
