from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from eventlogs.lifecycle import archive_cutoff, eventlogs_archive
from eventlogs.management.base import LifecycleCommand


class Command(LifecycleCommand):
    help = (
        "Archive event logs at least EVENT_LOG_ARCHIVE_AFTER old (2 hours by default), "
        "in batches of one short transaction each. Safe beside other runs and the scheduler's job."
    )
    verb = "archive"
    past_tense = "archived"

    def cutoff(self) -> datetime:
        return archive_cutoff()

    def service(self) -> Callable[..., int]:
        return eventlogs_archive
