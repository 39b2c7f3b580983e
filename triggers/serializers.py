"""JSON shapes of the trigger API.

The input serializer checks only JSON shapes and types; every rule about what makes
a valid trigger (schedules, time zones, expiry) lives in ``triggers.services`` so the
API, the pages and the admin share one validation path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.timezones import canonical_timezone
from core.serializers import ClosedSerializer
from deliveries.serializers import TargetInputField, TargetOutputField
from eventlogs.serializers import EventLogOutputSerializer
from triggers.models import Trigger
from triggers.schedules import CRON_MAX_LENGTH, MAX_INTERVAL_SECONDS

# Printable ASCII without surrounding spaces: what survives an HTTP header unchanged.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$"

READ_ONLY_FIELDS = (
    "id",
    "owner",
    "owner_id",
    "state",
    "state_reason",
    "disabled_reason",
    "next_fire_at",
    "last_fired_at",
    "scheduled_fire_count",
    "created_at",
    "updated_at",
)

_DATE_TIME = {"type": "string", "format": "date-time"}
SCHEDULE_DETAILS_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "title": "Once",
            "description": "Fire once at run_at (in the future). Without an offset it is read in your time zone.",
            "properties": {"run_at": _DATE_TIME},
            "required": ["run_at"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "title": "Interval",
            "description": "Fire every interval_seconds, counted from start_at (default: now).",
            "properties": {
                "interval_seconds": {
                    "type": "integer",
                    "minimum": settings.TRIGGER_MIN_INTERVAL_SECONDS,
                    "maximum": MAX_INTERVAL_SECONDS,
                },
                "start_at": {**_DATE_TIME, "nullable": True},
            },
            "required": ["interval_seconds"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "title": "Cron",
            "description": (
                "Fire on a five-field crontab expression in an IANA time zone (default: yours); "
                "the rules are in docs/scheduling.md."
            ),
            "properties": {
                "cron": {"type": "string", "maxLength": CRON_MAX_LENGTH, "example": "*/5 * * * *"},
                "timezone": {"type": "string", "example": "Asia/Kolkata"},
            },
            "required": ["cron"],
            "additionalProperties": False,
        },
    ],
    "nullable": True,
    "description": "Scheduled triggers only: exactly one of the three shapes. API triggers: null or omitted.",
}
JSON_OBJECT_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": True}


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField would turn a number into a name."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true``/``false`` only: DRF's BooleanField also takes "yes", 1, "on"..."""

    def to_internal_value(self, data: Any) -> bool:
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)


class OwnerZoneDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time, left naive when it has no offset: the service reads naive
    values in the owner's time zone (DRF would read them in the server's)."""

    def enforce_timezone(self, value: datetime) -> datetime:
        # Year 9999 in a zone behind UTC is past datetime.max once stored in UTC: refuse it
        # here rather than fail when the row is read back.
        if value.year > 9998:
            self.fail("overflow")
        return value


@extend_schema_field(SCHEDULE_DETAILS_SCHEMA)
class ScheduleDetailsField(serializers.JSONField):
    """Any JSON value; the schedule rules are the service's (``triggers.schedules``)."""


@extend_schema_field(JSON_OBJECT_SCHEMA)
class JSONObjectField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return super().to_internal_value(data)


class TriggerInputSerializer(ClosedSerializer):
    """The editable values of a trigger (POST, PUT, and PATCH with ``partial=True``).

    A field that is not editable is refused with 400 rather than silently ignored, so a
    client never believes it changed ``next_fire_at`` or ``scheduled_fire_count``.
    """

    name = StrictCharField(max_length=200)
    type = serializers.ChoiceField(choices=Trigger.Type.choices)
    schedule_details = ScheduleDetailsField(required=False, allow_null=True)
    api_payload = JSONObjectField(required=False, help_text="A JSON object; the default payload of an API firing.")
    expires_at = OwnerZoneDateTimeField(
        required=False, allow_null=True, help_text="Optional; in the future. Without an offset: your time zone."
    )
    is_test = StrictBooleanField(required=False, help_text="True logs one test event at once and schedules nothing.")
    enabled = StrictBooleanField(required=False, help_text="False pauses the trigger.")
    target = TargetInputField(required=False, allow_null=True)

    read_only_names = frozenset(READ_ONLY_FIELDS)


class TriggerOutputSerializer(serializers.ModelSerializer):
    """A trigger as the API shows it, read through ``triggers.selectors.triggers_of_owner``:
    ``last_fired_at`` is its ``last_fired`` annotation, and ``state`` is ``Trigger.state_at``.
    ``scheduled_fire_count`` counts the scheduler's firings only: an API firing does not
    write to the trigger's row, so concurrent fires of one trigger never wait for each other.
    """

    schedule_details = serializers.SerializerMethodField()
    api_payload = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    state_reason = serializers.SerializerMethodField()
    last_fired_at = serializers.DateTimeField(
        source="last_fired",
        allow_null=True,
        help_text="When it last fired (any source, test events included), or null; see docs/api.md.",
    )
    target = TargetOutputField()

    class Meta:
        model = Trigger
        fields = [
            "id",
            "name",
            "type",
            "schedule_details",
            "api_payload",
            "expires_at",
            "is_test",
            "enabled",
            "state",
            "state_reason",
            "disabled_reason",
            "next_fire_at",
            "last_fired_at",
            "scheduled_fire_count",
            "created_at",
            "updated_at",
            "target",
        ]
        read_only_fields = fields

    @extend_schema_field(SCHEDULE_DETAILS_SCHEMA)
    def get_schedule_details(self, trigger: Trigger) -> dict[str, Any] | None:
        details = trigger.schedule_details
        if details is None:
            return None
        moment = serializers.DateTimeField()
        return {
            key: moment.to_representation(value) if isinstance(value, datetime) else value
            for key, value in details.items()
        }

    @extend_schema_field(JSON_OBJECT_SCHEMA)
    def get_api_payload(self, trigger: Trigger) -> dict[str, Any]:
        return trigger.api_payload

    @extend_schema_field(
        serializers.ChoiceField(choices=Trigger.State.choices, help_text="One word for what the trigger is doing.")
    )
    def get_state(self, trigger: Trigger) -> str:
        return trigger.state_at(self.context.get("at")).code

    @extend_schema_field(serializers.CharField(help_text="Why it does not fire, when it does not; else empty."))
    def get_state_reason(self, trigger: Trigger) -> str:
        return trigger.state_at(self.context.get("at")).reason


