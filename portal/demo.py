"""Demo data for `make run`: a plan, an admin, one member's family and a few other households.

Everything is looked up before it is created, so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from stdnum.cn import ric

from claims.models import Claim, ClaimKind, CoveredCondition, RejectionReason
from claims.seeding import conditions_seed_default
from claims.services import (
    claim_approve,
    claim_document_add,
    claim_file,
    claim_reject,
    claim_start_investigation,
    notice_charge_date,
)
from jury.seeding import jury_seed_default
from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, Membership, Plan, User
from members.seeding import plan_seed_default
from members.services import membership_enrol, memberships_daily
from settlement.models import Charge, Period
from settlement.services import (
    member_counts_record,
    money_jobs_run,
    payment_record,
    payout_disburse,
    period_jobs_run,
    period_settle_chunk,
    period_settle_finish,
)

ADMIN_USERNAME = "admin"
# Approvals need two administrators (four eyes): the demo has a second one.
REVIEWER_USERNAME = "reviewer"
ADMIN_PASSWORD = "mutualaid-admin"  # noqa: S105  (demo only, printed by seed_demo)
MEMBER_PHONE = "13800138000"
MEMBER_PASSWORD = "mutualaid-demo"  # noqa: S105


def demo_id_number(birth_date: date, serial: int, *, male: bool) -> str:
    """A valid resident ID (region 110105, Beijing Chaoyang) for demo people."""
    sex_digit = (1 if male else 2) + 2 * (serial % 4)
    body = f"110105{birth_date:%Y%m%d}{serial % 100:02d}{sex_digit % 10}"
    return body + ric.calc_check_digit(body + "0")


@dataclass(frozen=True)
class DemoPerson:
    name: str
    birth_date: date
    male: bool
    relationship: str = "self"
    phone: str | None = None
    credit: int | None = 720


# Fixed birth dates keep the ID numbers, and so re-runs, stable; every demo person stays between 40 and 60
# (or under 40) until at least 2032, so the payout tiers the demo shows hold until then.
DEMO_HOUSEHOLDS: list[list[DemoPerson]] = [
    [
        DemoPerson("王建国", date(1988, 3, 14), True, phone=MEMBER_PHONE),
        DemoPerson("李秀英", date(1990, 8, 2), False, "spouse"),
        DemoPerson("王小明", date(2016, 6, 1), True, "child"),
        DemoPerson("王德福", date(1972, 1, 20), True, "parent"),
    ],
    [
        DemoPerson("张伟", date(1979, 11, 5), True, phone="13800138001"),
        DemoPerson("刘芳", date(1982, 2, 9), False, "spouse"),
    ],
    [DemoPerson("陈静", date(1995, 12, 30), False, phone="13800138002")],
    [DemoPerson("赵磊", date(1975, 7, 7), True, phone="13800138003", credit=None)],  # no bureau record: review
    # Two households whose claims the last settled period shared (see _seed_settled_period).
    [DemoPerson("孙丽", date(1990, 4, 18), False, phone="13800138004")],
    [DemoPerson("周强", date(1970, 9, 23), True, phone="13800138005")],
]
# Households that joined long ago (covered today); the others are still in their waiting period.
LONG_STANDING_HOUSEHOLDS = {0, 1, 4, 5}


@dataclass
class DemoResult:
    plan: Plan
    created: int


def seed_demo(*, today: date | None = None) -> DemoResult:
    today = today or timezone.localdate()
    with transaction.atomic():
        result = _seed_people_and_claims(today=today)
    # After the commit: settlement queues its work when a transaction commits.
    _seed_settled_period(plan=result.plan, today=today)
    # The nightly member counts the public charts read, as if the nightly job had run all along.
    for weeks_ago in range(30, -1, -1):
        member_counts_record(on=today - timedelta(weeks=weeks_ago))
    return result


def _seed_people_and_claims(*, today: date) -> DemoResult:
    plan = plan_seed_default()
    conditions_seed_default(plan=plan)
    jury_seed_default(plan=plan)
    if not User.objects.filter(username=ADMIN_USERNAME).exists():
        User.objects.create_superuser(username=ADMIN_USERNAME, password=ADMIN_PASSWORD, email="admin@example.com")
    answers = {code: False for code in plan.health_questions.values_list("code", flat=True)}
    created = 0
    serial = 0
    for household_index, household in enumerate(DEMO_HOUSEHOLDS):
        payer: Membership | None = None
        # Older households joined long ago, so the demo shows both covered and waiting members.
        joined_on = today - timedelta(days=200 if household_index in LONG_STANDING_HOUSEHOLDS else 20)
        for person in household:
            serial += 1
            number = demo_id_number(person.birth_date, serial, male=person.male)
            existing = Membership.objects.filter(person__id_number_hash=hash_id_number(number), plan=plan).first()
            if existing is not None:
                payer = payer or existing
                continue
            account = None
            if person.phone:
                account = User.objects.filter(username=person.phone).first()
                if account is None:
                    account = User.objects.create_user(
                        username=person.phone, phone=person.phone, password=MEMBER_PASSWORD
                    )
            if person.credit is not None:
                CreditRecord.objects.update_or_create(
                    id_number_hash=hash_id_number(number),
                    defaults={"id_number_masked": mask_id_number(number), "score": person.credit},
                )
            membership = membership_enrol(
                plan=plan,
                name=person.name,
                id_number=number,
                health_answers=answers,
                relationship=person.relationship,
                payer=payer if person.relationship != "self" else None,
                account=account,
                on=joined_on,
            )
            created += 1
            if person.relationship == "self":
                payer = membership
    # The daily job brings the older households out of their waiting period, as it would have.
    memberships_daily(on=today)
    _seed_claims(plan=plan, today=today)
    return DemoResult(plan=plan, created=created)


# (name, kind, condition, days since diagnosis, what the reviewers did)
DEMO_CLAIMS = [
    ("张伟", ClaimKind.ILLNESS, "C01", 12, "submitted"),
    ("刘芳", ClaimKind.ILLNESS, "C02", 30, "investigating"),
    ("王德福", ClaimKind.ILLNESS, "C03", 40, "approved"),
    ("李秀英", ClaimKind.ILLNESS, "C05", 25, "rejected"),
]
DEMO_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _seed_claims(*, plan: Plan, today: date) -> None:
    """Claims in the states a reviewer meets first; the later states arrive with notices and settlement."""
    admin = User.objects.get(username=ADMIN_USERNAME)
    reviewer = User.objects.filter(username=REVIEWER_USERNAME).first()
    if reviewer is None:
        reviewer = User.objects.create_superuser(
            username=REVIEWER_USERNAME, password=ADMIN_PASSWORD, email="reviewer@example.com"
        )
    for name, kind, code, days_ago, outcome in DEMO_CLAIMS:
        member = Membership.objects.filter(plan=plan, person__name=name).select_related("person").first()
        if member is None or Claim.objects.filter(person=member.person).exists():
            continue
        claim = claim_file(
            member=member,
            by=member.account or (member.payer.account if member.payer else None),
            kind=kind,
            condition=CoveredCondition.objects.get(plan=plan, code=code),
            diagnosed_on=today - timedelta(days=days_ago),
            hospital="北京协和医院",
            description="住院确诊，附诊断证明。",
            on=today,
        )
        claim_document_add(claim=claim, upload=SimpleUploadedFile("诊断证明.pdf", DEMO_PDF), by=claim.filed_by)
        if outcome == "submitted":
            continue
        claim = claim_start_investigation(claim=claim, by=admin)
        if outcome == "approved":
            claim = claim_approve(claim=claim, by=admin)
            claim_approve(claim=claim, by=reviewer)
        elif outcome == "rejected":
            claim_reject(
                claim=claim,
                by=admin,
                reason=RejectionReason.HEALTH_DECLARATION,
                note="病历显示入会前已确诊高血压性心脏病。",
            )


# (name, condition, payout): the claims of the demo's last settled period. The first is paid, the second
# shared and waiting for an administrator to record its disbursement.
SETTLED_CLAIMS = [("孙丽", "C01"), ("周强", "C02")]


def last_settled_notice_day(*, plan: Plan, today: date) -> date:
    """The latest notice day whose charge day is before today: the demo settles that period."""
    day = today - timedelta(days=1)
    while True:
        charge_date = notice_charge_date(plan=plan, notice_date=day)
        if charge_date is not None and charge_date < today:
            return day
        day -= timedelta(days=1)


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _seed_settled_period(*, plan: Plan, today: date) -> None:
    """The history of one settled period, each step run on its own day as the services and beat ran it.

    The clock is moved to each step's moment (time-machine), so the timeline, the notice, the ledger
    entries and the period carry the dates they would have had; a demo started on any day shows one
    settled period, with its claims, charges, a payment and a paid claim. Nothing runs when the period
    exists already.
    """
    import time_machine

    from mutualaid.celery import app

    notice_date = last_settled_notice_day(plan=plan, today=today)
    charge_date = notice_charge_date(plan=plan, notice_date=notice_date)
    assert charge_date is not None
    if Period.objects.filter(plan=plan, notice_date=notice_date).exists():
        return
    admin = User.objects.get(username=ADMIN_USERNAME)
    reviewer = User.objects.get(username=REVIEWER_USERNAME)
    claims: list[Claim] = []
    for name, code in SETTLED_CLAIMS:
        member = Membership.objects.select_related("person").get(plan=plan, person__name=name)
        with time_machine.travel(_at(notice_date - timedelta(days=10), 10), tick=False):
            claim = claim_file(
                member=member,
                by=member.account,
                kind=ClaimKind.ILLNESS,
                condition=CoveredCondition.objects.get(plan=plan, code=code),
                diagnosed_on=notice_date - timedelta(days=20),
                hospital="四川大学华西医院",
                description="住院确诊，附诊断证明与病理报告。",
            )
            claim_document_add(claim=claim, upload=SimpleUploadedFile("诊断证明.pdf", DEMO_PDF), by=member.account)
        with time_machine.travel(_at(notice_date - timedelta(days=6), 10), tick=False):
            claim = claim_start_investigation(claim=claim, by=admin)
        with time_machine.travel(_at(notice_date - timedelta(days=3), 15), tick=False):
            claim = claim_approve(claim=claim, by=admin, note="诊断证明、病理报告与医院核实一致。")
            claim = claim_approve(claim=claim, by=reviewer)
        claims.append(claim)
    # The split runs on the workers; the demo has none, so its tasks run here, as without a broker.
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with time_machine.travel(_at(notice_date, 0), tick=False):
            period_jobs_run(on=notice_date)
        with time_machine.travel(_at(charge_date, 0), tick=False):
            period_jobs_run(on=charge_date)
            # Inside a caller's transaction (a test) the queued tasks wait for a commit: run what is left.
            period = Period.objects.get(plan=plan, notice_date=notice_date)
            for lo, hi in period.chunks.filter(done_at__isnull=True).values_list("lo", "hi"):
                period_settle_chunk(period_id=period.pk, lo=lo, hi=hi)
            period_settle_finish(period_id=period.pk)
            money_jobs_run(on=charge_date)
    finally:
        app.conf.task_always_eager = eager
    payer = Membership.objects.get(plan=plan, account__username=MEMBER_PHONE)
    owed = Charge.objects.filter(payer=payer).aggregate(total=Sum("amount_fen"))["total"] or 0
    with time_machine.travel(_at(charge_date, 9), tick=False):
        if owed:
            payment_record(payer=payer, amount_fen=owed, reference=f"demo-{charge_date:%Y%m%d}", by=admin)
        payout_disburse(claim=Claim.objects.get(pk=claims[0].pk), by=admin, on=charge_date)
