from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand

from eventlogs.management.base import positive_int
from eventlogs.rollup import STEP, eventlogs_roll_up


class Command(BaseCommand):
    help = (
        "Count the retained event logs not yet counted into the hourly rollup "
        "(GET /event_logs/aggregated reads it), a few minutes of them per short transaction. Idempotent; safe "
        "beside other runs, the scheduler's job and inserts of any age."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Say how many hours would be counted; change nothing."
        )
        default = int(STEP / timedelta(minutes=1))
        parser.add_argument(
            "--minutes-per-transaction",
            type=positive_int,
            default=default,
            help=f"Minutes of events counted per transaction (default {default}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(start: datetime, end: datetime, rows: int) -> None:
            self.stdout.write(f"Counted {start.isoformat()} to {end.isoformat()}: {rows:,} trigger-hours")

        summary = eventlogs_roll_up(
            step=timedelta(minutes=options["minutes_per_transaction"]),
            dry_run=options["dry_run"],
            progress=progress,
        )
        seconds = time.monotonic() - started
        if options["dry_run"]:
            self.stdout.write(f"Dry run: would count {summary.hours:,.2f} hours of event logs; nothing changed.")
            return
        plural = "transaction" if summary.transactions == 1 else "transactions"
        self.stdout.write(
            self.style.SUCCESS(
                f"Rolled up {summary.hours:,.2f} hours into {summary.rows:,} trigger-hours in {summary.transactions:,} "
                f"{plural}, forgot {summary.forgotten:,} past retention; counted through "
                f"{summary.rolled_up_through.isoformat() if summary.rolled_up_through else 'nothing'} "
                f"({seconds:.1f} s)."
            )
        )
