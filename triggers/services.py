"""Writes for triggers: create, edit, pause, delete, fire and test.

Every path that changes when a trigger should fire (API, pages, admin) goes through
these functions, so validation is one code path and the scheduler is always told.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils.timezone import now

from core.metrics import API_FIRINGS, TEST_FIRINGS
from deliveries.hooks import delivery_enqueue, target_apply, target_maybe, trigger_may_have_target
from eventlogs.models import EventLog, delete_after
from eventlogs.selectors import eventlog_by_idempotency_key
from eventlogs.services import eventlog_record, eventlog_release_idempotency_key
from triggers.models import Trigger
from triggers.schedules import (
    ONCE,
    Schedule,
    ScheduleInvalid,
    read_datetime,
    schedule_from_details,
)

# The dispatcher LISTENs on this channel; a NOTIFY sent inside a transaction is
# delivered only when it commits, so the scheduler never reads a change too early.
TRIGGERS_CHANGED_CHANNEL = "sigwise_triggers_changed"

# Every time a trigger keeps must be before this: a later one, shown in a zone east of UTC
# (or moved by a schedule step), is past the year 9999 that Python's datetime ends at.
LATEST_TIME = datetime(9999, 1, 1, tzinfo=UTC)
LATEST_TIME_ERROR = "Must be before the year 9999."

EDITABLE_FIELDS = ("name", "type", "schedule_details", "api_payload", "expires_at", "is_test", "enabled")


class TriggerInvalid(Exception):
    """The values cannot make a trigger; ``errors`` maps each field to its problems."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


class TriggerLimitReached(Exception):
    """The owner already has ``TRIGGER_MAX_PER_USER`` triggers (HTTP 403)."""

    def __init__(self, limit: int) -> None:
        self.message = f"You have reached the limit of {limit} triggers; delete one before creating another."
        super().__init__(self.message)


class TriggerNotFireable(Exception):
    """The trigger can never be fired this way (a scheduled trigger fires on its schedule)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TriggerPausedOrExpired(Exception):
    """The trigger cannot be fired in its current state, which its owner can change."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IdempotencyKeyReused(Exception):
    """The ``Idempotency-Key`` already named an event fired with a different body (HTTP 409)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key
        self.message = (
            f'Idempotency-Key "{key}" was already used on this trigger with a different body; '
            "send the same body to get the first event, or use a new key."
        )


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

    if schedule is not None:
        late = {
            key: [LATEST_TIME_ERROR]
            for key, moment in (("run_at", schedule.run_at), ("start_at", schedule.start_at))
            if moment is not None and moment >= LATEST_TIME
        }
        if late:
            errors["schedule_details"] = late
            schedule = None

    payload = values.get("api_payload")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        errors["api_payload"] = ["Must be a JSON object."]
    elif trigger_type == Trigger.Type.SCHEDULED and not (instance is not None and instance.api_payload == payload):
        # A scheduled trigger's payload is copied into every event it writes, however often it
        # fires; an API firing's body is bounded by the request size instead. An unchanged
        # payload stored before the cap can still be paused, resumed and renamed.
        size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder).encode())
        limit = settings.TRIGGER_PAYLOAD_MAX_BYTES
        if size > limit:
            errors["api_payload"] = [
                f"A scheduled trigger's payload is copied into every event it logs: "
                f"at most {limit} bytes of JSON (this one is {size})."
            ]

    expires_at = values.get("expires_at")
    if expires_at is not None:
        expires_at = read_datetime(expires_at, "expires_at", zone, errors)
    if expires_at is not None and expires_at >= LATEST_TIME:
        errors["expires_at"] = [LATEST_TIME_ERROR]
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
    unchanged = previous == schedule and instance is not None and instance.expires_at == expires_at
    if schedule is not None and not errors and not is_test:
        upcoming = _upcoming(schedule, pending=_pending_slot(instance, schedule), expires_at=expires_at, at=at)
        if upcoming is None and not unchanged:
            errors["schedule_details"] = {"non_field_errors": [_no_firing_time(schedule, expires_at)]}
        elif upcoming is None and enabled and instance is not None and not instance.enabled:
            errors["enabled"] = [_will_not_fire(schedule, expires_at, at=at)]

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


PREVIEW_FIRINGS = 5


@dataclass(frozen=True)
class SchedulePreview:
    trigger: Trigger  # unsaved: the values a create would store
    firings: list[datetime]


def schedule_preview(
    *,
    owner: Any,
    schedule_details: Any,
    expires_at: datetime | None = None,
    instance: Trigger | None = None,
    at: datetime | None = None,
) -> SchedulePreview:
    """What a scheduled trigger with these values would do, checked by :func:`trigger_validate`
    exactly as a create checks them, or as an edit of ``instance`` (:class:`TriggerInvalid`
    names the problem). Writes nothing."""
    at = at or now()
    values = {"name": "preview", "type": Trigger.Type.SCHEDULED, "schedule_details": schedule_details}
    fields = trigger_validate(owner=owner, values={**values, "expires_at": expires_at}, instance=instance, at=at)
    trigger = Trigger(owner=owner, **fields)
    schedule = trigger_schedule(trigger)
    firings: list[datetime] = []
    slot = schedule.first_fire_at(now=at, expires_at=trigger.expires_at) if schedule else None
    while slot is not None and len(firings) < PREVIEW_FIRINGS:
        firings.append(slot)
        slot = schedule.next_fire_after(slot, now=slot, expires_at=trigger.expires_at)
    return SchedulePreview(trigger=trigger, firings=firings)


def _given_start(schedule: Schedule, details: Any) -> datetime | None:
    """The start the user gave for an interval schedule (not the default of "now")."""
    if isinstance(details, dict) and details.get("start_at") is not None:
        return schedule.start_at
    return None


def _pending_slot(instance: Trigger | None, schedule: Schedule | None) -> datetime | None:
    """The stored trigger's next slot, when an edit leaves its schedule as it was."""
    if instance is None or not instance.enabled or instance.is_test or trigger_schedule(instance) != schedule:
        return None
    return instance.next_fire_at


