"""Reads for the deep health check and the metrics scrape: each one indexed query.

``monitoring`` reads the other apps' tables (never writes them): it is the one app that
looks at the whole system, and the domain apps import nothing of it but the heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Min
from django.utils.timezone import now

from deliveries.models import Delivery
from eventlogs.models import LifecycleMarks
from monitoring.models import Heartbeat
from triggers.models import Trigger

# Deep health: a scheduler silent this long is taken for dead, and a due slot this late
# means scheduling is not keeping up (docs/operations.md, "Health checks").
SCHEDULER_SILENCE_LIMIT = timedelta(seconds=30)
DUE_LATENESS_LIMIT = timedelta(seconds=60)


@dataclass(frozen=True)
class Backlog:
    """Rows waiting past their time: how many, and how long the oldest has waited (seconds)."""

    count: int
    oldest_seconds: float


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure to answer is the answer
        # A dead pooled connection must not linger into the next check.
        connection.close_if_unusable_or_obsolete()
        return False
    return True


def triggers_due_backlog(*, at: datetime | None = None) -> Backlog:
    """Scheduled slots due and not yet fired (``trigger_due`` index). A deactivated owner's
    triggers are left out: they wait on purpose, as the dispatcher's claim does."""
    at = at or now()
    found = Trigger.objects.filter(enabled=True, next_fire_at__lte=at, owner__is_active=True).aggregate(
        count=Count("id"), oldest=Min("next_fire_at")
    )
    return Backlog(found["count"], _seconds_since(found["oldest"], at))


def deliveries_backlog(*, at: datetime | None = None) -> Backlog:
    """Deliveries due to be sent (or whose lease ran out) and not yet claimed."""
    at = at or now()
    found = Delivery.objects.filter(state__in=Delivery.OPEN_STATES, next_attempt_at__lte=at).aggregate(
        count=Count("event_id"), oldest=Min("next_attempt_at")
    )
    return Backlog(found["count"], _seconds_since(found["oldest"], at))


def rollup_lag_seconds(*, at: datetime | None = None) -> float | None:
    """How far the hourly counts are behind now; None before the first pass."""
    mark = LifecycleMarks.objects.filter(id=1).values_list("rolled_up_through", flat=True).first()
    return None if mark is None else _seconds_since(mark, at or now())


def heartbeats_by_kind(*, at: datetime | None = None) -> dict[str, tuple[int, float | None]]:
    """For each process kind: processes that beat within :data:`SCHEDULER_SILENCE_LIMIT`, and
    seconds since the newest beat (None when no row)."""
    at = at or now()
    rows = Heartbeat.objects.values("kind").annotate(newest=Max("beat_at")).order_by()
    recent = dict(
        Heartbeat.objects.filter(beat_at__gte=at - SCHEDULER_SILENCE_LIMIT)
        .values_list("kind")
        .annotate(processes=Count("id"))
        .order_by()
    )
    found = {row["kind"]: (recent.get(row["kind"], 0), _seconds_since(row["newest"], at)) for row in rows}
    return {kind: found.get(kind, (0, None)) for kind in Heartbeat.Kind.values}


def health_report(*, at: datetime | None = None) -> tuple[list[str], dict[str, object]]:
    """The deep health check: the reasons it fails (empty when healthy) and the details."""
    at = at or now()
    if not database_answers():
        return ["the database does not answer"], {"database": "unreachable"}
    processes = heartbeats_by_kind(at=at)
    due = triggers_due_backlog(at=at)
    deliveries = deliveries_backlog(at=at)
    reasons = []
    _, silent_for = processes[Heartbeat.Kind.SCHEDULER]
    if silent_for is None or silent_for > SCHEDULER_SILENCE_LIMIT.total_seconds():
        limit = SCHEDULER_SILENCE_LIMIT.total_seconds()
        reasons.append(f"no scheduler has beaten for {limit:.0f} s")
    if due.oldest_seconds > DUE_LATENESS_LIMIT.total_seconds():
        reasons.append(f"the oldest due slot is {due.oldest_seconds:.0f} s late")
    details = {
        "database": "ok",
        "processes": {
            kind: {"running": count, "seconds_since_beat": _round(seconds)}
            for kind, (count, seconds) in processes.items()
        },
        "triggers_due": due.count,
        "oldest_due_seconds": _round(due.oldest_seconds),
        "deliveries_backlog": deliveries.count,
        "oldest_delivery_due_seconds": _round(deliveries.oldest_seconds),
    }
    return reasons, details


def _seconds_since(moment: datetime | None, at: datetime) -> float:
    return 0.0 if moment is None else max((at - moment).total_seconds(), 0.0)


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)
