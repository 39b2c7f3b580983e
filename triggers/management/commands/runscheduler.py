"""The scheduler process (minimal; the scheduler issue adds dispatch and the lifecycle jobs)."""

from __future__ import annotations

from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from django.conf import settings
from django.core.management.base import BaseCommand
from django_apscheduler.jobstores import DjangoJobStore


class Command(BaseCommand):
    help = "Run the scheduler: fires due triggers and runs the event-log lifecycle jobs."

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = BlockingScheduler(timezone=settings.TIME_ZONE)
        scheduler.add_jobstore(DjangoJobStore(), "default")
        self.stdout.write("Scheduler started; press Ctrl-C to stop.")
        try:
            scheduler.start()
        except KeyboardInterrupt:
            scheduler.shutdown()
            self.stdout.write("Scheduler stopped.")