def _upcoming(
    schedule: Schedule, *, pending: datetime | None, expires_at: datetime | None, at: datetime
) -> datetime | None:
    """The slot an enabled trigger with ``schedule`` fires next.

    ``pending`` is the stored trigger's next slot when the edit leaves the schedule as it
    was: a slot that is due but not yet fired (the scheduler was down) is kept, so an edit
    of the name or of ``expires_at`` does not skip it.
    """
    if pending is not None and pending <= at:
        return pending if expires_at is None or pending < expires_at else None
    return schedule.first_fire_at(now=at, expires_at=expires_at)


def _no_firing_time(schedule: Schedule, expires_at: datetime | None) -> str:
    if expires_at is None:
        if schedule.kind == ONCE:
            return "run_at has passed; give a time in the future."
        return "This schedule has no future firing time."
    return "This schedule has no firing time before expires_at (expires_at is exclusive)."


def _will_not_fire(schedule: Schedule, expires_at: datetime | None, *, at: datetime) -> str:
    """Why a paused trigger cannot be resumed: it would be enabled with nothing to fire."""
    if expires_at is not None and expires_at <= at:
        return f"It expired at {expires_at.isoformat()}; it will not fire. Give a later expires_at to resume it."
    if schedule.kind == ONCE and schedule.run_at is not None:
        return (
            f"Its run_at ({schedule.run_at.isoformat()}) has passed while it was paused; it will not fire. "
            "Give a new run_at to resume it."
        )
    return "Its schedule has no firing time left; it will not fire. Change the schedule to resume it."


def _next_fire_at(trigger: Trigger, *, at: datetime, pending: datetime | None = None) -> datetime | None:
    schedule = trigger_schedule(trigger)
    if schedule is None or not trigger.enabled or trigger.is_test:
        return None
    return _upcoming(schedule, pending=pending, expires_at=trigger.expires_at, at=at)


def _notify_scheduler(trigger_id: uuid.UUID) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [TRIGGERS_CHANGED_CHANNEL, str(trigger_id)])


@transaction.atomic
def trigger_create(*, owner: Any, values: dict[str, Any]) -> Trigger:
    """Create a trigger for ``owner``; :class:`TriggerLimitReached` past ``TRIGGER_MAX_PER_USER``.

    The owner's row is locked while counting, so concurrent creates by one user queue up
    and cannot pass the limit together (other users' creates do not wait).
    """
    limit = settings.TRIGGER_MAX_PER_USER
    get_user_model().objects.select_for_update().filter(pk=owner.pk).values_list("pk", flat=True).get()
    if Trigger.objects.filter(owner=owner).count() >= limit:
        raise TriggerLimitReached(limit)
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


def trigger_duplicate(*, trigger: Trigger) -> Trigger:
    """A paused copy named "Copy of …", made by :func:`trigger_create` (the same rules and
    limit); its delivery target is not copied, so a copy never posts anywhere unasked."""
    name = f"Copy of {trigger.name}"[:200]
    return trigger_create(owner=trigger.owner, values={**trigger_values(trigger), "name": name, "enabled": False})


