"""The hourly rollup behind ``GET /event_logs/aggregated``: each closed UTC hour counted once
into :class:`~eventlogs.models.EventLogHour`, per owner and trigger.

``LifecycleMarks.rolled_up_through`` promises that every event of every hour before it is
counted. Each transaction locks the marks row, recounts a few hours and moves the mark; the
proof that no insert, deletion or second pass breaks the promise is ``docs/design/rollup.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils.timezone import now

from eventlogs.models import BACKFILL_GRACE, BEGINNING, EventLog, EventLogHour, LifecycleMarks, delete_after

HOUR = timedelta(hours=1)
# The most of the timeline one transaction counts, so that one stays short at the
# steady-state rate (docs/benchmarks.md).
STEP = timedelta(minutes=5)

# Called after each transaction with (where it started, where it stopped, rows written).
Progress = Callable[[datetime, datetime, int], None]

_EVENTS = EventLog._meta.db_table
_HOURS = EventLogHour._meta.db_table
_MARKS = LifecycleMarks._meta.db_table

# The marks row is missing after `manage.py flush`.
_RECREATE_MARKS = f"""
    INSERT INTO {_MARKS} (id, archived_through, rolled_up_through, backfills)
    VALUES (1, %(beginning)s, %(beginning)s, 0)
    ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 (table names come from the models; values are parameters)

_LOCK_MARKS = f"SELECT rolled_up_through, statement_timestamp() FROM {_MARKS} WHERE id = 1 FOR UPDATE"  # noqa: S608

# The hours that start inside the range are counted afresh; the one the range starts in the
# middle of holds the events before the mark, and the range's are added to it.
_CLEAR_HOURS = f"DELETE FROM {_HOURS} WHERE hour >= %(start)s AND hour < %(end)s"  # noqa: S608

# A hash aggregate over a range of eventlog_fired, then each group's newest name and type by
# one index look-up per group (cheaper than sorting the range for an ordered array_agg).
_COUNT_HOURS = f"""
    INSERT INTO {_HOURS} (owner_id, trigger_uuid, hour, total, test, last_fired_at, trigger_name, trigger_type)
    SELECT counted.owner_id, counted.trigger_uuid, counted.hour, counted.total, counted.test, counted.last_fired_at,
           newest.trigger_name, newest.trigger_type
    FROM (
        SELECT owner_id, trigger_uuid, date_trunc('hour', fired_at, 'UTC') AS hour, count(*) AS total,
               count(*) FILTER (WHERE is_test) AS test, max(fired_at) AS last_fired_at
        FROM {_EVENTS}
        WHERE fired_at >= %(start)s AND fired_at < %(end)s
        GROUP BY 1, 2, 3
    ) AS counted
    CROSS JOIN LATERAL (
        SELECT trigger_name, trigger_type FROM {_EVENTS} AS event
        WHERE event.fired_at = counted.last_fired_at
          AND event.trigger_uuid = counted.trigger_uuid AND event.owner_id = counted.owner_id
        ORDER BY trigger_name DESC, trigger_type DESC
        LIMIT 1
    ) AS newest
    ON CONFLICT (owner_id, hour, trigger_uuid) DO UPDATE SET
        total = {_HOURS}.total + EXCLUDED.total,
        test = {_HOURS}.test + EXCLUDED.test,
        last_fired_at = EXCLUDED.last_fired_at,
        trigger_name = EXCLUDED.trigger_name,
        trigger_type = EXCLUDED.trigger_type
"""  # noqa: S608

# Without statistics on the hour expression PostgreSQL expects a group per event, and the
# cost it then estimates switches on JIT, whose compilation outlasts the statement.
_NO_JIT = "SET LOCAL jit = off"

_MOVE_MARK = f"UPDATE {_MARKS} SET rolled_up_through = %(through)s WHERE id = 1"  # noqa: S608

