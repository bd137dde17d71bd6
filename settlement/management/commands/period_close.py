from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from settlement.services import money_jobs_run, period_jobs_run


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--on {value!r} is not a date: use YYYY-MM-DD") from exc


def _yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole:,}.{cents:02d}"


class Command(BaseCommand):
    help = (
        "Run the daily jobs due on a date (default today, Beijing time), as beat does: on a notice day "
        "publish the approved claims and open the period; on a charge day settle it; then, every day, "
        "post the waiting-period refunds and remove the households still in arrears after their grace."
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
        # Beat runs the money jobs after the period jobs, the same day; so does this command.
        money = money_jobs_run(on=on)
        self.stdout.write(
            f"{on.isoformat()}: refunded {_yuan(money.refunded_fen)} yuan; "
            f"removed for non-payment the households of payers {money.removed_payers or 'none'}"
        )
