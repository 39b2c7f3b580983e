"""Writes for event logs. Firing code in ``triggers`` calls :func:`eventlog_record`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import connection
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

    One plain INSERT rather than ``EventLog.objects.create``: this runs on every API
    fire, and the ORM's statement building cost several times what PostgreSQL spends on
    the row. No signal listens to event logs, so ``save()`` has nothing else to do; a
    duplicate key still raises Django's ``IntegrityError`` (the idempotency path relies
    on it).
    """
    event = EventLog(
        id=uuid.uuid4(),
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
    values = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in _FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, values)
    event._state.adding = False
    event._state.db = connection.alias
    return event


_FIELDS = [field for field in EventLog._meta.concrete_fields]
_INSERT = (
    f"INSERT INTO {EventLog._meta.db_table} ({', '.join(field.column for field in _FIELDS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_FIELDS))})"
)
