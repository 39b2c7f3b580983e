"""The event-log lifecycle: archive at ``EVENT_LOG_ARCHIVE_AFTER``, delete at ``EVENT_LOG_DELETE_AFTER``.

Both work in bounded batches, each one short transaction of one set-based statement, and
claim their rows with ``FOR UPDATE SKIP LOCKED`` so that any number of runs can overlap.
The archive pass starts from ``LifecycleMarks.archived_through``. Why each piece is there,
and the steady-state figures that keep it: ``docs/design/lifecycle.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils.timezone import now

from eventlogs.models import BACKFILL_GRACE, BEGINNING, EventLog, LifecycleMarks, archive_after, delete_after

# Called after each batch with (batch number, rows in this batch, rows so far).
Progress = Callable[[int, int, int], None]

_TABLE = EventLog._meta.db_table
_MARKS_TABLE = LifecycleMarks._meta.db_table
# PostgreSQL keeps microseconds, so "fired_at <= cutoff" is "fired_at < cutoff + 1 µs".
_MICROSECOND = timedelta(microseconds=1)

_ARCHIVABLE = "fired_at >= %(lower)s AND fired_at < %(upper)s AND archived_at IS NULL"
_DELETABLE = "fired_at >= %(lower)s AND fired_at < %(upper)s"

# One batch: the oldest candidates from ``floor`` on, those nobody else holds, changed by
# ``ctid`` (joining on ``id`` lets the planner hash the whole table). It returns the rows
# changed, the rows seen and the newest ``fired_at`` seen, where the next batch starts.
_ARCHIVE_BATCH = f"""
    WITH candidates AS MATERIALIZED (
        SELECT ctid, fired_at FROM {_TABLE}
        WHERE fired_at >= %(floor)s AND fired_at < %(upper)s AND archived_at IS NULL
        ORDER BY fired_at
        LIMIT %(limit)s
    ),
    claimed AS (
        SELECT ctid FROM {_TABLE}
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM candidates)) AND archived_at IS NULL
        FOR UPDATE SKIP LOCKED
    ),
    changed AS (
        UPDATE {_TABLE} AS event SET archived_at = %(archived_at)s
        WHERE event.ctid = ANY(ARRAY(SELECT ctid FROM claimed)) AND event.archived_at IS NULL
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM changed), count(*), max(fired_at) FROM candidates
"""  # noqa: S608 (the table name comes from the model; values are parameters)

_DELETE_BATCH = f"""
    WITH candidates AS MATERIALIZED (
        SELECT ctid, fired_at FROM {_TABLE}
        WHERE fired_at >= %(floor)s AND fired_at < %(upper)s
        ORDER BY fired_at
        LIMIT %(limit)s
    ),
    claimed AS (
        SELECT ctid FROM {_TABLE}
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM candidates))
        FOR UPDATE SKIP LOCKED
    ),
    changed AS (
        DELETE FROM {_TABLE} AS event
        WHERE event.ctid = ANY(ARRAY(SELECT ctid FROM claimed))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM changed), count(*), max(fired_at) FROM candidates
"""  # noqa: S608

# The database's clock comes along because the backfill trigger judges age by it.
_READ_MARK = f"""
    SELECT marks.archived_through, marks.backfills, statement_timestamp()
    FROM (VALUES (1)) AS here (id) LEFT JOIN {_MARKS_TABLE} AS marks ON marks.id = here.id
"""  # noqa: S608

# Compare-and-set: never backwards, and not if a backfill was counted since the pass began.
_ADVANCE_MARK = f"""
    INSERT INTO {_MARKS_TABLE} AS marks (id, archived_through, rolled_up_through, backfills)
    VALUES (1, %(through)s, %(beginning)s, %(seen)s)
    ON CONFLICT (id) DO UPDATE SET archived_through = GREATEST(marks.archived_through, EXCLUDED.archived_through)
    WHERE marks.backfills = %(seen)s
