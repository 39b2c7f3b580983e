"""Reads of event logs, always scoped to one owner.

The lifecycle is applied at read time from ``fired_at``, so the answer is right even
when the archive and delete jobs are late: an event 2 h old is archived and one 48 h
old is never returned, whatever its stored ``status``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, CharField, QuerySet, Value, When
from django.utils.timezone import now

from eventlogs.models import BEGINNING, EventLog, EventLogHour, LifecycleMarks, archive_after, delete_after
from eventlogs.rollup import HOUR, floor_hour

STATUS_ACTIVE, STATUS_ARCHIVED, STATUS_ALL = "active", "archived", "all"
STATUSES = (STATUS_ACTIVE, STATUS_ARCHIVED, STATUS_ALL)


def eventlogs_visible(
    *,
    owner_id: int,
    status: str = STATUS_ACTIVE,
    trigger_id: uuid.UUID | None = None,
    source: str | None = None,
    at: datetime | None = None,
) -> QuerySet[EventLog]:
    """The owner's retained events, newest first, with ``read_status`` computed from age.

    Every status is a ``fired_at`` range on the (owner, fired_at, id) index.
    """
    at = at or now()
    archive_cutoff = at - archive_after()
    queryset = EventLog.objects.filter(owner_id=owner_id, fired_at__gt=at - delete_after())
    if status == STATUS_ACTIVE:
        queryset = queryset.filter(fired_at__gt=archive_cutoff)
    elif status == STATUS_ARCHIVED:
        queryset = queryset.filter(fired_at__lte=archive_cutoff)
    elif status != STATUS_ALL:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if trigger_id is not None:
        queryset = queryset.filter(trigger_uuid=trigger_id)
    if source is not None:
        queryset = queryset.filter(source=source)
    return queryset.annotate(
        read_status=Case(
            When(fired_at__lte=archive_cutoff, then=Value(EventLog.Status.ARCHIVED)),
            default=Value(EventLog.Status.ACTIVE),
            output_field=CharField(),
        )
    ).order_by("-fired_at", "-id")


def eventlogs_aggregated(*, owner_id: int, at: datetime | None = None) -> list[dict[str, Any]]:
    """Per trigger (deleted ones by their snapshot), the owner's events still retained:
    ``total``, ``active``, ``archived`` and ``test`` counts and ``last_fired_at``; the
    trigger whose last firing is newest comes first.

    Most hours come counted from :class:`~eventlogs.models.EventLogHour` (see
    :mod:`eventlogs.rollup`): an hour is read from there when it lies wholly inside the
    window, wholly on one side of the archive cutoff (so its events are all active or all
    archived) and before ``rolled_up_through``. The rest of the window is counted from the
    events themselves: the partial hour at the retention edge, the hour the archive cutoff
    falls in, and everything from the mark on (an hour or two at the present). One
    statement reads the mark, the hours and the events, so it sees a single snapshot: a
    pass committing meanwhile can neither double count an hour nor drop one.

    The parts (one per counted hour, one per snapshot name and type for the live part) are
    merged per trigger in the same statement, the name and type from the part with the
    newest firing: returning the ~50 parts per trigger to Python and merging them there
    took longer (~120 ms for 100 triggers, mostly loading the rows) than the statement.
    """
    at = at or now()
    window_start = at - delete_after()
    archive_cutoff = at - archive_after()
    cutoff_hour = floor_hour(archive_cutoff)
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner cannot know the mark, so it expects a third of the table from the mark
        # on; at a few million events that estimate crosses jit_above_cost, and compiling
        # would cost more than the ~40,000 rows it actually reads.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            _AGGREGATED,
            {
                "owner": owner_id,
                "beginning": BEGINNING,
                "window_start": window_start,
                # The first hour wholly inside the window (an hour starting exactly at the
                # window's start is not: its first instant is past retention).
                "first_full_hour": floor_hour(window_start) + HOUR,
                "cutoff": archive_cutoff,
                "cutoff_hour": cutoff_hour,
                "cutoff_hour_end": cutoff_hour + HOUR,
            },
        )
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


# The three ranges counted live are disjoint, each a range scan on fired_at:
# the partial hour at the window's start, the hour of the archive cutoff (up to the mark),
# and everything from the mark on. The hours read from the rollup are exactly the others:
# from the first full hour up to the mark, except the cutoff's hour. The mark is floored to
# its hour (the pass writes whole hours; the floor keeps the two parts complementary anyway).
_LIVE_COLUMNS = "trigger_uuid, trigger_name, trigger_type, fired_at, is_test"
_AGGREGATED = f"""
    WITH mark AS MATERIALIZED (
        SELECT date_trunc('hour', COALESCE(
            (SELECT rolled_up_through FROM {LifecycleMarks._meta.db_table} WHERE id = 1), %(beginning)s
        ), 'UTC') AS through
    ),
    live AS (
        SELECT {_LIVE_COLUMNS} FROM {EventLog._meta.db_table}
        WHERE owner_id = %(owner)s AND fired_at > %(window_start)s AND fired_at < %(first_full_hour)s
        UNION ALL
        SELECT {_LIVE_COLUMNS} FROM {EventLog._meta.db_table}
        WHERE owner_id = %(owner)s
          AND fired_at >= GREATEST(%(cutoff_hour)s, %(first_full_hour)s)
          AND fired_at < LEAST(%(cutoff_hour_end)s, (SELECT through FROM mark))
        UNION ALL
        SELECT {_LIVE_COLUMNS} FROM {EventLog._meta.db_table}
        WHERE owner_id = %(owner)s AND fired_at >= GREATEST((SELECT through FROM mark), %(first_full_hour)s)
    ),
    parts AS (
        SELECT trigger_uuid, trigger_name, trigger_type, count(*) AS total,
               count(*) FILTER (WHERE fired_at > %(cutoff)s) AS active,
               count(*) FILTER (WHERE fired_at <= %(cutoff)s) AS archived,
               count(*) FILTER (WHERE is_test) AS test, max(fired_at) AS last_fired_at
        FROM live
        GROUP BY trigger_uuid, trigger_name, trigger_type
        UNION ALL
        SELECT trigger_uuid, trigger_name, trigger_type, total,
               CASE WHEN hour > %(cutoff)s THEN total ELSE 0 END, CASE WHEN hour > %(cutoff)s THEN 0 ELSE total END,
               test, last_fired_at
        FROM {EventLogHour._meta.db_table}
        WHERE owner_id = %(owner)s AND hour >= %(first_full_hour)s AND hour < (SELECT through FROM mark)
          AND hour <> %(cutoff_hour)s
    )
    SELECT trigger_uuid AS trigger_id,
           (array_agg(trigger_name ORDER BY last_fired_at DESC, trigger_name DESC))[1] AS trigger_name,
           (array_agg(trigger_type ORDER BY last_fired_at DESC, trigger_name DESC))[1] AS trigger_type,
           sum(total)::bigint AS total, sum(active)::bigint AS active, sum(archived)::bigint AS archived,
           sum(test)::bigint AS test, max(last_fired_at) AS last_fired_at
    FROM parts
    GROUP BY trigger_uuid
    ORDER BY max(last_fired_at) DESC
"""  # noqa: S608 (table names come from the models; values are parameters)
