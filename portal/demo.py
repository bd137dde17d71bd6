"""Demo data for `make run`: a plan, an admin, one member's family and a few other households.

Everything is looked up before it is created, so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from claims.seeding import conditions_seed_default
from members.identity import hash_id_number, mask_id_number
from members.models import CreditRecord, Membership, Plan, User
from members.seeding import plan_seed_default
from members.services import membership_enrol, memberships_daily

ADMIN_USERNAME = "admin"
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


DEMO_HOUSEHOLDS: list[list[DemoPerson]] = [
    [
        DemoPerson("王建国", date(1988, 3, 14), True, phone=MEMBER_PHONE),
        DemoPerson("李秀英", date(1990, 8, 2), False, "spouse"),
        DemoPerson("王小明", date(2016, 6, 1), True, "child"),
        DemoPerson("王德福", date(1968, 1, 20), True, "parent"),
    ],
    [
        DemoPerson("张伟", date(1979, 11, 5), True, phone="13800138001"),
        DemoPerson("刘芳", date(1982, 2, 9), False, "spouse"),
    ],
    [DemoPerson("陈静", date(1995, 12, 30), False, phone="13800138002")],
    [DemoPerson("赵磊", date(1970, 7, 7), True, phone="13800138003", credit=None)],  # no bureau record: review
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
    return DemoResult(plan=plan, created=created)