@transaction.atomic
def trigger_update(
    *, trigger: Trigger, values: dict[str, Any] | None = None, changes: dict[str, Any] | None = None
) -> Trigger:
    """Apply a whole set of ``values``, or ``changes`` to some fields (a partial edit).

    The row is locked so an edit and a firing of the same trigger are serialised, and
    ``changes`` are merged into the row as read under that lock: a concurrent pause (or
    the scheduler stopping the trigger) is not undone by a rename. ``next_fire_at`` is
    recomputed when anything that decides firing changed; a slot that is due but not
    yet fired stays due unless the schedule itself changed, so nothing is skipped.
    """
    locked = Trigger.objects.select_for_update().get(pk=trigger.pk)
    if values is not None:
        values, target = target_maybe(values)
    else:
        changes, target = target_maybe(changes or {})
    target_apply(trigger=locked, target=target, invalid=TriggerInvalid)
    # Read the clock after the lock: if the dispatcher held the row and has just fired a
    # slot, an earlier ``at`` would compute that same slot again as the next one.
    at = now()
    if values is None:
        values = {**trigger_values(locked), **(changes or {})}
    fields = trigger_validate(owner=locked.owner, values=values, instance=locked, at=at)
    schedule_before = trigger_schedule(locked)
    timing_before = (schedule_before, locked.expires_at, locked.enabled, locked.is_test, locked.type)
    pending = locked.next_fire_at if locked.enabled and not locked.is_test else None
    for name, value in fields.items():
        setattr(locked, name, value)
    timing_after = (trigger_schedule(locked), locked.expires_at, locked.enabled, locked.is_test, locked.type)
    if timing_after != timing_before:
        keep = pending if trigger_schedule(locked) == schedule_before else None
        locked.next_fire_at = _next_fire_at(locked, at=at, pending=keep)
        if locked.enabled:
            locked.disabled_reason = ""
    locked.save()
    _notify_scheduler(locked.id)
    return locked


def trigger_set_enabled(*, trigger: Trigger, enabled: bool) -> Trigger:
    """Pause or resume. A resumed trigger continues from its next future slot; one with
    nothing left to fire (a one-time trigger whose time passed) is refused, naming why."""
    return trigger_update(trigger=trigger, changes={"enabled": enabled})


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
    transaction.on_commit(TEST_FIRINGS.inc)
    return event


def trigger_fire(*, trigger: Trigger, payload: dict[str, Any] | None, idempotency_key: str | None = None) -> FireResult:
    """Fire an API trigger: one INSERT, and no lock on the trigger's row, so concurrent
    fires of one trigger never wait for each other.

    With an ``idempotency_key``, a repeat within the retention period with the same body
    returns the first event (``created`` false) and writes nothing; with another body it
    raises :class:`IdempotencyKeyReused`. "No body" (``payload`` None) is a body of its own,
    so a retry without a body matches even if the trigger's payload changed meanwhile.
    """
    result = _fire(trigger=trigger, payload=payload, idempotency_key=idempotency_key)
    if result.created:
        API_FIRINGS.inc()
    return result


def _fire(*, trigger: Trigger, payload: dict[str, Any] | None, idempotency_key: str | None) -> FireResult:
    at = now()
    if trigger.type != Trigger.Type.API:
        raise TriggerNotFireable("Not an API trigger: scheduled triggers fire on their schedule.")
    if not trigger.enabled:
        raise TriggerPausedOrExpired("This trigger is paused; resume it to fire it.")
    if trigger.is_expired_at(at):
        raise TriggerPausedOrExpired(f"This trigger expired at {trigger.expires_at.isoformat()}.")
    body = trigger.api_payload if payload is None else payload
    body_sha256 = None if idempotency_key is None else _body_sha256(payload)
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
            idempotency_body_sha256=body_sha256,
        )
        if deliver:
            delivery_enqueue(event=event)
        return event

    if idempotency_key is None:
        if not deliver:
            return FireResult(event=record(), created=True)
        with transaction.atomic():
            return FireResult(event=record(), created=True)

    def repeat(existing: EventLog) -> FireResult:
        # Events keyed before the body was recorded (NULL) are answered as before.
        if existing.idempotency_body_sha256 not in (None, body_sha256):
            raise IdempotencyKeyReused(idempotency_key)
        return FireResult(event=existing, created=False)

    window_start = at - delete_after()
    for _ in range(2):
        existing = eventlog_by_idempotency_key(trigger_id=trigger.id, key=idempotency_key)
        if existing is not None and existing.fired_at > window_start:
            return repeat(existing)
        try:
            with transaction.atomic():
                if existing is not None:
                    # The key's first event is past retention (the delete job has not run yet):
                    # the key is free again.
                    eventlog_release_idempotency_key(event=existing)
                return FireResult(event=record(), created=True)
        except IntegrityError:
            continue  # a concurrent request with the same key won; return its event
    return repeat(eventlog_by_idempotency_key(trigger_id=trigger.id, key=idempotency_key))


def _body_sha256(payload: dict[str, Any] | None) -> str:
    """A digest of the body's JSON value (key order and spacing do not count)."""
    canonical = "" if payload is None else json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
