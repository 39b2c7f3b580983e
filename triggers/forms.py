"""Page forms for triggers.

The trigger form only *collects* what the user typed and turns it into the API's
``values`` shape; the rules (minimum interval, future run_at, cron syntax, zone names,
expires_at ordering) are the services' — the same code the API runs — and their
errors are mapped back onto the fields here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone as django_timezone
from django.utils.dateparse import parse_datetime

from core.json_input import JSONInputInvalid, json_parse
from deliveries.forms import TargetFormFields, target_initial
from triggers.models import Trigger
from triggers.services import TriggerInvalid, TriggerLimitReached, trigger_create, trigger_update

REQUIRED = "This field is required."

# Where each key of the service's ``schedule_details`` errors is shown on the form.
_SCHEDULE_ERROR_FIELDS = {
    "run_at": "run_at",
    "interval_seconds": "interval_seconds",
    "start_at": "start_at",
    "cron": "cron",
    "timezone": "cron_timezone",
    "non_field_errors": "schedule_kind",
}
_DATETIME_FIELDS = ("run_at", "start_at", "expires_at")


class LocalDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input whose value stays naive.

    Django's own field would attach the *active* zone; leaving it naive lets the trigger
    service read it in the owner's zone, exactly as it reads an API date-time without an offset.
    """

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S")

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value
        try:
            parsed = parse_datetime(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed

    def prepare_value(self, value: Any) -> Any:
        return value


class JSONObjectField(forms.JSONField):
    """A JSON textarea shown indented. The text is read by the API's own JSON reader
    (:func:`core.json_input.json_parse`), so what the API refuses with 400 is this field's
    error here, never a 500 (Python's ``json`` alone takes NaN and raises on deep nesting)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}))
        super().__init__(encoder=DjangoJSONEncoder, **kwargs)

    def to_python(self, value: Any) -> Any:
        if self.disabled or value in self.empty_values or not isinstance(value, str):
            return super().to_python(value)
        try:
            return json_parse(value)
        except JSONInputInvalid as invalid:
            raise ValidationError(f"Enter a valid JSON. {invalid}", code="invalid") from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled or not isinstance(data, str):
            return super().bound_data(data, initial)
        try:
            return json_parse(data)
        except JSONInputInvalid:
            return forms.fields.InvalidJSONInput(data)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput) or value is None:
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder)


class TriggerForm(TargetFormFields):
    limit_reached = False  # set by save() when the owner has TRIGGER_MAX_PER_USER triggers: HTTP 403
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    type = forms.ChoiceField(
        choices=[
            (Trigger.Type.SCHEDULED, "Scheduled: fires on a schedule"),
            (Trigger.Type.API, "API: fires when called"),
        ]
    )
    schedule_kind = forms.ChoiceField(
        label="Schedule",
        required=False,
        choices=[
            ("", "—"),
            (Trigger.ScheduleKind.ONCE, "Once, at a date and time"),
            (Trigger.ScheduleKind.INTERVAL, "Every N seconds"),
            (Trigger.ScheduleKind.CRON, "On a cron expression"),
        ],
    )
    run_at = LocalDateTimeField(label="Run at", required=False)
    interval_seconds = forms.IntegerField(label="Interval (seconds)", required=False)
    start_at = LocalDateTimeField(label="Start at", required=False, help_text="Empty: start now.")
    cron = forms.CharField(
        label="Cron expression",
        max_length=120,
        required=False,
        help_text="Five fields: minute hour day-of-month month day-of-week, such as <code>0 9 * * 1-5</code>.",
    )
    cron_timezone = forms.CharField(label="Cron time zone", max_length=64, required=False)
    api_payload = JSONObjectField(
        label="Payload (JSON object)", required=False, help_text="Sent with every firing; API calls may override it."
    )
    expires_at = LocalDateTimeField(label="Expires at", required=False, help_text="Empty: never expires.")
    enabled = forms.BooleanField(required=False, initial=True, help_text="Unticked: the trigger is paused.")
    is_test = forms.BooleanField(
        label="Test trigger", required=False, help_text="Logs one test event at once and schedules nothing."
    )

    def __init__(self, *args: Any, owner: Any, instance: Trigger | None = None, **kwargs: Any) -> None:
        self.owner = owner
        self.instance = instance
        kwargs.setdefault("initial", self._initial())
        super().__init__(*args, **kwargs)
        # Said beside every field read without an offset, with the time there now, so a
        # user whose zone is not the one they think sees it before saving.
        local_now = django_timezone.localtime(django_timezone.now(), owner.zoneinfo)
        zone_hint = f"In your time zone, {owner.timezone}, where it is now {local_now:%d %b %Y, %H:%M}."
        for name in _DATETIME_FIELDS:
            help_text = self.fields[name].help_text
            self.fields[name].help_text = f"{help_text} {zone_hint}".strip()
        self.fields["cron_timezone"].help_text = f"An IANA name; empty: {owner.timezone}."

    def _initial(self) -> dict[str, Any]:
        if self.instance is None:
            return {"type": Trigger.Type.SCHEDULED, "enabled": True, "cron_timezone": self.owner.timezone}
        trigger = self.instance
        return {
            "name": trigger.name,
            "type": trigger.type,
            "schedule_kind": trigger.schedule_kind,
            "run_at": self._local(trigger.run_at),
            "interval_seconds": trigger.interval_seconds,
            "start_at": self._local(trigger.start_at),
            "cron": trigger.cron_expression,
            "cron_timezone": trigger.cron_timezone or self.owner.timezone,
            "api_payload": trigger.api_payload,
            "expires_at": self._local(trigger.expires_at),
            "enabled": trigger.enabled,
            "is_test": trigger.is_test,
            **target_initial(trigger),
        }

    def _local(self, moment: datetime | None) -> datetime | None:
        """A stored UTC moment as the owner's naive wall-clock time, to fill a datetime-local input."""
        if moment is None:
            return None
        return django_timezone.localtime(moment, self.owner.zoneinfo).replace(tzinfo=None)

    def clean(self) -> dict[str, Any]:
        """Presence only: the fields the chosen schedule needs. The rules themselves are the service's."""
        cleaned = super().clean() or {}
        if cleaned.get("type") != Trigger.Type.SCHEDULED:
            return cleaned
        kind = cleaned.get("schedule_kind")
        needs = {
            Trigger.ScheduleKind.ONCE: "run_at",
            Trigger.ScheduleKind.INTERVAL: "interval_seconds",
            Trigger.ScheduleKind.CRON: "cron",
        }
        if not kind:
            self.add_error("schedule_kind", "Choose when a scheduled trigger fires.")
        elif cleaned.get(needs[kind]) in (None, "") and needs[kind] not in self.errors:
            self.add_error(needs[kind], REQUIRED)
        return cleaned

    def values(self) -> dict[str, Any]:
        """The cleaned data in the API's shape (what ``trigger_create``/``trigger_update`` take)."""
        data = self.cleaned_data
        moments = {name: self._moment(name) for name in _DATETIME_FIELDS}
        schedule: dict[str, Any] | None = None
        if data["type"] == Trigger.Type.SCHEDULED:
            kind = data["schedule_kind"]
            if kind == Trigger.ScheduleKind.ONCE:
                schedule = {"run_at": moments["run_at"]}
            elif kind == Trigger.ScheduleKind.INTERVAL:
                schedule = {"interval_seconds": data["interval_seconds"]}
                if moments["start_at"] is not None:
                    schedule["start_at"] = moments["start_at"]
            else:
                schedule = {"cron": data["cron"]}
                if data["cron_timezone"].strip():
                    schedule["timezone"] = data["cron_timezone"].strip()
        return {
            "name": data["name"],
            "type": data["type"],
            "schedule_details": schedule,
            "api_payload": data["api_payload"],
            "expires_at": moments["expires_at"],
            "is_test": data["is_test"],
            "enabled": data["enabled"],
            **self.target_values(),
        }

    def _moment(self, name: str) -> datetime | None:
        """An untouched date-time on an edit keeps its stored value: the input shows whole
        seconds, and re-reading a rounded time could turn an unchanged past run_at into a new one."""
        if self.instance is not None and name not in self.changed_data:
            return getattr(self.instance, name)
        return self.cleaned_data[name]

    def save(self) -> Trigger | None:
        """Create or update through the trigger services; on their refusal the errors land on
        the fields and ``None`` is returned (nothing was written: the services are atomic)."""
        try:
            if self.instance is None:
                return trigger_create(owner=self.owner, values=self.values())
            return trigger_update(trigger=self.instance, values=self.values())
        except TriggerInvalid as invalid:
            self.add_service_errors(invalid.errors)
            return None
        except TriggerLimitReached as refused:
            self.limit_reached = True
            self.add_error(None, refused.message)
            return None

    def add_service_errors(self, errors: dict[str, Any]) -> None:
        for key, problems in errors.items():
            if key == "target":
                self.add_target_errors(problems)
            elif key == "schedule_details" and isinstance(problems, dict):
                for schedule_key, messages in problems.items():
                    self.add_error(_SCHEDULE_ERROR_FIELDS.get(schedule_key), _messages(messages))
            elif key == "schedule_details":
                self.add_error("schedule_kind", _messages(problems))
            else:
                self.add_error(key if key in self.fields else None, _messages(problems))


class FireForm(forms.Form):
    payload = JSONObjectField(
        label="Payload (JSON object)",
        required=False,
        help_text="Empty: the trigger's own payload is sent.",
    )

    def clean_payload(self) -> dict[str, Any] | None:
        payload = self.cleaned_data["payload"]
        if payload is not None and not isinstance(payload, dict):
            raise ValidationError('Must be a JSON object, such as {"order": 42}.')
        return payload


def _messages(problems: Any) -> list[str]:
    if isinstance(problems, dict):
        return [f"{key}: {message}" for key, messages in problems.items() for message in _messages(messages)]
    if isinstance(problems, (list, tuple)):
        return [str(problem) for problem in problems]
    return [str(problem) for problem in [problems]]
