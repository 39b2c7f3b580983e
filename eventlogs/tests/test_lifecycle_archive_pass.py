"""The archive pass and its mark, and rows other transactions hold.

Python's clock is at NOW (time-machine) while the database's runs on, so every event these
tests write is, to the database, older than BACKFILL_GRACE: a backfill that moves the mark
back. Where a test needs the database's clock it reads it, as the trigger does.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils.timezone import now
from time_machine import TimeMachineFixture

from accounts.models import User
from eventlogs.lifecycle import archive_cutoff, eventlogs_archive
from eventlogs.models import BACKFILL_GRACE, BEGINNING, EventLog, LifecycleMarks
from eventlogs.tests.test_lifecycle import NOW, make_events, seed, statuses
from eventlogs.tests.test_marks import database_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_noon(time_machine: TimeMachineFixture) -> datetime:
    time_machine.move_to(NOW, tick=False)
    return NOW


def mark() -> LifecycleMarks:
    return LifecycleMarks.objects.get()


# --- Starting from the mark, moving it forward ------------------------------------------------


def test_a_complete_pass_moves_the_mark_to_its_cutoff(owner: User, at_noon: datetime) -> None:
    make_events(owner, timedelta(hours=3), timedelta(hours=1))
    assert mark().archived_through == BEGINNING

    eventlogs_archive(older_than=archive_cutoff())

    assert mark().archived_through == archive_cutoff()


def test_the_mark_stays_twice_the_grace_behind_the_database_clock(
    owner: User, time_machine: TimeMachineFixture
) -> None:
    # Python's clock a day ahead of the database's: its cutoff is in the database's future.
    time_machine.move_to(database_now() + timedelta(days=1), tick=False)
    make_events(owner, timedelta(hours=3), at=now())
    before = database_now()

    assert eventlogs_archive(older_than=archive_cutoff()) == 1

    assert before - 2 * BACKFILL_GRACE <= mark().archived_through <= database_now() - 2 * BACKFILL_GRACE


def test_the_mark_never_moves_back_by_a_pass(owner: User, at_noon: datetime) -> None:
    later = NOW - timedelta(minutes=30)
    LifecycleMarks.objects.filter(id=1).update(archived_through=later)

    eventlogs_archive(older_than=archive_cutoff())

    assert mark().archived_through == later


def test_a_pass_and_a_dry_run_start_at_the_mark(owner: User, at_noon: datetime) -> None:
    before_mark, after_mark = make_events(owner, timedelta(hours=6), timedelta(hours=4))
    # Set after the insert, so the trigger cannot move it back: the pass trusts it.
    LifecycleMarks.objects.filter(id=1).update(archived_through=NOW - timedelta(hours=5))

    assert eventlogs_archive(older_than=archive_cutoff(), dry_run=True) == 1
    assert eventlogs_archive(older_than=archive_cutoff()) == 1
    assert statuses([before_mark, after_mark]) == ["active", "archived"]


def test_an_event_backfilled_after_a_pass_is_archived_by_the_next(owner: User, at_noon: datetime) -> None:
    make_events(owner, timedelta(hours=3))
    eventlogs_archive(older_than=archive_cutoff())
    assert mark().archived_through == archive_cutoff()

    (restored,) = make_events(owner, timedelta(hours=30))

    assert mark().archived_through == restored.fired_at
    assert eventlogs_archive(older_than=archive_cutoff(), dry_run=True) == 1
    assert eventlogs_archive(older_than=archive_cutoff()) == 1
    assert statuses([restored]) == ["archived"]
    assert mark().archived_through == archive_cutoff()


def test_a_backfill_during_a_pass_keeps_the_mark_where_the_backfill_put_it(owner: User, at_noon: datetime) -> None:
    make_events(owner, *[timedelta(hours=3, seconds=index) for index in range(25)])
    LifecycleMarks.objects.filter(id=1).update(archived_through=NOW - timedelta(hours=5))
    restored: list[EventLog] = []

    def backfill_once(number: int, count: int, total: int) -> None:
        if not restored:
            restored.extend(make_events(owner, timedelta(hours=40)))

    assert eventlogs_archive(older_than=archive_cutoff(), batch_size=10, progress=backfill_once) == 25

    assert mark().archived_through == restored[0].fired_at
    assert eventlogs_archive(older_than=archive_cutoff()) == 1
    assert mark().archived_through == archive_cutoff()


def test_a_stopped_pass_leaves_the_mark_alone(owner: User, at_noon: datetime) -> None:
    make_events(owner, *[timedelta(hours=3, seconds=index) for index in range(25)])

    assert eventlogs_archive(older_than=archive_cutoff(), batch_size=10, should_stop=lambda: True) == 10

    assert mark().archived_through == BEGINNING


# --- Other transactions (the rows must be committed) ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_row_held_by_someone_else_is_archived_once_released_and_then_the_mark_moves(owner: User) -> None:
    events = seed(owner, 400, oldest=timedelta(hours=40), newest=timedelta(hours=3))
    held = events[200]
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT 1 FROM eventlogs_eventlog WHERE id = %s FOR UPDATE", [held.pk])
                locked.set()
                release.wait(timeout=10)
                cursor.execute("COMMIT")
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=10)
    threading.Timer(0.3, release.set).start()
    cutoff = archive_cutoff()

    archived = eventlogs_archive(older_than=cutoff, batch_size=50)
    holder.join(timeout=10)

    assert archived == 400
    assert statuses(events) == ["archived"] * 400
    assert mark().archived_through == cutoff


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_a_pass_brings_the_mark_back_at_its_cutoff(transactional_db: None) -> None:
    call_command("flush", interactive=False, verbosity=0)
    assert not LifecycleMarks.objects.exists()
    cutoff = archive_cutoff()

    assert eventlogs_archive(older_than=cutoff) == 0

    assert (mark().archived_through, mark().rolled_up_through, mark().backfills) == (cutoff, BEGINNING, 0)


# --- The command --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_command_archives_in_batches_and_sums_them_up(owner: User) -> None:
    seed(owner, 500, oldest=timedelta(hours=40), newest=timedelta(hours=3))
    out = StringIO()

    call_command("archive_event_logs", "--batch-size", "40", stdout=out)

    lines = out.getvalue().splitlines()
    batch_lines = [line for line in lines if line.startswith("Batch ")]
    assert batch_lines[-1].endswith("(500 so far)")
    assert lines[-1].startswith(f"Archived 500 event logs in {len(batch_lines)} batches (")
    assert EventLog.objects.filter(archived_at__isnull=False).count() == 500
