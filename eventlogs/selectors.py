"""Reads of event logs, always scoped to one owner.

The lifecycle is applied at read time from ``fired_at``, so the answer is right even
when the archive and delete jobs are late: an event 2 h old is archived and one 48 h
old is never returned, whatever its stored ``status``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Case, CharField, QuerySet, Value, When
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