class TriggerWrittenSerializer(TriggerOutputSerializer):
    """A trigger as a create or an edit answers it: with the owner's signing secret the
    one time the write made it (the first target), null otherwise."""

    signing_secret = serializers.SerializerMethodField()

    class Meta(TriggerOutputSerializer.Meta):
        fields = [*TriggerOutputSerializer.Meta.fields, "signing_secret"]
        read_only_fields = fields

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text="Your webhook signing secret (whsec_…), in the answer to the write that made it and "
            "never again: store it now. Null in every other answer.",
        )
    )
    def get_signing_secret(self, trigger: Trigger) -> str | None:
        return self.context.get("signing_secret")


class TriggerListFilterSerializer(serializers.Serializer):
    """Query parameters of ``GET /triggers``."""

    type = serializers.ChoiceField(choices=Trigger.Type.choices, required=False, help_text="Only this type.")
    enabled = serializers.BooleanField(required=False, help_text="true or false.")


INTERVAL_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600}


class SchedulePreviewInputSerializer(serializers.Serializer):
    """A schedule to try before saving it: the same ``schedule_details`` and ``expires_at``
    a create takes, checked by the same rules."""

    schedule_details = ScheduleDetailsField(
        help_text='As on create; an interval may also be {"interval": 5, "interval_unit": "minutes"} (or hours).'
    )
    expires_at = OwnerZoneDateTimeField(
        required=False, allow_null=True, help_text="Optional; firings stop before it. Without an offset: your zone."
    )
    timezone = StrictCharField(
        required=False, help_text="The IANA zone to show the firings in; default: your time zone."
    )
    trigger = serializers.UUIDField(
        required=False,
        help_text="One of your triggers: check the schedule as an edit of it (an unchanged past run time is kept).",
    )

    def validate_schedule_details(self, value: Any) -> Any:
        """``{"interval": 5, "interval_unit": "minutes"}`` is read as ``{"interval_seconds": 300}``,
        as the trigger form types it; everything else is checked by the create's rules."""
        if not isinstance(value, dict) or "interval" not in value:
            return value
        details = dict(value)
        count, unit = details.pop("interval"), details.pop("interval_unit", "seconds")
        if unit not in INTERVAL_UNIT_SECONDS:
            units = ", ".join(INTERVAL_UNIT_SECONDS)
            raise serializers.ValidationError({"interval_unit": [f"Must be one of {units}."]})
        if isinstance(count, bool) or not isinstance(count, int):
            raise serializers.ValidationError({"interval": ["Must be a whole number."]})
        return {**details, "interval_seconds": count * INTERVAL_UNIT_SECONDS[unit]}

    def validate_timezone(self, value: str) -> str:
        zone = canonical_timezone(value)
        if zone is None:
            raise serializers.ValidationError("Must be an IANA time zone name, such as Asia/Kolkata.")
        return zone


class SchedulePreviewOutputSerializer(serializers.Serializer):
    description = serializers.CharField(
        help_text='The schedule in words, such as "at 09:30 on weekdays (Europe/Berlin)".'
    )
    timezone = serializers.CharField(help_text="The zone the firings are shown in.")
    next_firings = serializers.ListField(
        child=serializers.DateTimeField(), help_text="Up to the next five firings, with that zone's offset."
    )


class FiredEventOutputSerializer(EventLogOutputSerializer):
    """The event a fire or test call logged, with a ``message`` saying what happened and its ``event_id``."""

    message = serializers.SerializerMethodField()
    event_id = serializers.UUIDField(source="id", read_only=True)

    class Meta(EventLogOutputSerializer.Meta):
        fields = ["message", "event_id", *EventLogOutputSerializer.Meta.fields]

    def get_message(self, event: Any) -> str:
        return self.context.get("message", "")


_MOMENT = serializers.DateTimeField()


def fired_event_body(event: Any, *, message: str) -> dict[str, Any]:
    """What ``FiredEventOutputSerializer(event, context={"message": message}).data`` gives.

    Written out for the fire endpoint, the API's hottest path: building a ModelSerializer's
    fields costs more CPU than the INSERT it reports on. The serializer stays the schema;
    a test keeps the two equal.
    """
    moment = _MOMENT.to_representation
    read_status = getattr(event, "read_status", None)
    return {
        "message": message,
        "event_id": str(event.id),
        "id": str(event.id),
        "trigger_id": str(event.trigger_uuid),
        "trigger_name": event.trigger_name,
        "trigger_type": event.trigger_type,
        "source": event.source,
        "payload": event.payload,
        "is_test": event.is_test,
        "status": read_status if read_status is not None else event.status_at(),
        "fired_at": moment(event.fired_at),
        "scheduled_for": moment(event.scheduled_for) if event.scheduled_for else None,
        "archived_at": moment(event.archived_at) if event.archived_at else None,
    }
