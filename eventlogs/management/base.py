"""What the archive and delete commands share: their options, a line per batch and a summary."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand

from eventlogs.lifecycle import Progress


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return number


class LifecycleCommand(BaseCommand):
    """One lifecycle service run in bounded batches, with a line per batch and a closing summary."""

    verb = ""  # "archive"
    past_tense = ""  # "archived"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the event logs that would change; change nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=None,
            help=("Most rows per transaction (default: the LIFECYCLE_BATCH_SIZE setting)."),
        )

    def cutoff(self) -> datetime:
        raise NotImplementedError

    def service(self) -> Callable[..., int]:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = self.cutoff()
        dry_run: bool = options["dry_run"]
        started = time.monotonic()
        batches = 0

        def progress(number: int, count: int, total: int) -> None:
            nonlocal batches
            batches = number
            self.stdout.write(f"Batch {number}: {self.past_tense} {count:,} event logs ({total:,} so far)")

        report: Progress | None = None if dry_run else progress
        total = self.service()(
            older_than=cutoff,
            batch_size=options["batch_size"],
            dry_run=dry_run,
            progress=report,
        )
        seconds = time.monotonic() - started
        if dry_run:
            self.stdout.write(
                f"Dry run: would {self.verb} {total:,} event logs fired at or before {cutoff.isoformat()}; "
                "nothing changed."
            )
            return
        plural = "batch" if batches == 1 else "batches"
        self.stdout.write(
            self.style.SUCCESS(
                f"{self.past_tense.capitalize()} {total:,} event logs in {batches:,} {plural} ({seconds:.1f} s)."
            )
        )
