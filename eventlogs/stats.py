"""Dashboard reads over one owner's retained event logs: counts and firings per hour.

Like :mod:`eventlogs.selectors`, the lifecycle is applied from ``fired_at`` at read
time, so the figures are right even when the archive and delete jobs are late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from django.db.models import Count, Q
from django.db.models.functions import Trunc
from django.utils import timezone as django_timezone
from django.utils.timezone import now

from eventlogs.models import EventLog, archive_after, delete_after


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
    """Firings in each of the last ``hours`` hours of ``zone``'s clock, oldest first, current hour last.

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
        .values("hour")
        .annotate(count=Count("id"))
        .order_by()
    )
    by_hour = {row["hour"].astimezone(UTC): row["count"] for row in rows}
    return [HourBucket(start=start.astimezone(zone), count=by_hour.get(start, 0)) for start in starts]