"""  # noqa: S608

# Rows skipped because another transaction held them are tried again after this pause, for
# at most _MAX_WAIT_SECONDS in all; a lock held longer is left to the next run.
_RETRY_PAUSE_SECONDS = 0.05
_MAX_WAIT_SECONDS = 10.0


def archive_cutoff(at: datetime | None = None) -> datetime:
    """Events fired at or before this moment are old enough to archive."""
    return (at or now()) - archive_after()


def delete_cutoff(at: datetime | None = None) -> datetime:
    """Events fired at or before this moment are old enough to delete."""
    return (at or now()) - delete_after()


def eventlogs_archive(
    *,
    older_than: datetime,
    batch_size: int | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Archive the events fired at or before ``older_than``; return how many were archived
    (with ``dry_run``, how many would be). ``should_stop`` is asked between batches.

    Once every row of the range is archived, the mark moves to ``older_than``, but no later
    than the database's clock minus twice ``BACKFILL_GRACE``: an ordinary insert may still
    be in flight that far back.
    """
    limit = _batch_limit(batch_size)
    mark = _read_mark()
    bounds = {"lower": mark.archived_through, "upper": older_than + _MICROSECOND}
    if dry_run:
        return _scalar(f"SELECT count(*) FROM {_TABLE} WHERE {_ARCHIVABLE}", bounds)  # noqa: S608
    run = _Run(progress=progress, should_stop=should_stop, limit=limit)
    run.over(_ARCHIVE_BATCH, {"archived_at": now()}, **bounds)
    if run.finished:
        _advance_mark(mark, through=min(older_than, mark.database_now - 2 * BACKFILL_GRACE))
    return run.total


def eventlogs_delete(
    *,
    older_than: datetime,
    batch_size: int | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Delete the events fired at or before ``older_than``; return how many (with
    ``dry_run``, how many would be)."""
    limit = _batch_limit(batch_size)
    bounds = {"lower": BEGINNING, "upper": older_than + _MICROSECOND}
    if dry_run:
        return _scalar(f"SELECT count(*) FROM {_TABLE} WHERE {_DELETABLE}", bounds)  # noqa: S608
    run = _Run(progress=progress, should_stop=should_stop, limit=limit)
    run.over(_DELETE_BATCH, {}, **bounds)
    return run.total


class _Mark(NamedTuple):
    archived_through: datetime
    backfills: int
    database_now: datetime


def _read_mark() -> _Mark:
    with connection.cursor() as cursor:
        cursor.execute(_READ_MARK)
        archived_through, backfills, database_now = cursor.fetchone()
    if archived_through is None:  # no row: `manage.py flush` removed it
        return _Mark(BEGINNING, 0, database_now)
    return _Mark(archived_through, backfills, database_now)


def _advance_mark(seen: _Mark, *, through: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE_MARK, {"through": through, "beginning": BEGINNING, "seen": seen.backfills})


class _Run:
    """One pass over a range of ``fired_at``: its batches, their count and whether it finished."""

    def __init__(self, *, progress: Progress | None, should_stop: Callable[[], bool] | None, limit: int) -> None:
        self.progress = progress
        self.should_stop = should_stop
        self.limit = limit
        self.total = 0
        self.batches = 0
        self.finished = False

    def over(self, statement: str, params: dict[str, object], *, lower: datetime, upper: datetime) -> None:
        """Change every eligible row of ``[lower, upper)``, ``limit`` rows per transaction."""
        floor, skipped, waited = lower, False, 0.0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, {**params, "floor": floor, "upper": upper, "limit": self.limit})
                changed, seen, newest = cursor.fetchone()
            if changed:
                self.batches += 1
                self.total += changed
                if self.progress is not None:
                    self.progress(self.batches, changed, self.total)
            skipped = skipped or changed < seen
            if self.should_stop is not None and self.should_stop():
                return
            if seen == self.limit and (newest > floor or changed == seen):
                floor = newest
                continue
            if not skipped:
                self.finished = True
                return
            # Someone held some rows (another run, a trigger being deleted): once they are
            # released, read the range again; a delete must not leave a row behind.
            if waited >= _MAX_WAIT_SECONDS:
                return
            time.sleep(_RETRY_PAUSE_SECONDS)
            waited += _RETRY_PAUSE_SECONDS
            floor, skipped = lower, False


def _batch_limit(batch_size: int | None) -> int:
    limit = batch_size or settings.LIFECYCLE_BATCH_SIZE
    if limit < 1:
        raise ValueError("batch_size must be at least 1")
    return limit


def _scalar(sql: str, params: dict[str, object]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]
