"""The default plan and its rules, as DESIGN.md states them; safe to run any number of times."""

from __future__ import annotations

import csv
from pathlib import Path

from django.db import transaction

from members.models import HealthQuestion, PayoutTier, Plan

DATA = Path(__file__).resolve().parent / "data"
DEFAULT_PLAN_CODE = "xianghubao"
DEFAULT_TIERS = [(0, 39, 300_000_00), (40, 59, 100_000_00)]


@transaction.atomic
def plan_seed_default() -> Plan:
    plan, created = Plan.objects.get_or_create(code=DEFAULT_PLAN_CODE, defaults={"name": "相互宝 · 大病互助计划"})
    if created or not plan.payout_tiers.exists():
        PayoutTier.objects.bulk_create(
            [PayoutTier(plan=plan, from_age=lo, to_age=hi, amount_fen=fen) for lo, hi, fen in DEFAULT_TIERS]
        )
    with (DATA / "health_questions.csv").open(encoding="utf-8") as handle:
        for position, row in enumerate(csv.DictReader(handle)):
            HealthQuestion.objects.update_or_create(
                plan=plan,
                code=row["code"],
                defaults={"text_zh": row["text_zh"], "text_en": row["text_en"], "position": position},
            )
    return plan
