"""Heartbeat writes: the long-running processes call these, through ``monitoring.heartbeats``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.utils.timezone import now

from monitoring.models import Heartbeat

# A row whose process has not beaten for this long is deleted: its process was killed or
# its host is gone, and the admin would show it as alive-but-late forever.
HEARTBEAT_RETENTION = timedelta(hours=1)


def heartbeat_beat(
    *, heartbeat_id: uuid.UUID, kind: str, host: str, pid: int, version: str, started_at: datetime
) -> None:
    """Move this process's ``beat_at`` to now, inserting the row if it is missing (at start,
    or after a prune while the process was paused): one upsert."""
    Heartbeat.objects.bulk_create(
        [
            Heartbeat(
                id=heartbeat_id,
                kind=kind,
                host=host,
                pid=pid,
                version=version,
                started_at=started_at,
                beat_at=now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["beat_at"],
    )


def heartbeat_end(*, heartbeat_id: uuid.UUID) -> None:
    """A clean stop: the process is gone, not late."""
    Heartbeat.objects.filter(id=heartbeat_id).delete()


def heartbeats_prune(*, older_than: datetime | None = None) -> int:
    """Delete the rows of processes silent since ``older_than`` (by default
    :data:`HEARTBEAT_RETENTION` ago); return how many."""
    cutoff = older_than if older_than is not None else now() - HEARTBEAT_RETENTION
    deleted, _ = Heartbeat.objects.filter(beat_at__lt=cutoff).delete()
    return deleted
