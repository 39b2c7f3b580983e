"""The event-log lifecycle: archive at ``EVENT_LOG_ARCHIVE_AFTER``, delete at ``EVENT_LOG_DELETE_AFTER``.

Both run in bounded batches, each its own short transaction of one set-based
statement (zulip's retention pattern): no row is ever loaded into Python, a batch
never holds locks for long, and a stop between batches leaves nothing half done.

Each batch claims its rows with ``FOR UPDATE SKIP LOCKED``, so any number of runs (the
management commands, every scheduler's jobs, an archive beside a delete, the worker
threads of one run) can overlap without waiting inside a transaction: a row is changed by
exactly one of them, the others skip it, and the counts they return add up to exactly the
rows changed. PostgreSQL re-checks the condition on the row it locks, so a row archived by
a run that just committed is not archived again. A run ends once it has read its range
to the end without skipping a row: rows it skipped because someone else held them are
looked at again once released.

The archive pass starts from ``LifecycleMarks.archived_through`` (no event fired before it
is still stored active) instead of the oldest event, and finds its rows along the plain
``fired_at`` index: no index mentions ``status``, so archiving a row is a HOT update
(``EventLog.Meta.indexes``, migration 0004). A pass that archived everything in its range
moves the mark forward, unless a backfill (an INSERT of old events, which moves the mark
back in the database's trigger and counts itself in ``backfills``) happened meanwhile.
With ``workers`` above one, that many threads, each with its own connection, share the
range in consecutive ``fired_at`` slices, so PostgreSQL works on as many cores.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils.timezone import now

from eventlogs.models import BACKFILL_GRACE, BEGINNING, EventLog, LifecycleMarks, archive_after, delete_after

# Called after each batch with (batch number, rows in this batch, rows so far). With several
# workers the calls come from their threads, one at a time, numbered in the order they finish.
Progress = Callable[[int, int, int], None]

_TABLE = EventLog._meta.db_table
_MARKS_TABLE = LifecycleMarks._meta.db_table
_ACTIVE = EventLog.Status.ACTIVE.value
_ARCHIVED = EventLog.Status.ARCHIVED.value
# PostgreSQL keeps timestamps to the microsecond, so "fired_at <= cutoff" is
# "fired_at < cutoff + 1 µs": every range below is half-open, [lower, upper).
_MICROSECOND = timedelta(microseconds=1)

# Which rows each job changes, within one range. Both are range scans on eventlog_fired;
# the archive job reads ``status`` from the row.
_ARCHIVABLE = "fired_at >= %(lower)s AND fired_at < %(upper)s AND status = %(active)s"
_DELETABLE = "fired_at >= %(lower)s AND fired_at < %(upper)s"

# One batch, in one statement:
# - ``candidates``: the oldest eligible rows of the range from ``floor`` on, as this
#   statement's snapshot sees them (an index range scan on eventlog_fired).
# - ``claimed``: those of them nobody else holds, locked (``SKIP LOCKED``). PostgreSQL
#   re-checks the condition on the newest version of each row it locks, so a row another
#   run changed and committed meanwhile is not claimed again.
# - ``changed``: the claimed rows, changed; reached again by ``ctid`` (a TID scan, stable
#   while we hold their locks): joining on ``id`` lets the planner hash the whole table for
#   every batch, which grows quadratically with its size.
# It reports how many rows it changed, how many it saw, and the newest ``fired_at`` it saw:
# the next batch's ``floor``, so that no batch walks again over the entries the previous
# ones passed. Fewer changed than seen means someone held (or just changed) a row: the run
# looks at its range again once they are released. Seen and not changed never means lost:
# only a look again, which reads the range's index entries, as a check for held rows after
# every range would.
_ARCHIVE_BATCH = f"""
    WITH candidates AS MATERIALIZED (
        SELECT ctid, fired_at FROM {_TABLE}
        WHERE fired_at >= %(floor)s AND fired_at < %(upper)s AND status = %(active)s
        ORDER BY fired_at
        LIMIT %(limit)s
    ),
    claimed AS (
        SELECT ctid FROM {_TABLE}
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM candidates)) AND status = %(active)s
        FOR UPDATE SKIP LOCKED
    ),
    changed AS (
        UPDATE {_TABLE} AS event SET status = %(archived)s, archived_at = %(archived_at)s
        WHERE event.ctid = ANY(ARRAY(SELECT ctid FROM claimed)) AND event.status = %(active)s
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

# The mark, its backfill counter as this pass saw them, and the database's clock (the
# trigger judges backfills by it; tests move only Python's). A missing row
# (``manage.py flush``) reads as the beginning.
_READ_MARK = f"""
    SELECT marks.archived_through, marks.backfills, statement_timestamp()
    FROM (VALUES (1)) AS here (id) LEFT JOIN {_MARKS_TABLE} AS marks ON marks.id = here.id
"""  # noqa: S608

# Compare-and-set: only if no backfill was counted since the pass began, and never
# backwards. Recreates the row as migration 0003's trigger does if a flush removed it.
_ADVANCE_MARK = f"""
    INSERT INTO {_MARKS_TABLE} AS marks (id, archived_through, rolled_up_through, backfills)
    VALUES (1, %(through)s, %(beginning)s, %(seen)s)
    ON CONFLICT (id) DO UPDATE SET archived_through = GREATEST(marks.archived_through, EXCLUDED.archived_through)
    WHERE marks.backfills = %(seen)s
"""  # noqa: S608

# Rows skipped because another transaction held them are tried again after this pause,
# for at most _MAX_WAIT_SECONDS in all (a lock held longer is left to the next run).
_RETRY_PAUSE_SECONDS = 0.05
_MAX_WAIT_SECONDS = 10.0
# With several workers the range is cut into this many slices per worker, so one that
# finishes early takes another slice instead of waiting for the slowest.
_SLICES_PER_WORKER = 8
# Batches are bounded by time as well as by rows. A batch that took longer than this
# halves the next one (down to _MIN_BATCH rows); one that took under a quarter of it
# doubles the next, back up to the batch size asked for. 10,000 rows take 30-70 ms on a
# quiet 2-core host, but on a host three times slower, after a checkpoint (when the first
# change to each page writes a full-page image), a delete batch took 1.1 s (docs/benchmarks.md).
_BATCH_SECONDS = 0.25
_MIN_BATCH = 100
# How batches are timed; a test replaces it to play a slow host.
_clock = time.monotonic


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
    workers: int = 1,
) -> int:
    """Archive active events fired at or before ``older_than``; return how many were archived.

    Starts at the archive mark and, once every row up to ``older_than`` is archived, moves
    the mark to ``older_than`` but no later than the database's clock minus twice
    ``BACKFILL_GRACE`` (an event is written at most that late without counting as a
    backfill). With ``dry_run`` nothing changes and the return value is how many would be.
    ``should_stop`` is asked between batches (the scheduler's shutdown). ``workers`` threads
    share the work, each on its own database connection; inside a transaction (whose rows
    other connections cannot see) the run stays on this connection.
    """
    limit = _batch_limit(batch_size)
    if workers < 1:
        raise ValueError("workers must be at least 1")
    mark = _read_mark()
    upper = older_than + _MICROSECOND
    params = {"active": _ACTIVE, "archived": _ARCHIVED, "archived_at": now()}
    if dry_run:
        return _scalar(
            f"SELECT count(*) FROM {_TABLE} WHERE {_ARCHIVABLE}",  # noqa: S608
            {**params, "lower": mark.archived_through, "upper": upper},
        )
    if connection.in_atomic_block:
        workers = 1
    lower = mark.archived_through
    if workers > 1:
        # Slices from the oldest active row, not from the mark (the beginning of time after
        # a flush), so that each holds a share of the rows.
        lower = _scalar(
            f"SELECT min(fired_at) FROM {_TABLE} WHERE {_ARCHIVABLE}",  # noqa: S608
            {**params, "lower": lower, "upper": upper},
        ) or max(lower, older_than)
    run = _Run(progress=progress, should_stop=should_stop, batch_size=limit)
    _run_slices(
        _ARCHIVE_BATCH,
        params,
        _slices(lower, upper, 1 if workers == 1 else workers * _SLICES_PER_WORKER),
        workers=workers,
        run=run,
    )
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
    """Delete events fired at or before ``older_than``, whatever their status; return how many."""
    limit = _batch_limit(batch_size)
    upper = older_than + _MICROSECOND
    if dry_run:
        return _scalar(
            f"SELECT count(*) FROM {_TABLE} WHERE {_DELETABLE}",  # noqa: S608
            {"lower": BEGINNING, "upper": upper},
        )
    run = _Run(progress=progress, should_stop=should_stop, batch_size=limit)
    _run_slices(_DELETE_BATCH, {}, [(BEGINNING, upper)], workers=1, run=run)
    return run.total


