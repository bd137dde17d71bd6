"""The juror pages, the claimant's appeal on the claim page, the public period report and the admin.

Pages are asked for in English (the language cookie), so the texts matched are the source texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from claims.models import Claim, ClaimStatus
from jury.models import Appeal, AppealStatus, Juror, Vote
from jury.services import appeal_close
from members.models import Membership, MembershipStatus, Plan, User
from settlement.models import Period
from settlement.services import period_jobs_run
from tests.claims.conftest import DECISION_DAY, PDF_BYTES, on_day
from tests.jury.conftest import DEADLINE, FINDING, STATEMENT, VOTE_AT, cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_vote_time() -> Iterator[None]:
    with time_machine.travel(VOTE_AT, tick=False):
        yield


def client_for(user: User | None = None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


# --- becoming a juror ---------------------------------------------------------------------------------


def test_the_jury_page_shows_the_rules_and_the_test(
    make_juror: Callable[..., User], jury_plan: Plan, at_vote_time: None
) -> None:
    page = client_for(make_juror(qualified=False)).get(reverse("jury:home"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "The juror rules" in html and 'id="juror-test"' in html
    assert html.count('type="radio"') == sum(len(q.choices_en) for q in jury_plan.juror_questions.all())


def test_a_member_passes_the_test_on_the_page(
    make_juror: Callable[..., User], jury_plan: Plan, at_vote_time: None
) -> None:
    user = make_juror(qualified=False)
    data: dict[str, Any] = {
        f"q_{code}": answer for code, answer in jury_plan.juror_questions.values_list("code", "answer")
    }
    page = client_for(user).post(reverse("jury:home"), {**data, "accept_rules": "on"})
    assert page.status_code == 200
    assert "You passed the juror test: 7 of 7" in page.content.decode()
    assert Juror.objects.get(user=user).qualified


def test_a_test_without_the_rules_accepted_is_a_form_error(
    make_juror: Callable[..., User], jury_plan: Plan, at_vote_time: None
) -> None:
    user = make_juror(qualified=False)
    data = {f"q_{code}": answer for code, answer in jury_plan.juror_questions.values_list("code", "answer")}
    page = client_for(user).post(reverse("jury:home"), data)
    assert "Accept the juror rules to take part." in page.content.decode()
    assert not Juror.objects.exists()


def test_nonsense_answers_are_a_form_error_not_a_crash(
    make_juror: Callable[..., User], jury_plan: Plan, at_vote_time: None
) -> None:
    page = client_for(make_juror(qualified=False)).post(
        reverse("jury:home"), {"q_J1": "drop table", "accept_rules": "on"}
    )
    assert page.status_code == 200
    assert "Choose an answer." in page.content.decode() or "Select a valid choice" in page.content.decode()
    assert not Juror.objects.exists()


def test_a_new_member_is_told_why_and_gets_no_test(
    make_juror: Callable[..., User], jury_plan: Plan, at_vote_time: None
) -> None:
    user = make_juror(qualified=False, joined_on=date(2025, 5, 20))
    html = client_for(user).get(reverse("jury:home")).content.decode()
    assert 'data-refusal="too_new"' in html and 'id="juror-test"' not in html


def test_the_open_cases_are_for_jurors_only(
    make_juror: Callable[..., User], appeal: Appeal, at_vote_time: None
) -> None:
    page = client_for(make_juror(qualified=False)).get(reverse("jury:cases"))
    assert page.status_code == 302 and page["Location"] == reverse("jury:home")
    page = client_for(make_juror()).get(reverse("jury:cases"))
    assert reverse("jury:case", args=[appeal.pk]) in page.content.decode()


def test_the_juror_pages_need_a_login(appeal: Appeal) -> None:
    for url in (reverse("jury:home"), reverse("jury:cases"), reverse("jury:case", args=[appeal.pk])):
        assert client_for().get(url).status_code == 302


# --- the case: anonymised, results hidden until the close ---------------------------------------------


def test_the_case_page_never_shows_who_the_claimant_is(
    rejected: Claim, appeal: Appeal, make_juror: Callable[..., User], at_vote_time: None
) -> None:
    document = _attach_document(rejected)
    person = rejected.member.person
    html = client_for(make_juror()).get(reverse("jury:case", args=[appeal.pk])).content.decode()
    assert escape(STATEMENT) in html and escape(FINDING) in html and rejected.condition.name_en in html
    for secret in (
        person.name,
        person.id_number_masked,
        person.id_number_masked[-4:],
        rejected.hospital,
        document.name,
    ):
        assert secret not in html
    assert "/claims/documents/" not in html and reverse("claims:detail", args=[rejected.pk]) not in html


def _attach_document(claim: Claim) -> Any:
    """A document on the claim, as filing would have stored it (the service refuses a rejected claim)."""
    from claims.models import ClaimDocument

    return ClaimDocument.objects.create(
        claim=claim,
        file=SimpleUploadedFile("x.pdf", PDF_BYTES),
        name="诊断证明-张三.pdf",
        content_type="application/pdf",
        size=len(PDF_BYTES),
        sha256="0" * 64,
    )


def test_the_results_are_hidden_while_the_vote_is_open(
    appeal: Appeal, jurors: list[User], make_juror: Callable[..., User], at_vote_time: None
) -> None:
    cast(appeal, jurors, for_claimant=2, against=1)
    html = client_for(make_juror()).get(reverse("jury:case", args=[appeal.pk])).content.decode()
    assert 'id="result"' not in html and "for the claimant," not in html


def test_the_results_are_shown_once_the_vote_has_closed(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=3, against=1)
    with on_day(date(2025, 6, 9), hour=11):
        appeal_close(appeal_id=appeal.pk, now=DEADLINE)
        html = client_for(jurors[0]).get(reverse("jury:case", args=[appeal.pk])).content.decode()
    assert "3 for the claimant, 1 against." in html and "Approved on appeal" in html


def test_a_juror_votes_on_the_page_once(appeal: Appeal, make_juror: Callable[..., User], at_vote_time: None) -> None:
    user = make_juror()
    client = client_for(user)
    url = reverse("jury:case", args=[appeal.pk])
    assert client.post(url, {"vote": "for"}).status_code == 302
    again = client.post(url, {"vote": "against"})
    assert again.status_code == 400
    assert "You have already voted on this appeal" in again.content.decode()
    assert list(Vote.objects.values_list("for_claimant", flat=True)) == [True]
    assert "You voted for the claimant." in client.get(url).content.decode()


def test_a_bad_vote_is_a_form_error(appeal: Appeal, make_juror: Callable[..., User], at_vote_time: None) -> None:
    page = client_for(make_juror()).post(reverse("jury:case", args=[appeal.pk]), {"vote": "maybe"})
    assert page.status_code == 400 and not Vote.objects.exists()


def test_the_claimant_sees_no_vote_form_on_their_own_case(
    appeal: Appeal, alice: User, jury_plan: Plan, at_vote_time: None
) -> None:
    from tests.jury.conftest import qualify

    qualify(alice, jury_plan)
    client = client_for(alice)
    html = client.get(reverse("jury:case", args=[appeal.pk])).content.decode()
    assert "This is a claim of your own household" in html and 'name="vote"' not in html
    assert client.post(reverse("jury:case", args=[appeal.pk]), {"vote": "for"}).status_code == 400
    assert not Vote.objects.exists()


def test_an_unknown_case_is_404(make_juror: Callable[..., User], jury_plan: Plan) -> None:
    assert client_for(make_juror()).get(reverse("jury:case", args=[999])).status_code == 404


# --- the claimant's claim page ---------------------------------------------------------------------------


def test_the_claim_page_offers_the_appeal_within_30_days(rejected: Claim, alice: User) -> None:
    with on_day(DECISION_DAY + timedelta(days=30)):
        html = client_for(alice).get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    assert f'action="{reverse("jury:appeal", args=[rejected.pk])}"' in html and "until 2025-07-05" in html


def test_the_claim_page_offers_no_appeal_on_the_31st_day(rejected: Claim, alice: User) -> None:
    with on_day(DECISION_DAY + timedelta(days=31)):
        html = client_for(alice).get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    assert reverse("jury:appeal", args=[rejected.pk]) not in html


def test_the_claim_page_offers_no_appeal_the_service_would_refuse(rejected: Claim, alice: User) -> None:
    """The person was paid out since (a payout is once per person): the appeal would be refused, so the
    page does not offer it, whatever the window says."""
    Membership.objects.filter(pk=rejected.member_id).update(status=MembershipStatus.PAID_OUT)
    with on_day(DECISION_DAY + timedelta(days=3)):
        html = client_for(alice).get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    assert reverse("jury:appeal", args=[rejected.pk]) not in html


def test_the_claimant_appeals_from_the_claim_page(rejected: Claim, alice: User) -> None:
    with on_day(date(2025, 6, 6)):
        client = client_for(alice)
        page = client.post(reverse("jury:appeal", args=[rejected.pk]), {"statement": STATEMENT})
        assert page.status_code == 302 and page["Location"] == reverse("claims:detail", args=[rejected.pk])
        html = client.get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    appeal = Appeal.objects.get(claim=rejected)
    assert "Appealed to the jury" in html and "2025-06-09 12:00" in html  # the step and the deadline
    assert appeal.filed_by == alice and reverse("jury:appeal", args=[rejected.pk]) not in html


def test_an_empty_statement_is_a_form_error(rejected: Claim, alice: User) -> None:
    with on_day(date(2025, 6, 6)):
        page = client_for(alice).post(reverse("jury:appeal", args=[rejected.pk]), {"statement": ""})
    assert page.status_code == 200 and "the jurors read your statement" in page.content.decode()
    assert not Appeal.objects.exists()


def test_a_late_appeal_is_refused_with_a_message(rejected: Claim, alice: User) -> None:
    with on_day(DECISION_DAY + timedelta(days=31)):
        page = client_for(alice).post(reverse("jury:appeal", args=[rejected.pk]), {"statement": STATEMENT})
    assert page.status_code == 200 and "the last day was 2025-07-05" in page.content.decode()


def test_another_household_cannot_appeal_the_claim(rejected: Claim, charlie: User) -> None:
    with on_day(date(2025, 6, 6)):
        assert (
            client_for(charlie).post(reverse("jury:appeal", args=[rejected.pk]), {"statement": "x"}).status_code == 404
        )
    assert not Appeal.objects.exists()


def test_the_claim_page_shows_the_outcome_and_counts_on_the_timeline(
    appeal: Appeal, jurors: list[User], alice: User, settings: Any
) -> None:
    settings.LANGUAGE_CODE = "en"  # the timeline's note is a record, written in the site's language
    cast(appeal, jurors, for_claimant=1, against=3)
    with on_day(date(2025, 6, 9), hour=11):
        appeal_close(appeal_id=appeal.pk, now=DEADLINE)
        html = client_for(alice).get(reverse("claims:detail", args=[appeal.claim_id])).content.decode()
    assert "Rejection upheld on appeal" in html
    assert "1 for the claimant, 3 against" in html and "2025-06-09 10:00" in html


# --- the public period report -------------------------------------------------------------------------


def test_the_period_report_says_the_claim_was_approved_on_appeal(
    appeal: Appeal, jurors: list[User], jury_plan: Plan
) -> None:
    cast(appeal, jurors, for_claimant=3, against=1)
    with on_day(date(2025, 6, 9), hour=11):
        appeal_close(appeal_id=appeal.pk, now=DEADLINE)
    with on_day(date(2025, 6, 21), hour=0):
        period_jobs_run(on=date(2025, 6, 21))
    period = Period.objects.get()
    assert Claim.objects.get(pk=appeal.claim_id).status == ClaimStatus.IN_NOTICE
    html = client_for().get(reverse("settlement:period", args=[period.pk])).content.decode()
    assert "Approved on appeal by the jury: 3 for, 1 against." in html


# --- admin ---------------------------------------------------------------------------------------------


def test_the_admin_lists_appeals_with_live_counts(appeal: Appeal, jurors: list[User], admin_user: User) -> None:
    cast(appeal, jurors, for_claimant=2, against=1)
    page = client_for(admin_user).get(reverse("admin:jury_appeal_changelist"))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<td class="field-live_for_column">2</td>' in html and '<td class="field-live_against_column">1</td>' in html


def test_the_admin_filters_the_escalated_queue(appeal: Appeal, jurors: list[User], admin_user: User) -> None:
    cast(appeal, jurors, for_claimant=1, against=0)
    client = client_for(admin_user)
    queue = reverse("admin:jury_appeal_changelist") + "?status__exact=escalated"
    link = reverse("admin:jury_appeal_change", args=[appeal.pk])
    assert link not in client.get(queue).content.decode()
    appeal_close(appeal_id=appeal.pk, now=DEADLINE)
    assert link in client.get(queue).content.decode()


def test_a_senior_admin_decides_an_escalated_appeal_with_a_button(
    appeal: Appeal, jurors: list[User], admin_user: User
) -> None:
    cast(appeal, jurors, for_claimant=1, against=0)
    with on_day(date(2025, 6, 9), hour=11):
        appeal_close(appeal_id=appeal.pk, now=DEADLINE)
        client = client_for(admin_user)
        change = client.get(reverse("admin:jury_appeal_change", args=[appeal.pk])).content.decode()
        assert reverse("admin:jury_appeal_decide", args=[appeal.pk]) in change
        page = client.post(reverse("admin:jury_appeal_decide", args=[appeal.pk]), {"decision": "approve", "note": "ok"})
    assert page.status_code == 302
    assert Appeal.objects.get(pk=appeal.pk).outcome == "approved"
    assert Claim.objects.get(pk=appeal.claim_id).status == ClaimStatus.APPROVED


def test_staff_without_the_senior_permission_get_no_buttons_and_cannot_post(appeal: Appeal, jurors: list[User]) -> None:
    cast(appeal, jurors, for_claimant=1, against=0)
    appeal_close(appeal_id=appeal.pk, now=DEADLINE)
    staff = User.objects.create_user(username="reader", password="reader-pass-123", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_appeal"))
    client = client_for(staff)
    change = client.get(reverse("admin:jury_appeal_change", args=[appeal.pk])).content.decode()
    assert reverse("admin:jury_appeal_decide", args=[appeal.pk]) not in change
    page = client.post(reverse("admin:jury_appeal_decide", args=[appeal.pk]), {"decision": "approve"})
    assert page.status_code == 403
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.ESCALATED


def test_the_appeal_list_reads_a_fixed_number_of_queries(
    appeal: Appeal, admin_user: User, django_assert_max_num_queries: Any
) -> None:
    client = client_for(admin_user)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:jury_appeal_changelist")).status_code == 200
