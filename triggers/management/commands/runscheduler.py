"""``manage.py runscheduler``: the scheduler process (DESIGN.md "Processes").

Two parts, one process:

* **The dispatcher** (:class:`triggers.dispatch.TriggerDispatcher`), a long-lived loop
  in a thread of its own. It sleeps until the earliest ``next_fire_at``, wakes on
  ``LISTEN sigwise_triggers_changed`` (or a poll of at most
  ``SCHEDULER_MAX_SLEEP_SECONDS``) and fires each slot within a few milliseconds.
* **APScheduler** (``BlockingScheduler`` with django-apscheduler's ``DjangoJobStore``,
  so the jobs and their recent runs are kept in PostgreSQL and shown in the admin),
  running the periodic jobs: ``dispatch``, ``archive_event_logs``,
  ``delete_event_logs``, ``rollup_event_logs`` (the hourly counts behind
  ``GET /event_logs/aggregated``), ``delete_old_job_executions`` and ``flushexpiredtokens``.

Why firing is not an APScheduler job per slot: APScheduler 3 fixes a job's wake-up
time when it is scheduled and cannot be woken by a NOTIFY, and the job store writes
the job row and an execution record for every run. Firing every slot through it
would cost several writes per slot and leave the execution table growing with every
firing, and it could not meet a few milliseconds of lateness under load. So the
precise path is the dispatcher loop, and the ``dispatch`` job is its supervisor and
safety net: every ``SCHEDULER_SWEEP_SECONDS`` it restarts the loop if its thread has
died and fires anything still due. Both claim with ``SKIP LOCKED`` in one
transaction per batch, so they never fire a slot twice, any more than a second
scheduler process does. (Several processes share the job store; APScheduler 3 does
not coordinate them, so a periodic job may run in each of them, which the jobs
tolerate: each batch claims its rows with ``SKIP LOCKED``, and the rollup's transactions
queue on the row lock of its mark.)

A heartbeat thread (``monitoring.heartbeats``) moves this process's row every few
seconds while the dispatcher runs; ``/healthz?deep=1`` and the admin read it.

SIGTERM is handled like Ctrl-C: the dispatcher finishes its current transaction, the
lifecycle jobs stop after their current batch, then the process exits. A second Ctrl-C
stops it at once. Every database connection of the process is named
``sigwise-scheduler`` (``application_name``; ``PGAPPNAME`` wins when set), so an
operator can find them in ``pg_stat_activity``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, connections
from django.utils.timezone import now
from django_apscheduler import util
from django_apscheduler.jobstores import DjangoJobStore
from django_apscheduler.models import DjangoJobExecution

from core.metrics import LIFECYCLE_PASS_DURATION, LIFECYCLE_ROWS
from eventlogs.lifecycle import archive_cutoff, delete_cutoff, eventlogs_archive, eventlogs_delete
from eventlogs.rollup import eventlogs_roll_up
from monitoring.heartbeats import HeartbeatThread
from monitoring.models import Heartbeat
from triggers.dispatch import DATABASE_ERRORS, TriggerDispatcher, dispatch_pending

logger = logging.getLogger("sigwise.scheduler")

APPLICATION_NAME = "sigwise-scheduler"

# Process-wide state the jobs reach: APScheduler stores a job as a reference to a
# module-level function, so the jobs cannot carry the dispatcher as an argument.
_stopping = threading.Event()
_dispatcher: TriggerDispatcher | None = None


@util.close_old_connections
def dispatch() -> None:
    """Supervise the dispatcher thread and fire anything it has left due."""
    if _dispatcher is not None and not _dispatcher.is_alive() and not _stopping.is_set():
        logger.error("The dispatcher thread had stopped; restarting it")
        _dispatcher.start()
    dispatch_pending(should_stop=_stopping.is_set)


@contextmanager
def _measured(name: str) -> Iterator[Callable[[int], None]]:
    """Time one lifecycle pass and count its rows (``sigwise_lifecycle_*``)."""
    started = time.perf_counter()
    yield LIFECYCLE_ROWS.labels(**{"pass": name}).inc
    LIFECYCLE_PASS_DURATION.labels(**{"pass": name}).observe(time.perf_counter() - started)


@util.close_old_connections
def archive_event_logs() -> None:
    with _measured("archive") as count_rows:
        archived = eventlogs_archive(older_than=archive_cutoff(), should_stop=_stopping.is_set)
        count_rows(archived)
    if archived:
        logger.info("Archived %s event logs", f"{archived:,}")


@util.close_old_connections
def delete_event_logs() -> None:
    with _measured("delete") as count_rows:
        deleted = eventlogs_delete(older_than=delete_cutoff(), should_stop=_stopping.is_set)
        count_rows(deleted)
    if deleted:
        logger.info("Deleted %s event logs", f"{deleted:,}")


@util.close_old_connections
def rollup_event_logs() -> None:
    with _measured("rollup") as count_rows:
        summary = eventlogs_roll_up(should_stop=_stopping.is_set)
        count_rows(summary.rows)
    if summary.hours or summary.forgotten:
        logger.info("Rolled up %s hours of event logs (%s trigger-hours)", f"{summary.hours:,.2f}", f"{summary.rows:,}")


@util.close_old_connections
def delete_old_job_executions(max_age: int | None = None) -> None:
    """Keep only recent job runs, so the frequent ``dispatch`` runs cannot grow that table without limit."""
    DjangoJobExecution.objects.delete_old_job_executions(max_age or settings.SCHEDULER_JOB_HISTORY_SECONDS)


@util.close_old_connections
def flush_expired_tokens() -> None:
    call_command("flushexpiredtokens")
    logger.info("Flushed expired refresh tokens")


class Command(BaseCommand):
    help = (
        "Run the scheduler: fire due scheduled triggers, archive and delete old event logs, "
        "count them per hour for the aggregated view, and flush expired tokens. Ctrl-C or SIGTERM stops it cleanly."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        global _dispatcher  # one dispatcher per process, reached by the dispatch job

        _name_connections()
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        scheduler = BlockingScheduler(timezone=settings.TIME_ZONE)
        scheduler.add_jobstore(DjangoJobStore(), "default")
        _add_jobs(scheduler)
        _dispatcher = TriggerDispatcher()
        # Beats only while the dispatcher thread runs: a scheduler that cannot fire is not alive.
        heartbeat = HeartbeatThread(kind=Heartbeat.Kind.SCHEDULER, alive=_dispatcher.is_alive)
        try:
            _wait_for_database()
            _dispatcher.start()
            heartbeat.start()
            logger.info("Scheduler started (pid %s); press Ctrl-C to stop", os.getpid())
            scheduler.start()
        except KeyboardInterrupt:
            pass
        finally:
            # While stopping, a second Ctrl-C ends the process at once; a SIGTERM is ignored, as
            # on Ctrl-C under `make run` the terminal's SIGINT and bin/run's SIGTERM both arrive.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            logger.info("Stopping: finishing the current transaction")
            _stopping.set()
            _dispatcher.stop(timeout=30)
            heartbeat.stop()
            if scheduler.running:
                scheduler.shutdown(wait=True)
            logger.info("Scheduler stopped")


def _add_jobs(scheduler: BlockingScheduler) -> None:
    jobs = [
        ("dispatch", dispatch, IntervalTrigger(seconds=settings.SCHEDULER_SWEEP_SECONDS), {}),
        # The lifecycle jobs also run at start-up, so a scheduler that was down catches up at once.
        ("archive_event_logs", archive_event_logs, IntervalTrigger(minutes=1), {"next_run_time": now()}),
        ("delete_event_logs", delete_event_logs, IntervalTrigger(minutes=1), {"next_run_time": now()}),
        ("rollup_event_logs", rollup_event_logs, IntervalTrigger(minutes=1), {"next_run_time": now()}),
        ("delete_old_job_executions", delete_old_job_executions, IntervalTrigger(minutes=5), {}),
        ("flushexpiredtokens", flush_expired_tokens, CronTrigger(hour=3, minute=17), {}),
    ]
    for job_id, function, trigger, extra in jobs:
        scheduler.add_job(
            function,
            trigger=trigger,
            id=job_id,
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            **extra,
        )


def _name_connections() -> None:
    """Name this process's connections, before any is opened (threads share the settings dict)."""
    if os.environ.get("PGAPPNAME"):
        return  # libpq reads it; an explicit application_name would override it
    for alias in connections:
        connections[alias].settings_dict.setdefault("OPTIONS", {}).setdefault("application_name", APPLICATION_NAME)
        connections[alias].close()


def _wait_for_database() -> None:
    """Start-up waits for PostgreSQL (say, both started by one compose file) instead of crashing."""
    delay = 0.5
    while True:
        try:
            connection.ensure_connection()
            return
        except DATABASE_ERRORS as error:
            logger.warning("Waiting for the database (%s); retrying in %.1f s", str(error).strip(), delay)
            connection.close()
            _stopping.wait(delay)
            delay = min(delay * 2, 5.0)
