from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from claims.seeding import conditions_seed_default
from jury.seeding import jury_seed_default
from members.seeding import plan_seed_default


class Command(BaseCommand):
    help = "Create the default plan with its rules, health questions, covered conditions and juror test (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        plan = plan_seed_default()
        count = conditions_seed_default(plan=plan)
        questions = jury_seed_default(plan=plan)
        self.stdout.write(
            f"Plan {plan.code}: {plan.health_questions.count()} health questions, {count} conditions, "
            f"{questions} juror test questions."
        )
