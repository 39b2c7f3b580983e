"""Reads of event logs, always scoped to one owner.

The lifecycle is applied at read time from ``fired_at``, so the answer is right even when
the archive and delete jobs are late: an event 2 h old is archived and one 48 h old is
never returned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone as django_timezone
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


def eventlog_by_idempotency_key(*, trigger_id: uuid.UUID, key: str) -> EventLog | None:
    """The event ``key`` names on the trigger, retained or not (the key is unique per trigger)."""
    return EventLog.objects.filter(trigger_id=trigger_id, idempotency_key=key).first()


def eventlog_last_fired(*, trigger_id: Any, at: datetime | None = None) -> Subquery:
    """When the trigger ``trigger_id`` (a value or an ``OuterRef``) last fired, as an expression:
    its newest retained event of any source, tests included, as ``eventlogs_aggregated``
    counts them. One probe of the ``eventlog_trigger_fired`` index per trigger."""
    at = at or now()
    newest = EventLog.objects.filter(trigger_uuid=trigger_id, fired_at__gt=at - delete_after())
    return Subquery(newest.order_by("-fired_at").values("fired_at")[:1])


def eventlogs_trigger_names(*, owner_id: int, at: datetime | None = None) -> list[dict[str, Any]]:
    """Every trigger with a retained event, sorted by its current name (a deleted trigger by the
    name on its latest event; the name is read through the event's own foreign key):
    ``trigger_uuid``, ``trigger_id`` and ``name``."""
    at = at or now()
    rows = (
        EventLog.objects.filter(owner_id=owner_id, fired_at__gt=at - delete_after())
        .order_by("trigger_uuid", "-fired_at")
        .distinct("trigger_uuid")
        .values("trigger_uuid", "trigger_id", name=Coalesce("trigger__name", "trigger_name"))
    )
    return sorted(rows, key=lambda row: (row["name"].lower(), str(row["trigger_uuid"])))


def eventlogs_aggregated(*, owner_id: int, at: datetime | None = None) -> list[dict[str, Any]]:
    """Per trigger (deleted ones by their snapshot), the owner's events still retained:
    ``total``, ``active``, ``archived`` and ``test`` counts and ``last_fired_at``; the
    trigger whose last firing is newest comes first.

    Closed hours before ``rolled_up_through`` come from :class:`~eventlogs.models.EventLogHour`,
    the rest from the events, in one statement that also returns the mark it saw: if the mark
    moved since it was read, the statement runs again (``docs/design/rollup.md``).
    """
    at = at or now()
    window_start = at - delete_after()
    archive_cutoff = at - archive_after()
    cutoff_hour = floor_hour(archive_cutoff)
    # fired_at <= cutoff is fired_at < cutoff + 1 µs (PostgreSQL keeps microseconds too).
    just_after_cutoff = archive_cutoff + timedelta(microseconds=1)
    cutoff_hour_is_archived = just_after_cutoff - cutoff_hour > HOUR / 2
    params = {
        "owner": owner_id,
        "beginning": BEGINNING,
        "window_start": window_start,
        # The first hour wholly inside the window (an hour starting exactly at the
        # window's start is not: its first instant is past retention).
        "first_full_hour": floor_hour(window_start) + HOUR,
        "cutoff": archive_cutoff,
        "cutoff_hour": cutoff_hour,
        "cutoff_hour_is_archived": cutoff_hour_is_archived,
        # The shorter side of the cutoff within its hour, and where its events go.
        "moved_from": just_after_cutoff if cutoff_hour_is_archived else cutoff_hour,
        "moved_until": cutoff_hour + HOUR if cutoff_hour_is_archived else just_after_cutoff,
        "moved_to_active": 1 if cutoff_hour_is_archived else -1,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # The final grouping's estimates are wrong, and JIT would cost more than the rows read.
        cursor.execute("SET LOCAL jit = off")
        # Every part is one owner's range of an index. Statistics gathered before the latest
        # hours of inserts make the live part look several times its size, and the planner
        # then scans the whole table (docs/design/rollup.md, "The read").
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(_ROLLUP_MARK, {"beginning": BEGINNING})
        through = cursor.fetchone()[0]
        for _ in range(_MARK_ATTEMPTS):
            cursor.execute(_AGGREGATED, {**params, "through": through})
            rows = cursor.fetchall()
            seen = rows[0][0]
            if seen == through:
                break
            through = seen
        else:
            # The mark kept moving: count every event of the window live, which needs no mark.
            cursor.execute(_AGGREGATED, {**params, "through": BEGINNING})
            rows = cursor.fetchall()
        columns = [column.name for column in cursor.description][1:]
        return [dict(zip(columns, row[1:], strict=True)) for row in rows if row[1] is not None]


# Only whole hours before the mark are read from the rollup; a missing row is the beginning.
_MARK_FLOORED = f"""
    date_trunc('hour', COALESCE(
        (SELECT rolled_up_through FROM {LifecycleMarks._meta.db_table} WHERE id = 1), %(beginning)s
    ), 'UTC')
"""  # noqa: S608 (the table name comes from the model)
_ROLLUP_MARK = f"SELECT {_MARK_FLOORED}"
# The floored mark changes once an hour, so a second attempt is rare and a third rarer.
_MARK_ATTEMPTS = 3


# ``live``: the partial hour at the window's start and everything from the mark on, counted
# from the events; the rollup's hours are exactly the rest. ``moved``: the events on the
# shorter side of the archive cutoff in its hour, when that hour comes from the rollup.
_LIVE_COLUMNS = "trigger_uuid, trigger_name, trigger_type, fired_at, is_test"
_AGGREGATED = f"""
    WITH live AS (
        SELECT {_LIVE_COLUMNS} FROM {EventLog._meta.db_table}
        WHERE owner_id = %(owner)s AND fired_at > %(window_start)s AND fired_at < %(first_full_hour)s
        UNION ALL
        SELECT {_LIVE_COLUMNS} FROM {EventLog._meta.db_table}
        WHERE owner_id = %(owner)s AND fired_at >= GREATEST(%(through)s, %(first_full_hour)s)
    ),
    moved AS (
        SELECT trigger_uuid, count(*) AS events FROM {EventLog._meta.db_table}
        WHERE owner_id = %(owner)s AND fired_at >= %(moved_from)s AND fired_at < %(moved_until)s
          AND %(cutoff_hour)s >= %(first_full_hour)s AND %(cutoff_hour)s < %(through)s
        GROUP BY trigger_uuid
    ),
    parts AS (
        SELECT trigger_uuid, trigger_name, trigger_type, count(*) AS total,
               count(*) FILTER (WHERE fired_at > %(cutoff)s) AS active,
               count(*) FILTER (WHERE fired_at <= %(cutoff)s) AS archived,
               count(*) FILTER (WHERE is_test) AS test, max(fired_at) AS last_fired_at
        FROM live
        GROUP BY trigger_uuid, trigger_name, trigger_type
        UNION ALL
        SELECT trigger_uuid, trigger_name, trigger_type, total, active, total - active, test, last_fired_at
        FROM (
            SELECT *,
                   CASE WHEN hour > %(cutoff)s OR (hour = %(cutoff_hour)s AND NOT %(cutoff_hour_is_archived)s)
                   THEN total ELSE 0 END AS active
            FROM {EventLogHour._meta.db_table}
            WHERE owner_id = %(owner)s AND hour >= %(first_full_hour)s AND hour < %(through)s
        ) AS counted
        UNION ALL
        SELECT trigger_uuid, NULL, NULL, 0, %(moved_to_active)s * events, -%(moved_to_active)s * events, 0, NULL
        FROM moved
    ),
    merged AS (
        SELECT trigger_uuid AS trigger_id,
               (array_agg(trigger_name ORDER BY last_fired_at DESC NULLS LAST, trigger_name DESC))[1] AS trigger_name,
               (array_agg(trigger_type ORDER BY last_fired_at DESC NULLS LAST, trigger_name DESC))[1] AS trigger_type,
               sum(total)::bigint AS total, sum(active)::bigint AS active, sum(archived)::bigint AS archived,
               sum(test)::bigint AS test, max(last_fired_at) AS last_fired_at
        FROM parts
        GROUP BY trigger_uuid
    )
    -- The mark as this statement's snapshot sees it, on every row and on a row of its own
    -- when there is nothing to count, for the caller to compare with the one it planned for.
    SELECT snapshot.mark_seen, merged.*
    FROM (SELECT {_MARK_FLOORED} AS mark_seen) AS snapshot LEFT JOIN merged ON true
    ORDER BY merged.last_fired_at DESC
"""  # noqa: S608 (table names come from the models; values are parameters)


@dataclass(frozen=True)
class EventCounts:
    active: int
    archived: int
    test: int

    @property
    def total(self) -> int:
        return self.active + self.archived


@dataclass(frozen=True)
class HourBucket:
    start: datetime  # aware, in the reader's zone
    count: int
    by_source: dict[str, int] = field(default_factory=dict)  # EventLog.Source value -> firings

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=1)


def eventlogs_counts(*, owner_id: int, at: datetime | None = None) -> EventCounts:
    """The owner's retained events by computed status, in one query."""
    at = at or now()
    archive_cutoff = at - archive_after()
    counts = EventLog.objects.filter(owner_id=owner_id, fired_at__gt=at - delete_after()).aggregate(
        active=Count("id", filter=Q(fired_at__gt=archive_cutoff)),
        archived=Count("id", filter=Q(fired_at__lte=archive_cutoff)),
        test=Count("id", filter=Q(is_test=True)),
    )
    return EventCounts(**counts)


def eventlogs_per_hour(*, owner_id: int, zone: tzinfo, hours: int = 48, at: datetime | None = None) -> list[HourBucket]:
    """Firings in each of the last ``hours`` hours of ``zone``'s clock, oldest first, current hour
    last, in all and by source.

    One grouped query: Postgres truncates ``fired_at`` to the hour in ``zone`` (so a zone
    such as Asia/Kolkata, UTC+05:30, gets buckets on its own full hours). Hours with no
    firing are filled with zero here.
    """
    at = at or now()
    current_hour = django_timezone.localtime(at, zone).replace(minute=0, second=0, microsecond=0)
    # Stepping in UTC keeps every bucket exactly one hour long across a daylight-saving change.
    starts = [(current_hour.astimezone(UTC) - timedelta(hours=back)) for back in range(hours - 1, -1, -1)]
    rows = (
        EventLog.objects.filter(
            owner_id=owner_id, fired_at__gte=starts[0], fired_at__gt=at - delete_after(), fired_at__lte=at
        )
        .annotate(hour=Trunc("fired_at", "hour", tzinfo=zone))
        .values("hour", "source")
        .annotate(count=Count("id"))
        .order_by()
    )
    by_hour: dict[datetime, dict[str, int]] = {}
    for row in rows:
        by_hour.setdefault(row["hour"].astimezone(UTC), {})[row["source"]] = row["count"]
    return [
        HourBucket(
            start=start.astimezone(zone),
            count=sum(by_hour.get(start, {}).values()),
            by_source=by_hour.get(start, {}),
        )
        for start in starts
    ]


def eventlogs_with_current_names(queryset: QuerySet[EventLog]) -> QuerySet[EventLog]:
    """``current_trigger_name``: the trigger's name now (through the row's own foreign key), or
    the snapshot once the trigger is deleted, so a renamed trigger shows under one name."""
    return queryset.annotate(current_trigger_name=Coalesce("trigger__name", "trigger_name"))
