from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand

from eventlogs.management.commands import positive_int
from eventlogs.rollup import HOURS_PER_TRANSACTION, eventlogs_roll_up


class Command(BaseCommand):
    help = (
        "Count the retained event logs of every closed hour not yet counted into the hourly rollup "
        "(GET /event_logs/aggregated reads it), a few hours per short transaction. Idempotent; safe "
        "beside other runs, the scheduler's job and inserts of any age."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Say how many hours would be counted; change nothing."
        )
        parser.add_argument(
            "--hours-per-transaction",
            type=positive_int,
            default=HOURS_PER_TRANSACTION,
            help=f"Hours counted per transaction (default {HOURS_PER_TRANSACTION}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(start: datetime, end: datetime, rows: int) -> None:
            self.stdout.write(f"Counted {start.isoformat()} to {end.isoformat()}: {rows:,} trigger-hours")

        summary = eventlogs_roll_up(
            hours_per_transaction=options["hours_per_transaction"], dry_run=options["dry_run"], progress=progress
        )
        seconds = time.monotonic() - started
        if options["dry_run"]:
            self.stdout.write(f"Dry run: would count {summary.hours:,} hours of event logs; nothing changed.")
            return
        plural = "transaction" if summary.transactions == 1 else "transactions"
        self.stdout.write(
            self.style.SUCCESS(
                f"Rolled up {summary.hours:,} hours into {summary.rows:,} trigger-hours in {summary.transactions:,} "
                f"{plural}, forgot {summary.forgotten:,} past retention; counted through "
                f"{summary.rolled_up_through.isoformat() if summary.rolled_up_through else 'nothing'} "
                f"({seconds:.1f} s)."
            )
        )
