from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from eventlogs.lifecycle import delete_cutoff, eventlogs_delete
from eventlogs.management.base import LifecycleCommand


class Command(LifecycleCommand):
    help = (
        "Delete event logs at least EVENT_LOG_DELETE_AFTER old (48 hours by default), "
        "in batches of one short transaction each. Safe beside other runs and the scheduler's job."
    )
    verb = "delete"
    past_tense = "deleted"

    def cutoff(self) -> datetime:
        return delete_cutoff()

    def service(self) -> Callable[..., int]:
        return eventlogs_delete
