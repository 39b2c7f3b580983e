"""eventlogs_aggregated reads the hourly rollup plus a live count, and must answer exactly as
one grouped query over the events does, whatever the rollup has or has not done.

``oracle`` below is that query (the implementation before the rollup); the randomized tests
compare the two after every step of a history: inserts of any age (backfills), passes,
deletions by an operator, renamed and deleted triggers, time passing forwards and back.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Max, Q
from django.utils.timezone import now

from accounts.models import User
from eventlogs.models import BEGINNING, EventLog, EventLogHour, LifecycleMarks, archive_after, delete_after
from eventlogs.rollup import eventlogs_roll_up
from eventlogs.selectors import eventlogs_aggregated
from eventlogs.services import eventlogs_delete_counted

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def oracle(*, owner_id: int, at: datetime) -> list[dict[str, Any]]:
    """One grouped query over the owner's retained events; the newest event names the trigger."""
    archive_cutoff = at - archive_after()
    groups = (
        EventLog.objects.filter(owner_id=owner_id, fired_at__gt=at - delete_after())
        .values("trigger_uuid", "trigger_name", "trigger_type")
        .annotate(
            total=Count("id"),
            active=Count("id", filter=Q(fired_at__gt=archive_cutoff)),
            archived=Count("id", filter=Q(fired_at__lte=archive_cutoff)),
            test=Count("id", filter=Q(is_test=True)),
            last_fired_at=Max("fired_at"),
        )
        .order_by()
    )
    merged: dict[uuid.UUID, dict[str, Any]] = {}
    for group in sorted(groups, key=lambda row: row["last_fired_at"]):
        row = merged.setdefault(
            group["trigger_uuid"],
            {"trigger_id": group["trigger_uuid"], "total": 0, "active": 0, "archived": 0, "test": 0},
        )
        for counter in ("total", "active", "archived", "test"):
            row[counter] += group[counter]
        row.update(
            trigger_name=group["trigger_name"],
            trigger_type=group["trigger_type"],
            last_fired_at=group["last_fired_at"],
        )
    return sorted(merged.values(), key=lambda row: row["last_fired_at"], reverse=True)


class History:
    """Random events for two owners around the present, each at a distinct instant (so the
    newest event of a trigger, and the order of triggers, are never a tie)."""

    def __init__(self, seed: int, owners: list[User]) -> None:
        self.random = random.Random(seed)
        self.owners = owners
        self.triggers = [uuid.UUID(int=self.random.getrandbits(128)) for _ in range(6)]
        self.used: set[datetime] = set()

    def fired_at(self) -> datetime:
        at = now()
        archive_cutoff, window_start = at - archive_after(), at - delete_after()
        choice = self.random.random()
        if choice < 0.25:  # exactly at a cutoff or an hour boundary near one, or a microsecond off
            base = self.random.choice(
                [
                    archive_cutoff,
                    window_start,
                    archive_cutoff.replace(minute=0, second=0, microsecond=0),
                    window_start.replace(minute=0, second=0, microsecond=0) + HOUR,
                    at.replace(minute=0, second=0, microsecond=0),
                ]
            )
            moment = base + timedelta(microseconds=self.random.choice([-1, 0, 0, 1]))
        elif choice < 0.35:  # near the present, a little in the future too
            moment = at + timedelta(seconds=self.random.uniform(-3600, 120))
        else:  # anywhere in the window and a little past it
            moment = at - timedelta(seconds=self.random.uniform(0, delete_after().total_seconds() * 1.05))
        while moment in self.used:
            moment += timedelta(microseconds=1)
        self.used.add(moment)
        return moment

    def events(self, count: int) -> list[EventLog]:
        made = []
        for _ in range(count):
            trigger_uuid = self.random.choice(self.triggers)
            is_test = self.random.random() < 0.2
            made.append(
                EventLog(
                    owner=self.random.choice(self.owners),
                    trigger_uuid=trigger_uuid,
                    # Renames: a trigger's events carry one of a few names and both types.
                    trigger_name=f"{str(trigger_uuid)[:4]} {self.random.choice(['a', 'b', 'c'])}",
                    trigger_type=self.random.choice(["api", "scheduled"]),
                    source=EventLog.Source.TEST if is_test else EventLog.Source.API,
                    is_test=is_test,
                    fired_at=self.fired_at(),
                )
            )
        return made


def assert_same_answers(owners: list[User], step: str) -> None:
    for owner in owners:
        at = now()
        expected = oracle(owner_id=owner.pk, at=at)
        assert eventlogs_aggregated(owner_id=owner.pk, at=at) == expected, step


