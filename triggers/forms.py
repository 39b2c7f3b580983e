"""Page forms for triggers.

The trigger form only *collects* what the user typed and turns it into the API's
``values`` shape; the rules (minimum interval, future run_at, cron syntax, zone names,
expires_at ordering) are the services' — the same code the API runs — and their
errors are mapped back onto the fields here.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone as django_timezone
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe

from core.json_input import JSONInputInvalid, json_parse
from deliveries.forms import TargetFormFields, target_initial
from triggers.models import Trigger
from triggers.services import TriggerInvalid, TriggerLimitReached, trigger_create, trigger_update, trigger_validate

REQUIRED = "This field is required."

# Where each key of the service's ``schedule_details`` errors is shown on the form.
_SCHEDULE_ERROR_FIELDS = {
    "run_at": "run_at",
    "interval_seconds": "interval",
    "start_at": "start_at",
    "cron": "cron",
    "timezone": "cron_timezone",
    "non_field_errors": "schedule_kind",
}
_DATETIME_FIELDS = ("run_at", "start_at", "expires_at")
_SCHEDULE_FIELDS = ("schedule_kind", "run_at", "interval", "interval_unit", "start_at", "cron", "cron_timezone")
# Seconds in each unit an interval can be typed in, largest first.
INTERVAL_UNITS = {"hours": 3600, "minutes": 60, "seconds": 1}

# The service's messages name the API's fields; a page says them in its own labels.
_PAGE_WORDS = {
    "Must be after the schedule's run_at or start_at.": "Must be after the schedule's run time or start time.",
    "run_at has passed; give a time in the future.": "This run time has passed; give a time in the future.",
}
_NEVER_MATCHES = "This cron expression never matches a time from now on, so the trigger would never fire."
_NOTHING_BEFORE_EXPIRY = "The schedule has no firing time before this expiry time."


def interval_in_units(seconds: int) -> tuple[int, str]:
    """``3600`` -> ``(1, "hours")``: the largest unit that divides the interval exactly."""
    for unit, size in INTERVAL_UNITS.items():
        if seconds % size == 0:
            return seconds // size, unit
    return seconds, "seconds"  # unreachable: every whole number divides by 1


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
            (Trigger.ScheduleKind.INTERVAL, "Every N seconds, minutes or hours"),
            (Trigger.ScheduleKind.CRON, "On a cron expression"),
        ],
    )
    run_at = LocalDateTimeField(label="Run at", required=False)
    interval = forms.IntegerField(label="Every", required=False, min_value=1)
    interval_unit = forms.ChoiceField(
        label="Unit", choices=[(unit, unit) for unit in reversed(INTERVAL_UNITS)], initial="seconds", required=False
    )
    start_at = LocalDateTimeField(label="Start at", required=False, help_text="Empty: start now.")
    cron = forms.CharField(
        label="Cron expression",
        max_length=120,
        required=False,
        help_text=mark_safe(
            "Five fields: minute hour day-of-month month day-of-week, such as <code>0 9 * * 1-5</code>."
        ),
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

    # The page's order: the first field with an error is focused in this order.
    field_order = [
        "name", "type", *_SCHEDULE_FIELDS, "api_payload", "expires_at", "enabled", "is_test",
        "target_url", "target_headers", "target_timeout",
    ]  # fmt: skip

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
            **self._interval_initial(trigger.interval_seconds),
            "start_at": self._local(trigger.start_at),
            "cron": trigger.cron_expression,
            "cron_timezone": trigger.cron_timezone or self.owner.timezone,
            "api_payload": trigger.api_payload,
            "expires_at": self._local(trigger.expires_at),
            "enabled": trigger.enabled,
            "is_test": trigger.is_test,
            **target_initial(trigger),
        }

    def _interval_initial(self, seconds: int | None) -> dict[str, Any]:
        if not seconds:
            return {"interval_unit": "seconds"}
        count, unit = interval_in_units(seconds)
        return {"interval": count, "interval_unit": unit}

    def _local(self, moment: datetime | None) -> datetime | None:
        """A stored UTC moment as the owner's naive wall-clock time, to fill a datetime-local input."""
        if moment is None:
            return None
        return django_timezone.localtime(moment, self.owner.zoneinfo).replace(tzinfo=None)

    def clean(self) -> dict[str, Any]:
        """Presence: the fields the chosen schedule needs. When a field is already refused,
        the service's rules are checked too for the others, so every problem shows at once
        rather than one round per submit; the rules themselves stay the service's."""
        cleaned = super().clean() or {}
        if cleaned.get("type") == Trigger.Type.SCHEDULED:
            kind = cleaned.get("schedule_kind")
            needs = {
                Trigger.ScheduleKind.ONCE: "run_at",
                Trigger.ScheduleKind.INTERVAL: "interval",
                Trigger.ScheduleKind.CRON: "cron",
            }
            if not kind:
                self.add_error("schedule_kind", "Choose when a scheduled trigger fires.")
            elif cleaned.get(needs[kind]) in (None, "") and needs[kind] not in self.errors:
                self.add_error(needs[kind], REQUIRED)
        if self.errors and cleaned.get("type"):
            self._check_the_rest()
        return cleaned

    def _check_the_rest(self) -> None:
        """Run the service's validation with a stand-in for each refused field, and show
        its problems on the fields that have none yet (nothing is written)."""
        refused = set(self.errors)
        stand_ins = {"name": "stand-in", "api_payload": {}, "expires_at": None, "run_at": None, "start_at": None}
        stand_ins = {key: value for key, value in stand_ins.items() if key in refused}
        schedule_refused = bool(refused & set(_SCHEDULE_FIELDS))
        if schedule_refused:
            # Without a schedule to check, the rest is checked as an API trigger's would be.
            stand_ins["type"] = Trigger.Type.API
        values = self.values(stand_ins=stand_ins)
        try:
            trigger_validate(owner=self.owner, values=values, instance=self.instance)
        except TriggerInvalid as invalid:
            errors = {key: problems for key, problems in invalid.errors.items() if key != "schedule_details"}
            if not schedule_refused:
                errors["schedule_details"] = invalid.errors.get("schedule_details")
            self.add_service_errors({key: problems for key, problems in errors.items() if problems}, skip=refused)

    def full_clean(self) -> None:
        super().full_clean()
        self.focus_first_error()

    def focus_first_error(self) -> None:
        """Autofocus the first field with an error (in the page's order), not the name."""
        invalid = [name for name in self.fields if name in self.errors]
        if not invalid:
            return
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)
        self.fields[invalid[0]].widget.attrs["autofocus"] = True

    def values(self, *, stand_ins: dict[str, Any] | None = None) -> dict[str, Any]:
        """The cleaned data in the API's shape (what ``trigger_create``/``trigger_update`` take);
        ``stand_ins`` replace the values of refused fields."""
        data = {**self.cleaned_data, **(stand_ins or {})}
        moments = {name: data[name] if name in (stand_ins or {}) else self._moment(name) for name in _DATETIME_FIELDS}
        schedule: dict[str, Any] | None = None
        if data["type"] == Trigger.Type.SCHEDULED:
            kind = data["schedule_kind"]
            if kind == Trigger.ScheduleKind.ONCE:
                schedule = {"run_at": moments["run_at"]}
            elif kind == Trigger.ScheduleKind.INTERVAL:
                schedule = {"interval_seconds": data["interval"] * INTERVAL_UNITS[data["interval_unit"] or "seconds"]}
                if moments["start_at"] is not None:
                    schedule["start_at"] = moments["start_at"]
            else:
                schedule = {"cron": data["cron"]}
                if data["cron_timezone"].strip():
                    schedule["timezone"] = data["cron_timezone"].strip()
        return {
            "name": data.get("name"),
            "type": data["type"],
            "schedule_details": schedule,
            "api_payload": data.get("api_payload"),
            "expires_at": moments["expires_at"],
            "is_test": data.get("is_test", False),
            "enabled": data.get("enabled", True),
            **({} if stand_ins is not None else self.target_values()),
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
        except TriggerLimitReached as refused:
            self.limit_reached = True
            self.add_error(None, refused.message)
        self.focus_first_error()
        return None

    def add_service_errors(self, errors: dict[str, Any], *, skip: set[str] | frozenset[str] = frozenset()) -> None:
        """Put the service's errors on the fields they are about, in the page's words;
        fields in ``skip`` already show a problem of their own."""
        for field, messages in self._page_errors(errors):
            if field not in skip:
                self.add_error(field, [_PAGE_WORDS.get(message, message) for message in messages])

    def _page_errors(self, errors: dict[str, Any]) -> list[tuple[str | None, list[str]]]:
        placed: list[tuple[str | None, list[str]]] = []
        for key, problems in errors.items():
            if key == "target":
                self.add_target_errors(problems)
            elif key == "schedule_details" and isinstance(problems, dict):
                for schedule_key, messages in problems.items():
                    if schedule_key == "non_field_errors":
                        placed.extend(self._schedule_wide(_messages(messages)))
                    else:
                        placed.append((_SCHEDULE_ERROR_FIELDS.get(schedule_key), _messages(messages)))
            elif key == "schedule_details":
                placed.append(("schedule_kind", _messages(problems)))
            else:
                placed.append((key if key in self.fields else None, _messages(problems)))
        return placed

    def _schedule_wide(self, messages: list[str]) -> list[tuple[str | None, list[str]]]:
        """A schedule with no firing time is about the field that rules it out: the cron that
        never matches, the expiry that comes first, or the run time that has passed."""
        data = self.cleaned_data
        kind = data.get("schedule_kind")
        if data.get("expires_at") is not None and not data.get("is_test"):
            return [("expires_at", [_NOTHING_BEFORE_EXPIRY])]
        if kind == Trigger.ScheduleKind.CRON:
            return [("cron", [_NEVER_MATCHES])]
        if kind == Trigger.ScheduleKind.ONCE:
            return [("run_at", messages)]
        return [("schedule_kind", messages)]


class BulkActionForm(forms.Form):
    """The trigger list's bulk form: an action and the ticked ids. ``triggers`` holds the
    user's own triggers among them; any other id (another user's, a deleted one) is ignored."""

    action = forms.ChoiceField(choices=[("pause", "Pause"), ("resume", "Resume"), ("delete", "Delete")])
    confirmed = forms.BooleanField(required=False)
    back = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, owner: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.triggers: list[Trigger] = []
        self.back = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.back = cleaned.get("back", "")
        wanted = []
        for value in self.data.getlist("ids"):  # not a form field: unknown ids are skipped, not refused
            try:
                wanted.append(uuid.UUID(value))
            except ValueError:
                continue
        self.triggers = list(Trigger.objects.filter(owner=self.owner, pk__in=wanted).order_by("name", "id"))
        return cleaned


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
