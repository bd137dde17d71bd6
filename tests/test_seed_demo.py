from __future__ import annotations

from typing import Any

from django.core.management import call_command

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
