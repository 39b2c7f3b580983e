"""The event-log lifecycle: archive at ``EVENT_LOG_ARCHIVE_AFTER``, delete at ``EVENT_LOG_DELETE_AFTER``.

Both run in bounded batches, each its own short transaction of one set-based
statement (zulip's retention pattern): no row is ever loaded into Python, a batch
never holds locks for long, and a stop between batches leaves nothing half done.

Each batch claims its rows with ``FOR UPDATE SKIP LOCKED``, so any number of runs (the
management commands, every scheduler's jobs, an archive beside a delete) can overlap
without waiting inside a transaction: a row is changed by exactly one of them, the
others skip it, and the counts they return add up to exactly the rows changed.
PostgreSQL re-checks the condition on the row it locks, so a row archived by a run that
just committed is not archived again. A run ends only when no eligible row is left: rows
it skipped because someone else held them are looked at again once released.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.timezone import now

from eventlogs.models import EventLog, archive_after, delete_after

# Called after each batch with (batch number, rows in this batch, rows so far).
Progress = Callable[[int, int, int], None]

_TABLE = EventLog._meta.db_table
_ACTIVE = EventLog.Status.ACTIVE.value
_ARCHIVED = EventLog.Status.ARCHIVED.value

# Which rows each job changes. Both are range scans on an index (eventlog_active_fired,
# eventlog_fired).
_ARCHIVABLE = "status = %(active)s AND fired_at <= %(cutoff)s"
_DELETABLE = "fired_at <= %(cutoff)s"

# One batch: claim the oldest eligible rows not locked by anyone else, change them, and
# report how many and the newest ``fired_at`` among them. ``fired_at >= floor`` (that
# newest value from the previous batch) keeps each batch's index scan from walking over
# the entries the previous batches already changed. The claimed rows are reached again
# by ``ctid`` (a TID scan; stable while we hold their locks): joining on ``id`` lets the
# planner hash the whole table for every batch, which grows quadratically with its size.
_ARCHIVE_BATCH = f"""
    WITH batch AS (
        SELECT ctid FROM {_TABLE}
        WHERE {_ARCHIVABLE} AND fired_at >= %(floor)s
        ORDER BY fired_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ),
    changed AS (
        UPDATE {_TABLE} AS event SET status = %(archived)s, archived_at = %(archived_at)s
        WHERE event.ctid = ANY(ARRAY(SELECT ctid FROM batch)) AND event.status = %(active)s
        RETURNING event.fired_at
    )
    SELECT count(*), max(fired_at) FROM changed
"""  # noqa: S608 (the table name comes from the model; values are parameters)

_DELETE_BATCH = f"""
    WITH batch AS (
        SELECT ctid FROM {_TABLE}
        WHERE {_DELETABLE} AND fired_at >= %(floor)s
        ORDER BY fired_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ),
    changed AS (
        DELETE FROM {_TABLE} AS event
        WHERE event.ctid = ANY(ARRAY(SELECT ctid FROM batch))
        RETURNING event.fired_at
    )
    SELECT count(*), max(fired_at) FROM changed
"""  # noqa: S608

# Far enough back to include any event, as the first batch's floor.
_BEGINNING = datetime.fromisoformat("0001-01-01T00:00:00+00:00")
# Rows skipped because another transaction held them are tried again after this pause,
# for at most _MAX_WAIT_SECONDS in all (a lock held longer is left to the next run).
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
    """Archive active events fired at or before ``older_than``; return how many were archived.

    With ``dry_run`` nothing changes and the return value is how many would be.
    ``should_stop`` is asked between batches (the scheduler's shutdown).
    """
    archived_at = now()
    return _run_batches(
        _ARCHIVE_BATCH,
        _ARCHIVABLE,
        {"active": _ACTIVE, "archived": _ARCHIVED, "cutoff": older_than, "archived_at": archived_at},
        batch_size=batch_size,
        dry_run=dry_run,
        progress=progress,
        should_stop=should_stop,
    )


def eventlogs_delete(
    *,
    older_than: datetime,
    batch_size: int | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Delete events fired at or before ``older_than``, whatever their status; return how many."""
    return _run_batches(
        _DELETE_BATCH,
        _DELETABLE,
        {"cutoff": older_than},
        batch_size=batch_size,
        dry_run=dry_run,
        progress=progress,
        should_stop=should_stop,
    )


def _run_batches(
    statement: str,
    condition: str,
    params: dict[str, object],
    *,
    batch_size: int | None,
    dry_run: bool,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> int:
    limit = batch_size or settings.LIFECYCLE_BATCH_SIZE
    if limit < 1:
        raise ValueError("batch_size must be at least 1")
    if dry_run:
        return _scalar(f"SELECT count(*) FROM {_TABLE} WHERE {condition}", params)  # noqa: S608

    total = 0
    batches = 0
    floor = _BEGINNING
    waited = 0.0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, {**params, "limit": limit, "floor": floor})
            changed, newest = cursor.fetchone()
        if changed:
            batches += 1
            total += changed
            floor = newest
            if progress is not None:
                progress(batches, changed, total)
        if should_stop is not None and should_stop():
            break
        if changed == limit:
            continue
        # A short batch: done, unless it skipped rows another transaction holds (another
        # run of either job, or a trigger being deleted). Those may still need this run
        # (a delete must not leave a row the archive job had locked), so look again from
        # the oldest once they are released.
        if waited >= _MAX_WAIT_SECONDS or not _scalar(
            f"SELECT EXISTS (SELECT 1 FROM {_TABLE} WHERE {condition})",  # noqa: S608
            params,
        ):
            break
        time.sleep(_RETRY_PAUSE_SECONDS)
        waited += _RETRY_PAUSE_SECONDS
        floor = _BEGINNING
    return total


def _scalar(sql: str, params: dict[str, object]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]
