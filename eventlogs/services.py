"""Writes of event logs. Firing code in ``triggers`` calls :func:`eventlog_record`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils.timezone import now

from eventlogs.models import EventLog


def eventlog_record(
    *,
    owner_id: int,
    trigger_id: uuid.UUID,
    trigger_name: str,
    trigger_type: str,
    source: str,
    payload: Any,
    fired_at: datetime | None = None,
    scheduled_for: datetime | None = None,
    idempotency_key: str | None = None,
    idempotency_body_sha256: str | None = None,
) -> EventLog:
    """Insert one event log with a snapshot of its trigger (kept if the trigger is deleted).

    A duplicate idempotency key raises ``IntegrityError``, which the fire path relies on.
    """
    return EventLog.objects.create(
        owner_id=owner_id,
        trigger_id=trigger_id,
        trigger_uuid=trigger_id,
        trigger_name=trigger_name,
        trigger_type=trigger_type,
        source=source,
        payload=payload,
        is_test=source == EventLog.Source.TEST,
        fired_at=fired_at or now(),
        scheduled_for=scheduled_for,
        idempotency_key=idempotency_key,
        idempotency_body_sha256=idempotency_body_sha256,
    )