class _Mark(NamedTuple):
    archived_through: datetime
    backfills: int
    database_now: datetime


def _read_mark() -> _Mark:
    with connection.cursor() as cursor:
        cursor.execute(_READ_MARK)
        archived_through, backfills, database_now = cursor.fetchone()
    if archived_through is None:
        return _Mark(BEGINNING, 0, database_now)
    return _Mark(archived_through, backfills, database_now)


def _advance_mark(seen: _Mark, *, through: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE_MARK, {"through": through, "beginning": BEGINNING, "seen": seen.backfills})


@dataclass
class _Run:
    """What the workers of one run share: the counts, the progress report and whether it finished."""

    progress: Progress | None
    should_stop: Callable[[], bool] | None
    batch_size: int  # the most rows a batch may take, as asked for
    total: int = 0
    batches: int = 0
    stopped: bool = False
    # Rows skipped because someone held them, still held after _MAX_WAIT_SECONDS.
    left_behind: bool = False
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Rows per batch now: ``batch_size``, lowered while batches run long (shared by the
    # workers: they compete for the same disk and cores).
    limit: int = field(init=False)

    def __post_init__(self) -> None:
        self.limit = self.batch_size

    @property
    def finished(self) -> bool:
        """Every row of the run's range was handled: nothing stopped it, nothing was left."""
        return not (self.stopped or self.left_behind or self.errors)

    def record(self, changed: int) -> None:
        with self.lock:
            self.batches += 1
            self.total += changed
            if self.progress is not None:
                self.progress(self.batches, changed, self.total)

    def timed(self, seconds: float, *, batch: int, seen: int) -> None:
        """Size the next batch from how long one of at most ``batch`` rows took (it read
        ``seen``): halve it after a slow one, never below ``_MIN_BATCH`` (or ``batch_size``,
        if that is smaller); double it after a quick full one, up to ``batch_size``."""
        with self.lock:
            if seconds > _BATCH_SECONDS:
                self.limit = max(min(_MIN_BATCH, self.batch_size), min(self.limit, batch) // 2)
            elif seconds < _BATCH_SECONDS / 4 and seen == batch >= self.limit:
                self.limit = min(self.batch_size, self.limit * 2)

    def stopping(self) -> bool:
        if not self.stopped and self.should_stop is not None and self.should_stop():
            self.stopped = True
        return self.stopped


def _slices(lower: datetime, upper: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """``[lower, upper)`` cut into ``count`` consecutive ranges of equal length (fewer if tiny)."""
    if lower >= upper:
        return []
    step = (upper - lower) / count
    bounds = sorted({lower + step * number for number in range(count)} | {upper})
    return list(itertools.pairwise(bounds))


def _run_slices(
    statement: str,
    params: dict[str, object],
    slices: list[tuple[datetime, datetime]],
    *,
    workers: int,
    run: _Run,
) -> None:
    if workers == 1:
        for lower, upper in slices:
            if run.stopped:
                break
            _run_slice(statement, params, lower, upper, run=run)
        return

    pending: queue.SimpleQueue[tuple[datetime, datetime]] = queue.SimpleQueue()
    for piece in slices:
        pending.put(piece)

    def work() -> None:
        try:
            while not run.stopped:
                try:
                    lower, upper = pending.get_nowait()
                except queue.Empty:
                    return
                _run_slice(statement, params, lower, upper, run=run)
        except BaseException as error:
            with run.lock:
                run.errors.append(error)
                run.stopped = True
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=work, name=f"lifecycle-worker-{number}") for number in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if run.errors:
        raise run.errors[0]


def _run_slice(
    statement: str,
    params: dict[str, object],
    lower: datetime,
    upper: datetime,
    *,
    run: _Run,
) -> None:
    """Change every eligible row of ``[lower, upper)`` in batches of at most the run's
    ``batch_size`` rows, fewer while batches take longer than ``_BATCH_SECONDS``."""
    floor = lower
    skipped = False
    waited = 0.0
    while True:
        batch = run.limit
        started = _clock()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, {**params, "floor": floor, "upper": upper, "limit": batch})
            changed, seen, newest = cursor.fetchone()
        run.timed(_clock() - started, batch=batch, seen=seen)
        if changed:
            run.record(changed)
        skipped = skipped or changed < seen
        if run.stopping():
            return
        if seen == batch and (newest > floor or changed == seen):
            floor = newest
            continue
        if not skipped:
            return
        # The range is read to its end, but some rows were held by another transaction
        # (another run of either job, a trigger being deleted). They may still need this run
        # (a delete must not leave a row the archive job had locked): once released, go over
        # the range again. That pass reads past the rows changed so far and ends at once
        # (seen == 0) when nothing is left.
        if waited >= _MAX_WAIT_SECONDS:
            run.left_behind = True
            return
        time.sleep(_RETRY_PAUSE_SECONDS)
        waited += _RETRY_PAUSE_SECONDS
        floor = lower
        skipped = False


def _batch_limit(batch_size: int | None) -> int:
    limit = batch_size or settings.LIFECYCLE_BATCH_SIZE
    if limit < 1:
        raise ValueError("batch_size must be at least 1")
    return limit


def _scalar(sql: str, params: dict[str, object]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]
