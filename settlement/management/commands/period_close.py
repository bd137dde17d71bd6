from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from settlement.services import period_jobs_run


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--on {value!r} is not a date: use YYYY-MM-DD") from exc


class Command(BaseCommand):
    help = (
        "Run the notice-day and charge-day jobs due on a date (default today, Beijing time), as beat does: "
        "on a notice day publish the approved claims and open the period; on a charge day settle it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--on", type=str, default=None, help="the date, YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        on = _day(options["on"]) if options["on"] else timezone.localdate()
        run = period_jobs_run(on=on)
        self.stdout.write(
            f"{on.isoformat()}: opened {run.opened or 'none'}; settling {run.settling or 'none'}; "
            f"resumed {run.resumed or 'none'}"
        )
