"""Every write to the event-log table outside the lifecycle jobs (``eventlogs.lifecycle``
archives and deletes by age): the firings ``triggers`` records, the release of an
Idempotency-Key past retention, and an operator's early deletion. The foreign keys'
``on_delete`` rules do the rest: deleting a trigger sets its events' ``trigger_id`` to
NULL, and deleting an account deletes its events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Min, QuerySet
from django.utils.timezone import now

from eventlogs.models import EventLog
from eventlogs.rollup import rollup_move_mark_back


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


# The snapshot (owner, name, type, payload) is copied from the trigger's row inside the
# database, so a payload never travels through Python. The trigger table is the one
# ``EventLog.trigger`` points at; this app reads its columns here and imports no trigger code.
_TRIGGERS = EventLog._meta.get_field("trigger").related_model._meta.db_table
_INSERT_SCHEDULED = f"""
    INSERT INTO {EventLog._meta.db_table}
        (id, owner_id, trigger_id, trigger_uuid, trigger_name, trigger_type, source, payload,
         is_test, fired_at, scheduled_for)
    SELECT claimed.event_id, t.owner_id, t.id, t.id, t.name, t.type, %(source)s, t.api_payload,
           false, %(fired_at)s, claimed.slot
    FROM unnest(%(trigger_ids)s::uuid[], %(event_ids)s::uuid[], %(slots)s::timestamptz[])
         AS claimed(trigger_id, event_id, slot)
    JOIN {_TRIGGERS} AS t ON t.id = claimed.trigger_id
    ON CONFLICT DO NOTHING
    RETURNING trigger_id, id
"""  # noqa: S608 (table names come from the models, values are parameters)


def eventlogs_record_scheduled(
    *, slots: Sequence[tuple[uuid.UUID, datetime]], fired_at: datetime
) -> dict[uuid.UUID, uuid.UUID]:
    """Insert one scheduled event per ``(trigger_id, slot)``, in one statement; return each
    recorded trigger's event id.

    A slot already recorded is skipped (``ON CONFLICT DO NOTHING`` on the one-event-per-slot
    constraint) rather than aborting the caller's transaction, so it is absent from the result.
    """
    if not slots:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SCHEDULED,
            {
                "source": EventLog.Source.SCHEDULED.value,
                "fired_at": fired_at,
                "trigger_ids": [trigger_id for trigger_id, _ in slots],
                "event_ids": [uuid.uuid4() for _ in slots],
                "slots": [slot for _, slot in slots],
            },
        )
        return dict(cursor.fetchall())


def eventlog_release_idempotency_key(*, event: EventLog) -> None:
    """Delete ``event``, past retention but not yet removed by the delete job, so its
    Idempotency-Key can name a new event."""
    EventLog.objects.filter(pk=event.pk).delete()


def eventlogs_delete_counted(*, events: QuerySet[EventLog]) -> int:
    """Delete ``events`` before retention would (an operator's choice), moving the rollup's
    mark back to the oldest one's hour first, in the same transaction, so the hours they
    were counted in are counted again."""
    with transaction.atomic():
        oldest = events.aggregate(oldest=Min("fired_at"))["oldest"]
        if oldest is None:
            return 0
        rollup_move_mark_back(since=oldest)
        deleted, _ = events.delete()
    return deleted
