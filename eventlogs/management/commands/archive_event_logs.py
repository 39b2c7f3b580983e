from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventlogs.lifecycle import archive_cutoff, eventlogs_archive
from eventlogs.management.commands import LifecycleCommand, positive_int

# PostgreSQL runs a statement on one core. On the 2-core benchmark machine 1.1M rows took
# 18.5 s with one worker and 7.3 s with two (docs/benchmarks.md). The scheduler's periodic
# job stays at one.
DEFAULT_WORKERS = 2


class Command(LifecycleCommand):
    help = (
        "Archive active event logs at least EVENT_LOG_ARCHIVE_AFTER old (2 hours by default), "
        "from the archive mark on, in batches of one short transaction each. "
        "Safe beside other runs and the scheduler's job."
    )
    verb = "archive"
    past_tense = "archived"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--workers",
            type=positive_int,
            default=DEFAULT_WORKERS,
            help=f"Database connections working at once, each on its own range (default: {DEFAULT_WORKERS}).",
        )

    def cutoff(self) -> datetime:
        return archive_cutoff()

    def service(self) -> Callable[..., int]:
        return eventlogs_archive

    def service_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"workers": options["workers"]}
