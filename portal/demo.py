"""Demo data for `make run`: a plan, an admin, one member's family and a few other households.

Everything is looked up before it is created, so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
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
)
from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, Membership, Plan, User
from members.seeding import plan_seed_default
from members.services import membership_enrol, memberships_daily

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
]


@dataclass
class DemoResult:
    plan: Plan
    created: int


@transaction.atomic
def seed_demo(*, today: date | None = None) -> DemoResult:
    today = today or timezone.localdate()
    plan = plan_seed_default()
    conditions_seed_default(plan=plan)
    if not User.objects.filter(username=ADMIN_USERNAME).exists():
        User.objects.create_superuser(username=ADMIN_USERNAME, password=ADMIN_PASSWORD, email="admin@example.com")
    answers = {code: False for code in plan.health_questions.values_list("code", flat=True)}
    created = 0
    serial = 0
    for household_index, household in enumerate(DEMO_HOUSEHOLDS):
        payer: Membership | None = None
        # Older households joined long ago, so the demo shows both covered and waiting members.
        joined_on = today - timedelta(days=200 if household_index < 2 else 20)
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
