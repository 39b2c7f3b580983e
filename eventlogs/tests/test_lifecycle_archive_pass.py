"""The archive pass as PostgreSQL sees it: HOT updates, the archive mark, and several workers.

Python's clock is at NOW (time-machine) while the database's runs on, so every event these
tests write is, to the database, older than BACKFILL_GRACE: a backfill that moves the mark
back. Where a test needs the database's clock it reads it, as the trigger does.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
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


def updates_so_far() -> tuple[int, int]:
    """(rows updated, of which HOT) in the event-log table, as this connection counts them.

    PostgreSQL 15 also counts here what earlier transactions of the connection did and has not
    yet reported to the statistics, so only differences within one transaction mean anything.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = %s::regclass",
            [EventLog._meta.db_table],
        )
        return cursor.fetchone()


# --- The schema that makes archiving a HOT update ---------------------------------------------


def test_no_index_of_the_event_log_table_mentions_status_or_archived_at(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [EventLog._meta.db_table])
        indexes = dict(cursor.fetchall())

    assert "eventlog_fired" in indexes
    assert [name for name, definition in indexes.items() if "status" in definition or "archived_at" in definition] == []


def test_the_table_leaves_half_of_every_new_page_free(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [EventLog._meta.db_table])
        assert cursor.fetchone()[0] == ["fillfactor=45"]


def test_archiving_rewrites_each_row_on_its_own_page_without_touching_an_index(owner: User, at_noon: datetime) -> None:
    # Pages written by these inserts carry the table's fillfactor.
    make_events(owner, *[timedelta(hours=3, seconds=index) for index in range(600)])
    updated_before, hot_before = updates_so_far()

    assert eventlogs_archive(older_than=archive_cutoff(), batch_size=250) == 600

    updated, hot = updates_so_far()
    assert (updated - updated_before, hot - hot_before) == (600, 600)


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


# --- Several workers, each on its own connection (the rows must be committed) -----------------


@pytest.mark.django_db(transaction=True)
def test_workers_share_the_pass_and_report_every_batch_once(owner: User) -> None:
    seed(owner, 3000, oldest=timedelta(hours=40), newest=timedelta(hours=3))
    young = seed(owner, 100, oldest=timedelta(hours=1), newest=timedelta(minutes=1))
    reports: list[tuple[int, int, int]] = []
    cutoff = archive_cutoff()

    assert eventlogs_archive(older_than=cutoff, dry_run=True, workers=3) == 3000
    archived = eventlogs_archive(
        older_than=cutoff, batch_size=100, workers=3, progress=lambda *report: reports.append(report)
    )

    assert archived == 3000
    assert EventLog.objects.filter(status="archived").count() == 3000
    assert statuses(young) == ["active"] * 100
    # Numbered in order, each batch once, the running total adding up.
    assert [number for number, _, _ in reports] == list(range(1, len(reports) + 1))
    assert [total for _, _, total in reports] == list(itertools.accumulate(count for _, count, _ in reports))
    assert reports[-1][2] == 3000
    assert mark().archived_through == cutoff


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

    archived = eventlogs_archive(older_than=cutoff, batch_size=50, workers=2)
    holder.join(timeout=10)

    assert archived == 400
    assert statuses(events) == ["archived"] * 400
    assert mark().archived_through == cutoff


@pytest.mark.django_db(transaction=True)
def test_a_backfill_from_another_connection_during_a_pass_of_workers_keeps_the_mark(owner: User) -> None:
    seed(owner, 1000, oldest=timedelta(hours=40), newest=timedelta(hours=3))
    LifecycleMarks.objects.update_or_create(id=1, defaults={"archived_through": now() - timedelta(hours=41)})
    restored: list[EventLog] = []
    lock = threading.Lock()

    def backfill_once(number: int, count: int, total: int) -> None:
        # Called in a worker's thread, between its batches: its connection commits this at once.
        with lock:
            if not restored:
                restored.extend(make_events(owner, timedelta(hours=45), at=now()))

    assert eventlogs_archive(older_than=archive_cutoff(), batch_size=100, workers=2, progress=backfill_once) == 1000

    assert mark().archived_through == restored[0].fired_at
    assert statuses(restored) == ["active"]
    assert eventlogs_archive(older_than=archive_cutoff(), workers=2) == 1
    assert statuses(restored) == ["archived"]


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_a_pass_brings_the_mark_back_at_its_cutoff(transactional_db: None) -> None:
    call_command("flush", interactive=False, verbosity=0)
    assert not LifecycleMarks.objects.exists()
    cutoff = archive_cutoff()

    assert eventlogs_archive(older_than=cutoff, workers=2) == 0

    assert (mark().archived_through, mark().rolled_up_through, mark().backfills) == (cutoff, BEGINNING, 0)


# --- The command --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_command_archives_with_workers_and_sums_up_their_batches(owner: User) -> None:
    seed(owner, 500, oldest=timedelta(hours=40), newest=timedelta(hours=3))
    out = StringIO()

    call_command("archive_event_logs", "--batch-size", "40", "--workers", "2", stdout=out)

    lines = out.getvalue().splitlines()
    batch_lines = [line for line in lines if line.startswith("Batch ")]
    assert batch_lines[-1].endswith("(500 so far)")
    assert lines[-1].startswith(f"Archived 500 event logs in {len(batch_lines)} batches (")
    assert EventLog.objects.filter(status="archived").count() == 500


@pytest.mark.parametrize("workers", ["0", "two"])
def test_a_number_of_workers_that_is_not_a_positive_number_is_refused(owner: User, workers: str) -> None:
    with pytest.raises(CommandError, match="workers"):
        call_command("archive_event_logs", "--workers", workers)
