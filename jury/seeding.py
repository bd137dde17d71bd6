"""The jury's plan data: its rules and the juror test (data/juror_questions.csv); safe to run again.

Each test question has its choices in Chinese and in English, separated by “|”, and the number of the
right choice counted from 0.
"""

from __future__ import annotations

import csv
from pathlib import Path

from django.db import transaction

from jury.models import JurorQuestion, JuryRules
from members.models import Plan

DATA = Path(__file__).resolve().parent / "data"


@transaction.atomic
def jury_seed_default(*, plan: Plan) -> int:
    """The plan's jury rules (defaults) and its juror test; returns the number of questions."""
    JuryRules.objects.get_or_create(plan=plan)
    with (DATA / "juror_questions.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for position, row in enumerate(rows):
        choices_zh, choices_en = row["choices_zh"].split("|"), row["choices_en"].split("|")
        answer = int(row["answer"])
        if len(choices_zh) != len(choices_en) or not 0 <= answer < len(choices_en):
            raise ValueError(f"juror question {row['code']}: the choices or the answer do not match")
        JurorQuestion.objects.update_or_create(
            plan=plan,
            code=row["code"],
            defaults={
                "position": position,
                "text_zh": row["text_zh"],
                "text_en": row["text_en"],
                "choices_zh": choices_zh,
                "choices_en": choices_en,
                "answer": answer,
            },
        )
    return len(rows)
