"""The database keeps LifecycleMarks true for every INSERT (migration 0003's trigger).

The passes that start from a mark (archive, hourly rollup) rely on it: an event written
with a ``fired_at`` older than BACKFILL_GRACE, by any path, moves the marks back to it.
These tests read the database's own clock, as the trigger does, because time-machine
moves only Python's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from eventlogs.models import BACKFILL_GRACE, BEGINNING, EventLog, LifecycleMarks

pytestmark = pytest.mark.django_db


def database_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def event(owner: User, fired_at: datetime, archived_at: datetime | None = None) -> EventLog:
    return EventLog(
        owner=owner,
        trigger_uuid=uuid.uuid4(),
        trigger_name="nightly report",
        trigger_type="api",
        source=EventLog.Source.API,
        fired_at=fired_at,
        archived_at=archived_at,
    )


@pytest.fixture
def marks_at_now() -> LifecycleMarks:
    """Both marks at the database's present, as after a pass, so a backfill has room to move them."""
    present = database_now()
    LifecycleMarks.objects.update_or_create(
        id=1, defaults={"archived_through": present, "rolled_up_through": present, "backfills": 0}
    )
    return LifecycleMarks.objects.get()


def test_the_migration_creates_the_row_at_the_beginning(db: None) -> None:
    marks = LifecycleMarks.objects.get()
    assert (marks.archived_through, marks.rolled_up_through, marks.backfills) == (BEGINNING, BEGINNING, 0)


def test_an_ordinary_firing_leaves_the_marks_alone(owner: User, marks_at_now: LifecycleMarks) -> None:
    EventLog.objects.bulk_create([event(owner, database_now())])

    assert LifecycleMarks.objects.get() == marks_at_now
    assert LifecycleMarks.objects.values_list("backfills", flat=True).get() == 0


def test_an_event_older_than_the_grace_moves_both_marks_back_to_it(owner: User, marks_at_now: LifecycleMarks) -> None:
    old = (database_now() - timedelta(hours=5)).replace(minute=37, second=12)

    EventLog.objects.bulk_create([event(owner, old)])

    marks = LifecycleMarks.objects.get()
    assert marks.archived_through == old
    assert marks.rolled_up_through == old.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    assert marks.backfills == 1


def test_an_old_event_already_archived_moves_only_the_rollup_mark(owner: User, marks_at_now: LifecycleMarks) -> None:
    old = database_now() - timedelta(hours=5)

    EventLog.objects.bulk_create([event(owner, old, archived_at=old + timedelta(hours=2))])

    marks = LifecycleMarks.objects.get()
    assert marks.archived_through == marks_at_now.archived_through
    assert marks.rolled_up_through < old
    assert marks.backfills == 1


def test_the_grace_in_the_database_is_the_one_python_names(owner: User, marks_at_now: LifecycleMarks) -> None:
    # One INSERT per event, so each is judged against its own statement's clock.
    EventLog.objects.bulk_create([event(owner, database_now() - BACKFILL_GRACE + timedelta(seconds=30))])
    assert LifecycleMarks.objects.get().backfills == 0

    EventLog.objects.bulk_create([event(owner, database_now() - BACKFILL_GRACE - timedelta(seconds=30))])
    assert LifecycleMarks.objects.get().backfills == 1


def test_a_bulk_load_is_one_backfill_at_its_oldest_event(owner: User, marks_at_now: LifecycleMarks) -> None:
    present = database_now()
    ages = [timedelta(hours=hours) for hours in (1, 30, 7, 12)]

    EventLog.objects.bulk_create([event(owner, present - age) for age in ages])

    marks = LifecycleMarks.objects.get()
    assert marks.archived_through == present - timedelta(hours=30)
    assert marks.backfills == 1


def test_the_marks_never_move_forward_on_an_insert(owner: User) -> None:
    earlier = datetime(2020, 1, 1, tzinfo=UTC)
    LifecycleMarks.objects.filter(id=1).update(archived_through=earlier, rolled_up_through=earlier)

    EventLog.objects.bulk_create([event(owner, database_now() - timedelta(hours=3))])

    marks = LifecycleMarks.objects.get()
    assert (marks.archived_through, marks.rolled_up_through) == (earlier, earlier)


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_the_first_backfill_brings_the_row_back_at_the_beginning(owner: User) -> None:
    call_command("flush", interactive=False, verbosity=0)
    owner = User.objects.create_user(email="back@example.com", password="a-long-passphrase-9")
    assert not LifecycleMarks.objects.exists()

    EventLog.objects.bulk_create([event(owner, database_now() - timedelta(hours=3))])

    marks = LifecycleMarks.objects.get()
    assert (marks.archived_through, marks.rolled_up_through, marks.backfills) == (BEGINNING, BEGINNING, 1)
