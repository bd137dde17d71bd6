"""Covered conditions of a plan, from the 2020 industry definitions (data/critical_illnesses.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

from claims.models import CoveredCondition
from members.models import Plan

DATA = Path(__file__).resolve().parent / "data"


def conditions_seed_default(*, plan: Plan) -> int:
    with (DATA / "critical_illnesses.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        CoveredCondition.objects.update_or_create(
            plan=plan, code=row["code"], defaults={"name_zh": row["name_zh"], "name_en": row["name_en"]}
        )
    return len(rows)
