"""The hourly rollup of event logs: :class:`~eventlogs.models.EventLogHour`, kept by a pass.

``GET /event_logs/aggregated`` counts a million events per owner at full volume. The pass
counts each closed UTC hour once, per (owner, trigger, hour), and the reader
(:func:`eventlogs.selectors.eventlogs_aggregated`) adds the rows of the hours it may trust
to a live count of the few hours it may not.

**The promise.** ``LifecycleMarks.rolled_up_through`` is an hour boundary such that every
event of every hour before it is counted in ``EventLogHour``. These keep it true:

- The pass moves it forward only over hours it has just recounted, in the same transaction,
  and stays ``2 * BACKFILL_GRACE`` behind the present (by the older of Python's clock and
  the database's, since the trigger below reads the database's).
- Migration 0003's statement-level INSERT trigger moves it back to the hour of any event
  inserted more than ``BACKFILL_GRACE`` in the past (a backfill, a restore, bulk seeding).
  Every firing path writes ``fired_at`` as the moment of the insert, so an ordinary
  firing lands in an hour the pass has not reached yet.
- :func:`eventlogs_delete_counted` (the admin's deletions) moves it back to the oldest
  deleted event's hour. Retention deletes only events older than every hour a reader uses;
  deleting a user deletes their rows here too (``CASCADE``); deleting a trigger keeps its
  events (``SET_NULL``) and their snapshot, so none of those touch a counted hour. A
  ``TRUNCATE`` of the events empties this table and resets the mark (migration 0005).
- Nothing changes the counted columns of a stored event (the archive job writes only
  ``status`` and ``archived_at``, which the rollup does not store).

The pass never recounts an hour older than the one of ``now - EVENT_LOG_DELETE_AFTER``,
even when the mark is further back: no reader uses such an hour (a reader takes only hours
that start after its own ``now - EVENT_LOG_DELETE_AFTER``), as long as the reader's clock is
less than an hour behind the pass's. Rows of hours past retention are deleted only once the
events of those hours are gone too.

**Concurrency.** Each transaction of the pass starts with ``SELECT … FOR UPDATE`` on the one
marks row and holds that lock until it has recounted its hours and moved the mark.

- Two passes: the second waits for the first to commit, then reads the mark the first
  left and recounts from there (recounting is idempotent: the rows of the range are
  deleted and inserted afresh).
- A backfill that inserts while the pass holds the lock: the trigger's upsert of the marks
  row waits at the end of the INSERT statement, before the backfill commits, so the pass
  cannot have seen those events; once the pass commits, the upsert runs on the row the pass
  left (``ON CONFLICT DO UPDATE`` acts on the latest version under READ COMMITTED) and moves
  the mark back to the backfill's hour with ``LEAST``. The next pass recounts it.
- A backfill whose trigger has already moved the mark but has not committed: the pass's
  ``FOR UPDATE`` waits for it, then returns the moved-back mark, and the pass's counting
  statement (READ COMMITTED: a fresh snapshot per statement) sees its events.
- An ordinary insert still in flight: its ``fired_at`` is at least its statement's
  ``statement_timestamp() - BACKFILL_GRACE`` (or the trigger would have called it a
  backfill), and the pass stops ``2 * BACKFILL_GRACE`` before its own clock, so such an
  event is past the range unless its transaction stays open more than ``BACKFILL_GRACE``
  after writing it, which no firing path does.
- An admin deletion moves the mark with an ``UPDATE`` of the same row inside its deleting
  transaction: either before the pass locks the row (the pass then waits for it, and sees
  the deletion) or after the pass commits (moving back what the pass just counted).

Each transaction recounts at most ``hours_per_transaction`` hours with one
``INSERT … SELECT … GROUP BY``, so it stays well under a second at a million events a day
per owner and never holds the marks row (and so a backfill) for long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Min, QuerySet
from django.utils.timezone import now

from eventlogs.models import BACKFILL_GRACE, BEGINNING, EventLog, EventLogHour, LifecycleMarks, delete_after

HOUR = timedelta(hours=1)
HOURS_PER_TRANSACTION = 4

# Called after each transaction with (its first hour, the hour it stopped before, rows written).
Progress = Callable[[datetime, datetime, int], None]

_EVENTS = EventLog._meta.db_table
_HOURS = EventLogHour._meta.db_table
_MARKS = LifecycleMarks._meta.db_table

# The marks row is missing after `manage.py flush`; recreated as migration 0003's trigger does.
_RECREATE_MARKS = f"""
    INSERT INTO {_MARKS} (id, archived_through, rolled_up_through, backfills)
    VALUES (1, %(beginning)s, %(beginning)s, 0)
    ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 (table names come from the models; values are parameters)

