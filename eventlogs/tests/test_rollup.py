"""The hourly rollup pass (eventlogs.rollup) and `manage.py rollup_event_logs`.

Python's clock is frozen months before the database's, so every event these tests write is
a backfill to the database's trigger (which reads the database's clock) and the pass's
horizon is set by Python's; the tests that need the database's clock say so.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections, transaction

from accounts.models import User
from eventlogs import rollup
from eventlogs.models import BACKFILL_GRACE, BEGINNING, EventLog, EventLogHour, LifecycleMarks
from eventlogs.rollup import eventlogs_roll_up
from eventlogs.selectors import eventlogs_aggregated
from eventlogs.services import eventlogs_delete_counted

NOW = datetime(2026, 6, 1, 12, 40, tzinfo=UTC)
HORIZON = NOW - 2 * BACKFILL_GRACE  # 10:40: the pass counts nothing fired after it
FIRST = uuid.UUID("11111111-1111-1111-1111-111111111111")
SECOND = uuid.UUID("22222222-2222-2222-2222-222222222222")

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def event(owner: User, fired_at: datetime, trigger_uuid: uuid.UUID = FIRST, **fields: Any) -> EventLog:
    return EventLog(
        owner=owner,
        trigger_uuid=trigger_uuid,
        trigger_name=fields.pop("trigger_name", "nightly report"),
        trigger_type=fields.pop("trigger_type", "api"),
        source=EventLog.Source.TEST if fields.get("is_test") else EventLog.Source.API,
        fired_at=fired_at,
        **fields,
    )


def mark() -> datetime:
    return LifecycleMarks.objects.get().rolled_up_through


def database_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def hours() -> list[tuple[Any, ...]]:
    return list(
        EventLogHour.objects.order_by("hour", "trigger_uuid").values_list(
            "trigger_uuid", "hour", "total", "test", "last_fired_at", "trigger_name"
        )
    )


def test_it_counts_each_closed_hour_per_owner_and_trigger(frozen: Any, owner: User, other_user: User) -> None:
    ten = datetime(2026, 6, 1, 8, tzinfo=UTC)
    EventLog.objects.bulk_create(
        [
            event(owner, ten + timedelta(minutes=5), trigger_name="old name"),
            event(owner, ten + timedelta(minutes=50), trigger_name="new name", is_test=True),
            event(owner, ten + timedelta(minutes=20), trigger_name="old name"),
            event(owner, ten + timedelta(minutes=59, seconds=59), SECOND),
            event(owner, ten + timedelta(hours=1)),  # the next hour
            event(other_user, ten + timedelta(minutes=1)),
            event(owner, HORIZON + timedelta(minutes=1)),  # past the horizon: not counted yet
        ]
    )

    summary = eventlogs_roll_up()

    owned = EventLogHour.objects.filter(owner=owner).order_by("hour", "trigger_uuid")
    assert [(row.trigger_uuid, row.hour, row.total, row.test, row.trigger_name) for row in owned] == [
        (FIRST, ten, 3, 1, "new name"),
        (SECOND, ten, 1, 0, "nightly report"),
        (FIRST, ten + timedelta(hours=1), 1, 0, "nightly report"),
    ]
    assert owned[0].last_fired_at == ten + timedelta(minutes=50)
    assert EventLogHour.objects.filter(owner=other_user).get().total == 1
    assert mark() == summary.rolled_up_through == HORIZON


def test_it_starts_at_retention_and_counts_one_step_per_transaction(frozen: Any, owner: User) -> None:
    EventLog.objects.bulk_create([event(owner, NOW - timedelta(hours=age)) for age in range(1, 60, 3)])
    ranges = []

    summary = eventlogs_roll_up(
        step=timedelta(hours=10), progress=lambda start, end, rows: ranges.append((start, end, rows))
    )

    retention_hour = datetime(2026, 5, 30, 12, tzinfo=UTC)  # the hour of NOW - 48 h
    assert ranges[0][0] == retention_hour
    assert [end - start for start, end, _ in ranges] == [timedelta(hours=10)] * 4 + [timedelta(hours=6, minutes=40)]
    assert ranges[-1][1] == mark() == HORIZON
    assert (summary.transactions, round(summary.hours, 2)) == (5, 46.67)
    assert min(hour for _, hour, *_ in hours()) > retention_hour


def test_a_second_pass_changes_nothing_and_a_backfill_is_counted_by_the_next(frozen: Any, owner: User) -> None:
    EventLog.objects.bulk_create([event(owner, NOW - timedelta(hours=age, minutes=7)) for age in range(1, 9)])
    eventlogs_roll_up()
    before = hours()

    assert eventlogs_roll_up().transactions == 0
    assert hours() == before

    backfilled = NOW - timedelta(hours=5, minutes=30)  # 07:10
    EventLog.objects.bulk_create([event(owner, backfilled, SECOND)])
    assert mark() == datetime(2026, 6, 1, 7, tzinfo=UTC)  # the trigger moved it back

    eventlogs_roll_up()
    new_row = (SECOND, datetime(2026, 6, 1, 7, tzinfo=UTC), 1, 0, backfilled, "nightly report")
    assert hours() == sorted([*before, new_row], key=lambda row: (row[1], str(row[0])))
    assert mark() == HORIZON


def test_it_never_passes_the_databases_clock_less_twice_the_grace(owner: User) -> None:
    present = database_now()
    EventLog.objects.bulk_create([event(owner, present - timedelta(hours=3))])
    # Python's clock ahead of the database's: the database's bounds the pass.
    with time_machine.travel(present + timedelta(hours=5), tick=False):
        eventlogs_roll_up()

    assert present - 2 * BACKFILL_GRACE - timedelta(minutes=1) <= mark() <= database_now() - 2 * BACKFILL_GRACE


def test_it_forgets_hours_past_retention_once_their_events_are_gone(frozen: Any, owner: User) -> None:
    EventLog.objects.bulk_create([event(owner, NOW - timedelta(hours=age)) for age in (3, 30, 47)])
    eventlogs_roll_up()
    assert len(hours()) == 3

    frozen.shift(timedelta(hours=20))
    assert eventlogs_roll_up().forgotten == 0  # the 47 h old event's hour: its event is still stored
    EventLog.objects.filter(fired_at__lte=NOW - timedelta(hours=28)).delete()  # the delete job's work

    assert eventlogs_roll_up().forgotten == 2
    assert [row[1] for row in hours()] == [datetime(2026, 6, 1, 9, tzinfo=UTC)]


def test_a_dry_run_says_how_many_hours_and_changes_nothing(frozen: Any, owner: User) -> None:
    EventLog.objects.bulk_create([event(owner, NOW - timedelta(hours=3))])

    summary = eventlogs_roll_up(dry_run=True)

    assert round(summary.hours, 2) == 46.67  # from the hour of NOW - 48 h to the horizon
    assert (hours(), mark()) == ([], BEGINNING)


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_the_pass_brings_the_marks_row_back() -> None:
    call_command("flush", interactive=False, verbosity=0)
    assert not LifecycleMarks.objects.exists()
    owner = User.objects.create_user(email="back@example.com", password="a-long-passphrase-9")
    with time_machine.travel(NOW, tick=False):
        with connection.cursor() as cursor:  # an event the backfill trigger does not see (it was disabled)
            cursor.execute("ALTER TABLE eventlogs_eventlog DISABLE TRIGGER eventlogs_note_backfill")
            try:
                EventLog.objects.bulk_create([event(owner, NOW - timedelta(hours=3))])
            finally:
                cursor.execute("ALTER TABLE eventlogs_eventlog ENABLE TRIGGER eventlogs_note_backfill")
        assert not LifecycleMarks.objects.exists()

        eventlogs_roll_up()

    assert mark() == HORIZON
    assert [row[2] for row in hours()] == [1]


def test_deleting_a_user_deletes_their_hours(frozen: Any, owner: User, other_user: User) -> None:
    EventLog.objects.bulk_create([event(owner, NOW - timedelta(hours=3)), event(other_user, NOW - timedelta(hours=3))])
    eventlogs_roll_up()

    owner.delete()

    assert list(EventLogHour.objects.values_list("owner_id", flat=True)) == [other_user.pk]


def test_deleting_counted_events_moves_the_mark_back_to_the_oldest(frozen: Any, owner: User) -> None:
    EventLog.objects.bulk_create([event(owner, NOW - timedelta(hours=age, minutes=15)) for age in (3, 6, 9)])
    eventlogs_roll_up()

    deleted = eventlogs_delete_counted(events=EventLog.objects.filter(fired_at__lt=NOW - timedelta(hours=5)))

    assert deleted == 2
    assert mark() == datetime(2026, 6, 1, 3, tzinfo=UTC)  # the hour of 03:25
    eventlogs_roll_up()
    assert [row[1] for row in hours()] == [datetime(2026, 6, 1, 9, tzinfo=UTC)]


@pytest.mark.django_db(transaction=True)
def test_a_backfill_while_a_pass_holds_the_mark_moves_it_back_after_the_pass_commits(owner: User) -> None:
    """The backfill trigger's upsert waits for the pass's transaction, then lowers the mark
    the pass left (docs/design/rollup.md)."""
    present = database_now()
    backfilled = present - timedelta(hours=6)
    locked, release, inserted = threading.Event(), threading.Event(), threading.Event()

    def pass_holding_the_lock() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                rollup._lock_marks(cursor)
                cursor.execute(rollup._MOVE_MARK, {"through": rollup.floor_hour(present)})
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def backfill() -> None:
        try:
            EventLog.objects.bulk_create([event(owner, backfilled)])
            inserted.set()
        finally:
            connection.close()

    holder = threading.Thread(target=pass_holding_the_lock)
    holder.start()
    assert locked.wait(10)
    writer = threading.Thread(target=backfill)
    writer.start()
    assert not inserted.wait(0.5)  # the backfill's trigger waits on the marks row
    release.set()
    holder.join(10)
    writer.join(10)

    assert inserted.is_set()
    assert mark() == rollup.floor_hour(backfilled)
    for alias in connections:
        connections[alias].close()


def test_the_command_prints_each_transaction_and_a_summary(frozen: Any, owner: User) -> None:
    EventLog.objects.bulk_create([event(owner, NOW - timedelta(hours=3))])
    output = StringIO()

    call_command("rollup_event_logs", "--minutes-per-transaction", "1440", stdout=output)

    lines = output.getvalue().splitlines()
    assert lines[0] == "Counted 2026-05-30T12:00:00+00:00 to 2026-05-31T12:00:00+00:00: 0 trigger-hours"
    assert lines[1] == "Counted 2026-05-31T12:00:00+00:00 to 2026-06-01T10:40:00+00:00: 1 trigger-hours"
    assert lines[2].startswith(
        "Rolled up 46.67 hours into 1 trigger-hours in 2 transactions, forgot 0 past retention; "
        "counted through 2026-06-01T10:40:00+00:00 ("
    )


def test_the_commands_dry_run_changes_nothing(frozen: Any, owner: User) -> None:
    output = StringIO()
    call_command("rollup_event_logs", "--dry-run", stdout=output)
    assert output.getvalue() == "Dry run: would count 46.67 hours of event logs; nothing changed.\n"
    assert mark() == BEGINNING


def test_a_truncate_of_the_events_empties_the_rollup_and_resets_its_mark(frozen: Any, owner: User) -> None:
    EventLog.objects.bulk_create([event(owner, NOW - timedelta(hours=3))])
    eventlogs_roll_up()
    assert hours()

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending: TRUNCATE refuses them
        cursor.execute("TRUNCATE eventlogs_eventlog")

    assert (hours(), mark()) == ([], BEGINNING)
    assert eventlogs_aggregated(owner_id=owner.pk) == []
