"""Reads of event logs, always scoped to one owner.

The lifecycle is applied at read time from ``fired_at``, so the answer is right even
when the archive and delete jobs are late: an event 2 h old is archived and one 48 h
old is never returned, whatever its stored ``status``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Case, CharField, Count, Max, Q, QuerySet, Value, When
from django.utils.timezone import now

from eventlogs.models import EventLog, archive_after, delete_after

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

    One grouped query over the owner's ``fired_at`` range (the (owner, fired_at) index)
    with ``COUNT(*) FILTER (...)``. The snapshot name and type are part of the grouping
    key, not aggregated, so a renamed trigger costs one more small group rather than an
    array or a sort per trigger; the groups are then merged here, and the name shown is
    the one on the trigger's newest event.
    """
    at = at or now()
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
    # Oldest group first, so the newest group's name and type win.
    for group in sorted(groups, key=lambda row: row["last_fired_at"]):
        trigger_id = group["trigger_uuid"]
        row = merged.setdefault(
            trigger_id, {"trigger_id": trigger_id, "total": 0, "active": 0, "archived": 0, "test": 0}
        )
        for counter in ("total", "active", "archived", "test"):
            row[counter] += group[counter]
        row.update(
            trigger_name=group["trigger_name"],
            trigger_type=group["trigger_type"],
            last_fired_at=group["last_fired_at"],
        )
    return sorted(merged.values(), key=lambda row: row["last_fired_at"], reverse=True)
