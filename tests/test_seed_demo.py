from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from claims.models import Claim
from members.models import Membership, MembershipStatus, User


def test_it_seeds_a_plan_an_admin_and_demo_households(db: Any, capsys: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert "admin / " in out and "13800138000 / " in out
    assert User.objects.get(username="admin").is_superuser
    statuses = set(Membership.objects.values_list("status", flat=True))
    assert {MembershipStatus.ACTIVE, MembershipStatus.WAITING, MembershipStatus.PENDING_REVIEW} <= statuses


def test_it_is_safe_to_run_twice(db: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")
    counts = (Membership.objects.count(), User.objects.count(), Claim.objects.count())

    call_command("seed_demo")

    assert (Membership.objects.count(), User.objects.count(), Claim.objects.count()) == counts


def test_it_seeds_claims_a_reviewer_meets_first(db: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")

    statuses = set(Claim.objects.values_list("status", flat=True))
    assert {"submitted", "investigating", "approved", "rejected"} <= statuses
    assert Claim.objects.get(status="approved").payout_fen == 100_000_00  # 王德福 is past 40 at diagnosis


def test_the_demo_member_can_log_in_with_the_printed_password(db: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    from portal.demo import MEMBER_PASSWORD, MEMBER_PHONE

    call_command("seed_demo")

    assert User.objects.get(username=MEMBER_PHONE).check_password(MEMBER_PASSWORD)


def test_it_seeds_one_settled_period_with_a_paid_and_a_shared_claim(db: Any, settings: Any, tmp_path: Any) -> None:
    from settlement.models import Charge, Payment, Period, PeriodStatus
    from settlement.selectors import ledger_unbalanced_entries, members_receivable_matches_subledger

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")
    call_command("seed_demo")

    period = Period.objects.get()
    assert period.status == PeriodStatus.SETTLED
    assert period.charge_date < timezone.localdate()
    assert sorted(period.notice.claims.values_list("status", flat=True)) == ["paid", "shared"]
    charged = Charge.objects.filter(period=period).aggregate(total=Sum("amount_fen"))["total"]
    assert charged + period.operator_subsidy_fen == period.total_fen
    assert Charge.objects.filter(period=period).count() == period.sharers
    # The demo member's household has paid what it was charged.
    payer = Membership.objects.get(account__username="13800138000")
    owed = Charge.objects.filter(payer=payer).aggregate(total=Sum("amount_fen"))["total"]
    assert Payment.objects.get(payer=payer).amount_fen == owed
    assert ledger_unbalanced_entries() == []
    assert members_receivable_matches_subledger()


def test_the_settled_claims_timeline_carries_the_dates_it_happened_on(db: Any, settings: Any, tmp_path: Any) -> None:
    from settlement.models import Period

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")

    period = Period.objects.get()
    for claim in period.notice.claims.all():
        approved = claim.transitions.filter(to_status="approved").get()
        published = claim.transitions.filter(to_status="in_notice").get()
        assert timezone.localtime(approved.at).date() < period.notice_date
        assert timezone.localtime(published.at).date() == period.notice_date


@pytest.mark.parametrize(
    ("today", "notice_day"),
    [
        (date(2026, 3, 1), date(2026, 2, 21)),  # the charge day (28 February) was yesterday
        (date(2026, 11, 28), date(2026, 11, 7)),  # today's charge day is not over: the one before
        (date(2026, 11, 15), date(2026, 11, 7)),
        (date(2026, 11, 14), date(2026, 10, 21)),
        (date(2026, 1, 10), date(2025, 12, 21)),
    ],
)
def test_the_demo_settles_the_last_period_whose_charge_day_is_over(db: Any, today: date, notice_day: date) -> None:
    from members.seeding import plan_seed_default
    from portal.demo import last_settled_notice_day

    assert last_settled_notice_day(plan=plan_seed_default(), today=today) == notice_day


def test_the_demo_has_member_counts_for_the_charts(db: Any, settings: Any, tmp_path: Any) -> None:
    from settlement.models import MemberCount

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")

    days = list(MemberCount.objects.order_by("day").values_list("day", flat=True))
    assert len(days) >= 31
    assert days[-1] == timezone.localdate()