@pytest.mark.parametrize("seed", range(16))
def test_it_answers_as_one_grouped_query_over_the_events_through_any_history(
    seed: int, owner: User, other_user: User
) -> None:
    owners = [owner, other_user]
    generator = random.Random(seed)
    # Half the seeds start on an hour boundary, where the cutoffs fall on hour boundaries too.
    start = datetime(2026, 6, 1, 12, tzinfo=UTC)
    if seed % 2:
        start += timedelta(seconds=generator.uniform(0, 3600))
    with time_machine.travel(start, tick=False) as traveller:
        history = History(seed, owners)

        EventLog.objects.bulk_create(history.events(120))
        assert_same_answers(owners, "nothing rolled up yet")

        eventlogs_roll_up(step=timedelta(minutes=generator.choice([7, 15, 60, 100, 720])))
        assert_same_answers(owners, "after a pass")

        EventLog.objects.bulk_create(history.events(40))
        assert_same_answers(owners, "after a backfill")

        stored = sorted(EventLog.objects.values_list("pk", flat=True))
        doomed = generator.sample(stored, generator.randint(1, min(15, len(stored))))
        eventlogs_delete_counted(events=EventLog.objects.filter(pk__in=doomed))
        assert_same_answers(owners, "after an operator deleted some")

        eventlogs_roll_up()
        assert_same_answers(owners, "after the next pass")

        # Back too, by less than an hour: a reader whose clock is behind the pass's.
        for move in (generator.uniform(0, 6), generator.uniform(0, 1), -generator.uniform(0, 0.99)):
            traveller.shift(timedelta(hours=move))
            assert_same_answers(owners, f"{move:+.2f} h later, before a pass")
            EventLog.objects.bulk_create(history.events(15))
            eventlogs_roll_up(step=timedelta(minutes=generator.choice([7, 15, 60, 240, 2880])))
            assert_same_answers(owners, f"{move:+.2f} h later, after a pass")


@pytest.mark.parametrize(
    ("archive_after_", "delete_after_"),
    [(timedelta(minutes=37), timedelta(hours=3, minutes=10)), (timedelta(hours=5, minutes=30), timedelta(hours=6))],
)
@pytest.mark.parametrize("seed", range(3))
def test_it_answers_as_the_grouped_query_with_other_lifecycle_settings(
    seed: int, archive_after_: timedelta, delete_after_: timedelta, owner: User, settings: Any
) -> None:
    """Durations that are not whole hours, and a cutoff that falls in the window's first hour."""
    settings.EVENT_LOG_ARCHIVE_AFTER, settings.EVENT_LOG_DELETE_AFTER = archive_after_, delete_after_
    generator = random.Random(seed)
    with time_machine.travel(datetime(2026, 6, 1, 12, 13, 14, tzinfo=UTC), tick=False) as traveller:
        history = History(seed, [owner])
        for _ in range(4):
            EventLog.objects.bulk_create(history.events(60))
            assert_same_answers([owner], "before a pass")
            eventlogs_roll_up(step=timedelta(minutes=generator.choice([7, 15, 60, 180])))
            assert_same_answers([owner], "after a pass")
            traveller.shift(timedelta(minutes=generator.uniform(0, 90)))


def test_a_mark_set_off_the_hour_still_splits_the_window_exactly(owner: User) -> None:
    at = datetime(2026, 6, 1, 12, 17, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        history = History(99, [owner])
        EventLog.objects.bulk_create(history.events(200))
        eventlogs_roll_up()
        LifecycleMarks.objects.update(rolled_up_through=at - timedelta(hours=5, minutes=23))
        assert_same_answers([owner], "mark at 06:54")


def _moving_the_mark_before_each_count(marks: list[datetime]):
    """An execute wrapper that sets the mark to the next of ``marks`` just before each counting
    statement, as a pass or a backfill committing between the reader's two statements would."""
    pending = list(marks)

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "eventlogs_eventloghour" in sql and pending:
            with connection.cursor() as cursor:
                cursor.execute("UPDATE eventlogs_lifecyclemarks SET rolled_up_through = %s", [pending.pop(0)])
        return execute(sql, params, many, context)

    return wrapper


def test_a_mark_moved_between_reading_it_and_counting_is_noticed(owner: User) -> None:
    at = datetime(2026, 6, 1, 12, 40, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        history = History(7, [owner])
        EventLog.objects.bulk_create(history.events(300))
        eventlogs_roll_up()
        # The rollup rows are wrong for any mark but the one they were counted for...
        EventLogHour.objects.update(total=1000)
        # ...and a backfill moved the mark to the beginning after the reader read it: the
        # counting statement must see that and not use those rows.
        with connection.execute_wrapper(_moving_the_mark_before_each_count([BEGINNING])):
            rows = eventlogs_aggregated(owner_id=owner.pk)

        assert rows == oracle(owner_id=owner.pk, at=at)


def test_a_mark_that_keeps_moving_falls_back_to_counting_every_event(owner: User) -> None:
    at = datetime(2026, 6, 1, 12, 40, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        history = History(8, [owner])
        EventLog.objects.bulk_create(history.events(300))
        eventlogs_roll_up()
        EventLogHour.objects.update(total=1000)
        moves = [at - timedelta(hours=hours) for hours in (3, 5, 7, 9)]
        with connection.execute_wrapper(_moving_the_mark_before_each_count(moves)):
            rows = eventlogs_aggregated(owner_id=owner.pk)

        assert rows == oracle(owner_id=owner.pk, at=at)
