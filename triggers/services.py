"""Writes for triggers: create, edit, pause, delete, fire and test.

Every path that changes when a trigger should fire (API, pages, admin) goes through
these functions, so validation is one code path and the scheduler is always told.
"""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone as django_timezone
from django.utils.timezone import now

from deliveries.hooks import delivery_enqueue, target_apply, target_maybe, trigger_may_have_target
from eventlogs.models import EventLog, delete_after
from eventlogs.services import eventlog_record
from triggers.models import Trigger
from triggers.schedules import Schedule, ScheduleInvalid, schedule_from_details

# The dispatcher LISTENs on this channel; a NOTIFY sent inside a transaction is
# delivered only when it commits, so the scheduler never reads a change too early.
TRIGGERS_CHANGED_CHANNEL = "sigwise_triggers_changed"

EDITABLE_FIELDS = ("name", "type", "schedule_details", "api_payload", "expires_at", "is_test", "enabled")


class TriggerInvalid(Exception):
    """The values cannot make a trigger; ``errors`` maps each field to its problems."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


class TriggerNotFireable(Exception):
    """The trigger cannot be fired now. ``conflict`` is true for a state the owner can change
    (paused, expired: HTTP 409) and false for a request that can never work (HTTP 400)."""

    def __init__(self, message: str, *, conflict: bool) -> None:
        super().__init__(message)
        self.message = message
        self.conflict = conflict


@dataclass(frozen=True)
class FireResult:
    event: EventLog
    created: bool


def trigger_values(trigger: Trigger) -> dict[str, Any]:
    """A trigger's editable values in the API's shape; a partial edit is ``{**these, **changes}``."""
    return {
        "name": trigger.name,
        "type": trigger.type,
        "schedule_details": trigger.schedule_details,
        "api_payload": trigger.api_payload,
        "expires_at": trigger.expires_at,
        "is_test": trigger.is_test,
        "enabled": trigger.enabled,
    }


def trigger_schedule(trigger: Trigger) -> Schedule | None:
    """The trigger's stored schedule (None for an API trigger)."""
    if not trigger.schedule_kind:
        return None
    return Schedule(
        kind=trigger.schedule_kind,
        run_at=trigger.run_at,
        interval_seconds=trigger.interval_seconds,
        start_at=trigger.start_at,
        cron=trigger.cron_expression,
        timezone=trigger.cron_timezone,
    )


def _aware(value: datetime, zone: str) -> datetime:
    """``value`` as a UTC moment (a naive value is read in ``zone``).

    Converted, not kept at its own offset: ISO 8601 and Python allow offsets up to ±23:59,
    PostgreSQL refuses any beyond ±15:59 (a 500 the schema fuzzer found with ``-18:01``).
    """
    if django_timezone.is_naive(value):
        value = django_timezone.make_aware(value, zoneinfo.ZoneInfo(zone))
    return value.astimezone(UTC)


