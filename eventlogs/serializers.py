"""JSON shapes of the event-log API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from eventlogs.models import EventLog
from eventlogs.selectors import STATUSES


class EventLogOutputSerializer(serializers.ModelSerializer):
    """One event. ``trigger_id`` is the snapshot of the trigger's id, so it stays readable
    after the trigger is deleted. ``status`` is computed from the event's age at read time
    (the ``read_status`` annotation of the selector), never the stored column, which the
    archive job may not have updated yet."""

    trigger_id = serializers.UUIDField(source="trigger_uuid", read_only=True)
    payload = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = EventLog
        fields = [
            "id",
            "trigger_id",
            "trigger_name",
            "trigger_type",
            "source",
            "payload",
            "is_test",
            "status",
            "fired_at",
            "scheduled_for",
            "archived_at",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_payload(self, event: EventLog) -> Any:
        return event.payload

    @extend_schema_field(serializers.ChoiceField(choices=EventLog.Status.choices))
    def get_status(self, event: EventLog) -> str:
        read_status = getattr(event, "read_status", None)
        return read_status if read_status is not None else event.status_at()


# The columns a list page reads (``read_status`` is the selector's computed status).
LISTED_COLUMNS = (
    "id",
    "trigger_uuid",
    "trigger_name",
    "trigger_type",
    "source",
    "payload",
    "is_test",
    "read_status",
    "fired_at",
    "scheduled_for",
    "archived_at",
)
_MOMENT = serializers.DateTimeField()


def eventlog_rows_body(rows: Any) -> list[dict[str, Any]]:
    """What ``EventLogOutputSerializer(events, many=True).data`` gives, from ``.values(*LISTED_COLUMNS)`` rows.

    Written out for the list endpoint: serializing a page of 50 events through the
    ModelSerializer cost more CPU than the rest of the request together, and plain rows
    skip building 50 model instances. The serializer stays the schema; a test keeps the
    two equal.
    """
    moment = _MOMENT.to_representation
    return [
        {
            "id": str(row["id"]),
            "trigger_id": str(row["trigger_uuid"]),
            "trigger_name": row["trigger_name"],
            "trigger_type": row["trigger_type"],
            "source": row["source"],
            "payload": row["payload"],
            "is_test": row["is_test"],
            "status": row["read_status"],
            "fired_at": moment(row["fired_at"]),
            "scheduled_for": moment(row["scheduled_for"]) if row["scheduled_for"] else None,
            "archived_at": moment(row["archived_at"]) if row["archived_at"] else None,
        }
        for row in rows
    ]


class EventLogFilterSerializer(serializers.Serializer):
    """Query parameters of ``GET /event_logs``."""

    status = serializers.ChoiceField(
        choices=STATUSES, default=STATUSES[0], help_text="active (< 2 h old, the default), archived, or all."
    )
    trigger = serializers.UUIDField(required=False, help_text="Only events of this trigger id (also a deleted one).")
    source = serializers.ChoiceField(choices=EventLog.Source.choices, required=False, help_text="Only this source.")


class EventLogAggregateSerializer(serializers.Serializer):
    """One trigger's events over the retention window (48 h)."""

    trigger_id = serializers.UUIDField(help_text="The trigger's id (kept after the trigger is deleted).")
    trigger_name = serializers.CharField(help_text="The name on the trigger's newest event.")
    trigger_type = serializers.CharField()
    total = serializers.IntegerField()
    active = serializers.IntegerField()
    archived = serializers.IntegerField()
    test = serializers.IntegerField()
    last_fired_at = serializers.DateTimeField()