# Hours no reader uses any more, once their events are gone too (so the rollup never
# disagrees with the events it counts; LEAST ignores the NULL of an empty table).
_FORGET_HOURS = f"""
    DELETE FROM {_HOURS}
    WHERE hour < LEAST(%(floor)s, date_trunc('hour', (SELECT min(fired_at) FROM {_EVENTS}), 'UTC'))
"""  # noqa: S608

_MOVE_MARK_BACK = f"""
    UPDATE {_MARKS} SET rolled_up_through = LEAST(rolled_up_through, date_trunc('hour', %(since)s, 'UTC'))
    WHERE id = 1
"""  # noqa: S608


@dataclass(frozen=True)
class RollupSummary:
    """What one pass did: hours of the timeline counted, ``EventLogHour`` rows written and
    forgotten, and the mark it left (``None`` on a dry run)."""

    transactions: int
    hours: float
    rows: int
    forgotten: int
    rolled_up_through: datetime | None


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour ``moment`` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rollup_horizon(*, at: datetime, database_now: datetime) -> datetime:
    """The pass counts nothing fired after this: ordinary inserts may still be in flight up
    to twice ``BACKFILL_GRACE`` back, by the older of the two clocks."""
    return (min(at, database_now) - 2 * BACKFILL_GRACE).replace(second=0, microsecond=0)


def eventlogs_roll_up(
    *,
    step: timedelta = STEP,
    dry_run: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RollupSummary:
    """Count every retained event from ``rolled_up_through`` to the horizon, ``step`` of the
    timeline per transaction, and forget the rows of hours past retention.

    With ``dry_run`` nothing changes; the summary's ``hours`` is how much would be counted.
    ``should_stop`` is asked between transactions (the scheduler's shutdown).
    """
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    if dry_run:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement_timestamp()")
            database_now = cursor.fetchone()[0]
        marks = LifecycleMarks.objects.filter(id=1).first()
        at = now()
        start = max(marks.rolled_up_through if marks else BEGINNING, floor_hour(at - delete_after()))
        end = rollup_horizon(at=at, database_now=database_now)
        return RollupSummary(
            transactions=0, hours=max(0.0, (end - start) / HOUR), rows=0, forgotten=0, rolled_up_through=None
        )

    transactions = rows = 0
    counted = timedelta(0)
    through: datetime | None = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            at = now()  # Python's clock, which tests move; read after the lock is granted
            mark, database_now = _lock_marks(cursor)
            start = max(mark, floor_hour(at - delete_after()))
            end = min(start + step, rollup_horizon(at=at, database_now=database_now))
            if end <= start:
                through = mark
                break
            cursor.execute(_NO_JIT)
            cursor.execute(_CLEAR_HOURS, {"start": start, "end": end})
            cursor.execute(_COUNT_HOURS, {"start": start, "end": end})
            written = cursor.rowcount
            cursor.execute(_MOVE_MARK, {"through": end})
        transactions += 1
        counted += end - start
        rows += written
        through = end
        if progress is not None:
            progress(start, end, written)
        if should_stop is not None and should_stop():
            break

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FORGET_HOURS, {"floor": floor_hour(now() - delete_after())})
        forgotten = cursor.rowcount
    return RollupSummary(
        transactions=transactions, hours=counted / HOUR, rows=rows, forgotten=forgotten, rolled_up_through=through
    )


def _lock_marks(cursor: CursorWrapper) -> tuple[datetime, datetime]:
    cursor.execute(_LOCK_MARKS)
    row = cursor.fetchone()
    if row is None:
        cursor.execute(_RECREATE_MARKS, {"beginning": BEGINNING})
        cursor.execute(_LOCK_MARKS)
        row = cursor.fetchone()
    return row[0], row[1]


def rollup_move_mark_back(*, since: datetime) -> None:
    """Move the mark back to ``since``'s hour, so the hours of events about to be deleted are
    counted again. Called first in the deleting transaction: a running pass either waits for
    that deletion or is moved back after it."""
    with connection.cursor() as cursor:
        cursor.execute(_MOVE_MARK_BACK, {"since": since})