def trigger_validate(
    *, owner: Any, values: dict[str, Any], instance: Trigger | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """Check a whole set of trigger values; return the model fields to store.

    Raises :class:`TriggerInvalid` naming each field and its problem. Date-times
    without an offset are read in the owner's time zone.
    """
    at = at or now()
    errors: dict[str, Any] = {}
    zone = owner.timezone
    trigger_type = values.get("type")
    previous = trigger_schedule(instance) if instance is not None else None
    schedule: Schedule | None = None

    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = ["This field is required."]
    elif len(name) > 200:
        errors["name"] = ["Must be at most 200 characters."]

    details = values.get("schedule_details")
    if trigger_type == Trigger.Type.SCHEDULED:
        if details is None:
            errors["schedule_details"] = ["A scheduled trigger needs a schedule."]
        else:
            try:
                schedule = schedule_from_details(details, default_timezone=zone, now=at, previous=previous)
            except ScheduleInvalid as invalid:
                errors["schedule_details"] = invalid.errors
    elif trigger_type == Trigger.Type.API:
        if details not in (None, {}):
            errors["schedule_details"] = ["An API trigger has no schedule; it fires when you call its fire endpoint."]
    else:
        errors["type"] = ['Must be "scheduled" or "api".']

    payload = values.get("api_payload")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        errors["api_payload"] = ["Must be a JSON object."]

    expires_at = values.get("expires_at")
    if expires_at is not None:
        try:
            expires_at = _aware(expires_at, zone)
        except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past datetime.max in UTC
            errors["expires_at"] = ["Out of range."]
            expires_at = None
    if expires_at is not None:
        unchanged = instance is not None and instance.expires_at == expires_at
        if expires_at <= at and not unchanged:
            errors["expires_at"] = ["Must be in the future."]
        elif schedule is not None:
            begins = schedule.run_at or _given_start(schedule, details)
            if begins is not None and expires_at <= begins:
                errors["expires_at"] = ["Must be after the schedule's run_at or start_at."]

    is_test = bool(values.get("is_test", False))
    enabled = bool(values.get("enabled", True))
    if (
        schedule is not None
        and not errors
        and not is_test
        and schedule.first_fire_at(now=at, expires_at=expires_at) is None
        and not (previous == schedule and instance is not None and instance.expires_at == expires_at)
    ):
        errors["schedule_details"] = {"non_field_errors": ["This schedule has no firing time before expires_at."]}

    if errors:
        raise TriggerInvalid(errors)
    return {
        "name": name,
        "type": trigger_type,
        "schedule_kind": schedule.kind if schedule else "",
        "run_at": schedule.run_at if schedule else None,
        "interval_seconds": schedule.interval_seconds if schedule else None,
        "start_at": schedule.start_at if schedule else None,
        "cron_expression": schedule.cron if schedule else "",
        "cron_timezone": schedule.timezone if schedule else "",
        "api_payload": payload,
        "expires_at": expires_at,
        "is_test": is_test,
        "enabled": enabled,
    }


def _given_start(schedule: Schedule, details: Any) -> datetime | None:
    """The start the user gave for an interval schedule (not the default of "now")."""
    if isinstance(details, dict) and details.get("start_at") is not None:
        return schedule.start_at
    return None


def _next_fire_at(trigger: Trigger, *, at: datetime) -> datetime | None:
    schedule = trigger_schedule(trigger)
    if schedule is None or not trigger.enabled or trigger.is_test:
        return None
    return schedule.first_fire_at(now=at, expires_at=trigger.expires_at)


def _notify_scheduler(trigger_id: uuid.UUID) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [TRIGGERS_CHANGED_CHANNEL, str(trigger_id)])


@transaction.atomic
def trigger_create(*, owner: Any, values: dict[str, Any]) -> Trigger:
    at = now()
    values, target = target_maybe(values)
    fields = trigger_validate(owner=owner, values=values, at=at)
    trigger = Trigger(owner=owner, **fields)
    trigger.next_fire_at = _next_fire_at(trigger, at=at)
    trigger.save()
    target_apply(trigger=trigger, target=target, invalid=TriggerInvalid)
    if trigger.is_test:
        trigger_test(trigger=trigger)
    _notify_scheduler(trigger.id)
    return trigger


@transaction.atomic
def trigger_update(*, trigger: Trigger, values: dict[str, Any]) -> Trigger:
    """Apply a whole set of values (merge a partial edit with :func:`trigger_values` first).

    The row is locked so an edit and a firing of the same trigger are serialised.
    ``next_fire_at`` is recomputed when anything that decides firing changed; an edit
    of, say, the name keeps a due slot due, so nothing is skipped.
    """
    locked = Trigger.objects.select_for_update().get(pk=trigger.pk)
    values, target = target_maybe(values)
    target_apply(trigger=locked, target=target, invalid=TriggerInvalid)
    # Read the clock after the lock: if the dispatcher held the row and has just fired a
    # slot, an earlier ``at`` would compute that same slot again as the next one.
    at = now()
    fields = trigger_validate(owner=locked.owner, values=values, instance=locked, at=at)
    timing_before = (trigger_schedule(locked), locked.expires_at, locked.enabled, locked.is_test, locked.type)
    for name, value in fields.items():
        setattr(locked, name, value)
    timing_after = (trigger_schedule(locked), locked.expires_at, locked.enabled, locked.is_test, locked.type)
    if timing_after != timing_before:
        locked.next_fire_at = _next_fire_at(locked, at=at)
        if locked.enabled:
            locked.disabled_reason = ""
    locked.save()
    _notify_scheduler(locked.id)
    return locked


