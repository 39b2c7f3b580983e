"""Archive at 2 h, delete at 48 h: the exact boundaries, batching, dry runs and overlapping runs."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils.timezone import now
from time_machine import TimeMachineFixture

from accounts.models import User
from eventlogs.lifecycle import archive_cutoff, delete_cutoff, eventlogs_archive, eventlogs_delete
from eventlogs.models import EventLog

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def make_events(owner: User, *ages: timedelta, at: datetime = NOW) -> list[EventLog]:
    trigger_id = uuid.uuid4()
    return EventLog.objects.bulk_create(
        EventLog(
            owner=owner,
            trigger_uuid=trigger_id,
            trigger_name="nightly report",
            trigger_type="api",
            source=EventLog.Source.API,
            payload={"n": index},
            fired_at=at - age,
        )
        for index, age in enumerate(ages)
    )


def statuses(events: list[EventLog]) -> list[str | None]:
    """Each event's stored state ("archived" once the job set ``archived_at``), or None once deleted."""
    found = dict(EventLog.objects.filter(pk__in=[event.pk for event in events]).values_list("pk", "archived_at"))
    return [None if event.pk not in found else ("archived" if found[event.pk] else "active") for event in events]


@pytest.fixture
def at_noon(time_machine: TimeMachineFixture) -> datetime:
    time_machine.move_to(NOW, tick=False)
    return NOW


def test_it_archives_logs_exactly_two_hours_old_and_keeps_younger_ones_active(owner: User, at_noon: datetime) -> None:
    two_hours = timedelta(hours=2)
    younger, exactly, older = make_events(owner, two_hours - MICROSECOND, two_hours, timedelta(hours=5))

    archived = eventlogs_archive(older_than=archive_cutoff())

    assert archived == 2
    assert statuses([younger, exactly, older]) == ["active", "archived", "archived"]
    exactly.refresh_from_db()
    assert exactly.archived_at == at_noon


def test_it_deletes_logs_exactly_48_hours_old_and_nothing_younger(owner: User, at_noon: datetime) -> None:
    events = make_events(
        owner,
        timedelta(minutes=1),
        timedelta(hours=2),
        timedelta(hours=48) - MICROSECOND,
        timedelta(hours=48),
        timedelta(days=30),
    )

    deleted = eventlogs_delete(older_than=delete_cutoff())

    assert deleted == 2
    assert statuses(events) == ["active", "active", "active", None, None]


def test_it_deletes_old_logs_whether_or_not_they_were_archived(owner: User, at_noon: datetime) -> None:
    archived, active = make_events(owner, timedelta(hours=50), timedelta(hours=49))
    EventLog.objects.filter(pk=archived.pk).update(archived_at=NOW - timedelta(hours=1))

    assert eventlogs_delete(older_than=delete_cutoff()) == 2
    assert statuses([archived, active]) == [None, None]


def test_it_does_not_archive_a_log_twice(owner: User, at_noon: datetime) -> None:
    (event,) = make_events(owner, timedelta(hours=3))
    assert eventlogs_archive(older_than=archive_cutoff()) == 1
    first_archived_at = EventLog.objects.get(pk=event.pk).archived_at

    assert eventlogs_archive(older_than=archive_cutoff()) == 0
    assert EventLog.objects.get(pk=event.pk).archived_at == first_archived_at


def test_it_works_in_batches_and_reports_each_one(owner: User, at_noon: datetime) -> None:
    make_events(owner, *[timedelta(hours=3, seconds=index) for index in range(25)])
    reports: list[tuple[int, int, int]] = []

    archived = eventlogs_archive(
        older_than=archive_cutoff(), batch_size=10, progress=lambda *report: reports.append(report)
    )

    assert archived == 25
    assert reports == [(1, 10, 10), (2, 10, 20), (3, 5, 25)]
    assert EventLog.objects.filter(archived_at__isnull=True).count() == 0


def test_a_dry_run_counts_and_changes_nothing(owner: User, at_noon: datetime) -> None:
    events = make_events(owner, timedelta(hours=1), timedelta(hours=3), timedelta(hours=60))

    assert eventlogs_archive(older_than=archive_cutoff(), dry_run=True) == 2
    assert eventlogs_delete(older_than=delete_cutoff(), dry_run=True) == 1
    assert statuses(events) == ["active", "active", "active"]


def test_a_stop_request_ends_the_run_after_the_current_batch(owner: User, at_noon: datetime) -> None:
    make_events(owner, *[timedelta(hours=3, seconds=index) for index in range(25)])

    archived = eventlogs_archive(older_than=archive_cutoff(), batch_size=10, should_stop=lambda: True)

    assert archived == 10
    assert EventLog.objects.filter(archived_at__isnull=False).count() == 10


# --- Overlapping runs (each thread has its own connection and commits for real) -----------------


def run_at_once(*jobs: tuple[str, object]) -> dict[str, list[int]]:
    """Start every job at the same moment in its own thread; return each kind's counts."""
    barrier = threading.Barrier(len(jobs))
    counts: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(kind: str, job: object) -> None:
        try:
            barrier.wait()
            result = job()
            with lock:
                counts.setdefault(kind, []).append(result)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return counts


def seed(owner: User, count: int, *, oldest: timedelta, newest: timedelta) -> list[EventLog]:
    step = (oldest - newest) / count
    return make_events(owner, *[newest + step * index for index in range(count)], at=now())


@pytest.mark.django_db(transaction=True)
def test_two_archive_runs_at_once_archive_every_row_exactly_once(owner: User) -> None:
    seed(owner, 3000, oldest=timedelta(hours=40), newest=timedelta(hours=3))

    def archive() -> int:
        return eventlogs_archive(older_than=archive_cutoff(), batch_size=100)

    counts = run_at_once(("archive", archive), ("archive", archive))

    assert sum(counts["archive"]) == 3000
    assert EventLog.objects.filter(archived_at__isnull=False).count() == 3000


@pytest.mark.django_db(transaction=True)
def test_archive_and_delete_runs_at_once_lose_and_duplicate_nothing(owner: User) -> None:
    young = seed(owner, 500, oldest=timedelta(hours=1, minutes=59), newest=timedelta(minutes=1))
    middle = seed(owner, 2000, oldest=timedelta(hours=47, minutes=59), newest=timedelta(hours=2, minutes=1))
    old = seed(owner, 2000, oldest=timedelta(days=5), newest=timedelta(hours=48, minutes=1))

    def archive() -> int:
        return eventlogs_archive(older_than=archive_cutoff(), batch_size=100)

    def delete() -> int:
        return eventlogs_delete(older_than=delete_cutoff(), batch_size=100)

    counts = run_at_once(("archive", archive), ("archive", archive), ("delete", delete), ("delete", delete))

    # Every old row was deleted exactly once between the two delete runs...
    assert sum(counts["delete"]) == len(old)
    assert not EventLog.objects.filter(pk__in=[event.pk for event in old]).exists()
    # ...every row between 2 h and 48 h is archived, and the young ones are untouched.
    assert statuses(middle) == ["archived"] * len(middle)
    assert statuses(young) == ["active"] * len(young)
    # An old row may have been archived before it was deleted, never archived twice.
    assert len(middle) <= sum(counts["archive"]) <= len(middle) + len(old)