_LOCK_MARKS = f"SELECT rolled_up_through, statement_timestamp() FROM {_MARKS} WHERE id = 1 FOR UPDATE"  # noqa: S608

_CLEAR_HOURS = f"DELETE FROM {_HOURS} WHERE hour >= %(start)s AND hour < %(end)s"  # noqa: S608

# One row per (owner, trigger, hour): a hash aggregate over a range scan of eventlog_fired,
# then the name and type of each group's newest event by one index look-up per group. (An
# ordered array_agg for them sorted every row of the range and took about twice as long.)
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
"""  # noqa: S608

# PostgreSQL has no statistics on the hour expression, so it expects about one group per
# event; the cost that follows from that switches on JIT, whose compilation took longer
# (~500 ms) than the statement itself.
_NO_JIT = "SET LOCAL jit = off"

_MOVE_MARK = f"UPDATE {_MARKS} SET rolled_up_through = %(through)s WHERE id = 1"  # noqa: S608

# Rows of hours no reader can use any more, once the events of those hours are gone too
# (bounded by the oldest event, so the table never disagrees with the events it counts; LEAST
# ignores the NULL of an empty table).
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
    """What one pass did: hours recounted, ``EventLogHour`` rows written and forgotten, and
    the mark it left (``None`` on a dry run)."""

    transactions: int
    hours: int
    rows: int
    forgotten: int
    rolled_up_through: datetime | None


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour ``moment`` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rollup_horizon(*, at: datetime, database_now: datetime) -> datetime:
    """The pass counts no hour that ends after this: events near the present may still be in
    flight, and the backfill trigger judges "in the past" by the database's clock."""
    return floor_hour(min(at, database_now) - 2 * BACKFILL_GRACE)


def eventlogs_roll_up(
    *,
    hours_per_transaction: int = HOURS_PER_TRANSACTION,
    dry_run: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RollupSummary:
    """Recount every retained hour from ``rolled_up_through`` to the horizon, a few hours per
    transaction, and forget the rows of hours past retention.

    With ``dry_run`` nothing changes; the summary's ``hours`` is how many would be recounted.
    ``should_stop`` is asked between transactions (the scheduler's shutdown).
    """
    if hours_per_transaction < 1:
        raise ValueError("hours_per_transaction must be at least 1")
    if dry_run:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement_timestamp()")
            database_now = cursor.fetchone()[0]
        marks = LifecycleMarks.objects.filter(id=1).first()
        mark = marks.rolled_up_through if marks else BEGINNING
        at = now()
        start = max(floor_hour(mark), floor_hour(at - delete_after()))
        end = rollup_horizon(at=at, database_now=database_now)
        hours = max(0, int((end - start) / HOUR))
        return RollupSummary(transactions=0, hours=hours, rows=0, forgotten=0, rolled_up_through=None)

    transactions = hours = rows = 0
    through: datetime | None = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            at = now()  # Python's clock, which tests move; read after the lock is granted
            mark, database_now = _lock_marks(cursor)
            start = max(floor_hour(mark), floor_hour(at - delete_after()))
            end = min(start + hours_per_transaction * HOUR, rollup_horizon(at=at, database_now=database_now))
            if end <= start:
                through = mark
                break
            cursor.execute(_NO_JIT)
            cursor.execute(_CLEAR_HOURS, {"start": start, "end": end})
            cursor.execute(_COUNT_HOURS, {"start": start, "end": end})
            written = cursor.rowcount
            cursor.execute(_MOVE_MARK, {"through": end})
        transactions += 1
        hours += int((end - start) / HOUR)
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
        transactions=transactions, hours=hours, rows=rows, forgotten=forgotten, rolled_up_through=through
    )


def _lock_marks(cursor: CursorWrapper) -> tuple[datetime, datetime]:
    cursor.execute(_LOCK_MARKS)
    row = cursor.fetchone()
    if row is None:
        cursor.execute(_RECREATE_MARKS, {"beginning": BEGINNING})
        cursor.execute(_LOCK_MARKS)
        row = cursor.fetchone()
    return row[0], row[1]


def eventlogs_delete_counted(*, events: QuerySet[EventLog]) -> int:
    """Delete ``events`` (an operator's choice, before retention would) and move the rollup
    mark back to the oldest one's hour, so the pass recounts the hours they were counted in.

    The mark moves first, in the same transaction: its row lock makes a pass that is
    running wait for the deletion to commit (or finish before it, and be moved back).
    """
    with transaction.atomic():
        oldest = events.aggregate(oldest=Min("fired_at"))["oldest"]
        if oldest is None:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(_MOVE_MARK_BACK, {"since": oldest})
        deleted, _ = events.delete()
    return deleted