def trigger_set_enabled(*, trigger: Trigger, enabled: bool) -> Trigger:
    """Pause or resume. A resumed trigger continues from its next future slot."""
    return trigger_update(trigger=trigger, values={**trigger_values(trigger), "enabled": enabled})


@transaction.atomic
def trigger_delete(*, trigger: Trigger) -> None:
    """Delete a trigger; its event logs stay (trigger set to null) until retention removes them."""
    trigger_id = trigger.id
    trigger.delete()
    _notify_scheduler(trigger_id)


@transaction.atomic
def trigger_test(*, trigger: Trigger) -> EventLog:
    """Log a test event now, for a trigger of either type. Schedules nothing."""
    event = eventlog_record(
        owner_id=trigger.owner_id,
        trigger_id=trigger.id,
        trigger_name=trigger.name,
        trigger_type=trigger.type,
        source=EventLog.Source.TEST,
        payload=trigger.api_payload,
    )
    delivery_enqueue(event=event)
    return event


def trigger_fire(*, trigger: Trigger, payload: dict[str, Any] | None, idempotency_key: str | None = None) -> FireResult:
    """Fire an API trigger: one INSERT, and no lock on the trigger's row, so concurrent
    fires of one trigger never wait for each other.

    With an ``idempotency_key``, a repeat within the retention period returns the first
    event (``created`` false) and writes nothing.
    """
    at = now()
    if trigger.type != Trigger.Type.API:
        raise TriggerNotFireable("Not an API trigger: scheduled triggers fire on their schedule.", conflict=False)
    if not trigger.enabled:
        raise TriggerNotFireable("This trigger is paused; resume it to fire it.", conflict=True)
    if trigger.expires_at is not None and trigger.expires_at <= at:
        raise TriggerNotFireable(f"This trigger expired at {trigger.expires_at.isoformat()}.", conflict=True)
    body = trigger.api_payload if payload is None else payload
    # A trigger with a target gets its delivery in the event's transaction.
    deliver = trigger_may_have_target(trigger)

    def record() -> EventLog:
        event = eventlog_record(
            owner_id=trigger.owner_id,
            trigger_id=trigger.id,
            trigger_name=trigger.name,
            trigger_type=trigger.type,
            source=EventLog.Source.API,
            payload=body,
            fired_at=at,
            idempotency_key=idempotency_key,
        )
        if deliver:
            delivery_enqueue(event=event)
        return event

    if idempotency_key is None:
        if not deliver:
            return FireResult(event=record(), created=True)
        with transaction.atomic():
            return FireResult(event=record(), created=True)

    window_start = at - delete_after()
    for _ in range(2):
        existing = EventLog.objects.filter(trigger=trigger, idempotency_key=idempotency_key).first()
        if existing is not None and existing.fired_at > window_start:
            return FireResult(event=existing, created=False)
        try:
            with transaction.atomic():
                if existing is not None:
                    # The key's first event is past retention (the delete job has not run yet):
                    # the key is free again.
                    EventLog.objects.filter(pk=existing.pk).delete()
                return FireResult(event=record(), created=True)
        except IntegrityError:
            continue  # a concurrent request with the same key won; return its event
    existing = EventLog.objects.get(trigger=trigger, idempotency_key=idempotency_key)
    return FireResult(event=existing, created=False)


def trigger_is_expired(trigger: Trigger, *, at: datetime | None = None) -> bool:
    return trigger.expires_at is not None and trigger.expires_at <= (at or now())
