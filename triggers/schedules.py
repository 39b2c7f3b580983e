"""Schedule arithmetic, all of it delegated to APScheduler's triggers.

``next_fire_at`` for every kind of schedule comes from ``DateTrigger``,
``IntervalTrigger`` or ``CronTrigger`` ``.get_next_fire_time`` so cron syntax, time
zones and daylight-saving changes are the library's, not ours. This module also reads
the API's ``schedule_details`` object (one validation path for the API and the pages).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.utils import timezone as django_timezone
from django.utils.dateparse import parse_datetime

ONCE, INTERVAL, CRON = "once", "interval", "cron"
_KEYS = {ONCE: {"run_at"}, INTERVAL: {"interval_seconds", "start_at"}, CRON: {"cron", "timezone"}}
_KIND_BY_KEY = {"run_at": ONCE, "interval_seconds": INTERVAL, "cron": CRON}
MAX_INTERVAL_SECONDS = 366 * 24 * 3600


class ScheduleInvalid(Exception):
    """``schedule_details`` cannot be used; ``errors`` maps each key to its problems."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Schedule:
    kind: str
    run_at: datetime | None = None
    interval_seconds: int | None = None
    start_at: datetime | None = None
    cron: str = ""
    timezone: str = ""

    def apscheduler_trigger(self, *, expires_at: datetime | None = None) -> BaseTrigger:
        if self.kind == ONCE:
            return DateTrigger(run_date=self.run_at, timezone=UTC)
        if self.kind == INTERVAL:
            return IntervalTrigger(
                seconds=self.interval_seconds, start_date=self.start_at, end_date=expires_at, timezone=UTC
            )
        return CronTrigger(
            **_cron_fields(self.cron), timezone=self.timezone, start_date=self.start_at, end_date=expires_at
        )

    def first_fire_at(self, *, now: datetime, expires_at: datetime | None = None) -> datetime | None:
        """The earliest slot at or after ``now`` (``run_at`` itself for a one-time schedule)."""
        if self.kind == ONCE:
            run_at = _utc(self.apscheduler_trigger().get_next_fire_time(None, now))
            if run_at is None or run_at < now or (expires_at is not None and run_at > expires_at):
                return None
            return run_at
        return _utc(self.apscheduler_trigger(expires_at=expires_at).get_next_fire_time(None, now))

    def next_fire_after(self, slot: datetime, *, now: datetime, expires_at: datetime | None = None) -> datetime | None:
        """The slot to fire after ``slot`` has fired at ``now``.

        Slots missed while the scheduler was down are coalesced: the caller fires one
        event for ``slot`` and this returns the first slot after ``now``, so the
        cadence resumes without a burst of old slots.
        """
        if self.kind == ONCE:
            return None
        trigger = self.apscheduler_trigger(expires_at=expires_at)
        following = self._once_per_wall_time(trigger, slot, _utc(trigger.get_next_fire_time(slot, now)))
        if following is None or following > now:
            return following
        upcoming = self._once_per_wall_time(trigger, slot, _utc(trigger.get_next_fire_time(None, now)))
        if upcoming is not None and upcoming <= slot:
            return None
        return upcoming

    def _once_per_wall_time(self, trigger: BaseTrigger, slot: datetime, candidate: datetime | None) -> datetime | None:
        """A fixed-time cron ("30 1 * * *") fires once per local wall-clock time, as cron does.

        When daylight saving ends, an hour repeats and APScheduler would fire 01:30 in
        both passes; the second pass's times are skipped. Crons with "*" in the minute
        or hour field keep firing through the repeated hour (cron's rule too).
        """
        if self.kind != CRON or candidate is None:
            return candidate
        minute, hour = self.cron.split()[:2]
        if minute.startswith("*") or hour.startswith("*"):
            return candidate
        zone = zoneinfo.ZoneInfo(self.timezone)
        fired_wall_time = slot.astimezone(zone).replace(tzinfo=None)
        if candidate.astimezone(zone).replace(tzinfo=None) > fired_wall_time:
            return candidate
        # Ask again from just after that wall-clock time's second (standard-time) pass.
        after_repeat = fired_wall_time.replace(tzinfo=zone, fold=1).astimezone(UTC) + timedelta(microseconds=1)
        return _utc(trigger.get_next_fire_time(None, after_repeat))


def schedule_from_details(
    details: Any, *, default_timezone: str, now: datetime, previous: Schedule | None = None
) -> Schedule:
    """Read the API's ``schedule_details`` object into a :class:`Schedule`.

    Date-times without an offset are read in ``default_timezone`` (the user's zone).
    ``previous`` is the stored schedule on an edit: an unchanged ``run_at`` or
    ``start_at`` may then lie in the past.
    """
    if not isinstance(details, dict):
        raise ScheduleInvalid({"non_field_errors": ['Must be an object such as {"run_at": "…"}.']})
    kinds = {_KIND_BY_KEY[key] for key in details if key in _KIND_BY_KEY}
    if len(kinds) != 1:
        raise ScheduleInvalid(
            {
                "non_field_errors": [
                    'Give exactly one schedule: {"run_at"}, {"interval_seconds", "start_at"?} or {"cron", "timezone"?}.'
                ]
            }
        )
    kind = kinds.pop()
    errors: dict[str, list[str]] = {}
    for key in sorted(set(details) - _KEYS[kind]):
        errors[key] = [f"Unknown key for a {kind} schedule; allowed: {', '.join(sorted(_KEYS[kind]))}."]

    if kind == ONCE:
        run_at = _read_datetime(details.get("run_at"), "run_at", default_timezone, errors)
        if run_at is not None and run_at <= now and not (previous and previous.run_at == run_at):
            errors.setdefault("run_at", []).append("Must be in the future.")
        _raise_if(errors)
        return Schedule(kind=ONCE, run_at=run_at)

    if kind == INTERVAL:
        seconds = details.get("interval_seconds")
        minimum = settings.TRIGGER_MIN_INTERVAL_SECONDS
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            errors["interval_seconds"] = ["Must be a whole number of seconds."]
        elif seconds < minimum:
            errors["interval_seconds"] = [f"Must be at least {minimum} seconds."]
        elif seconds > MAX_INTERVAL_SECONDS:
            errors["interval_seconds"] = [f"Must be at most {MAX_INTERVAL_SECONDS} seconds (366 days)."]
        start_at = now
        if details.get("start_at") is not None:
            start_at = _read_datetime(details.get("start_at"), "start_at", default_timezone, errors)
        elif previous is not None and previous.kind == INTERVAL and previous.start_at is not None:
            start_at = previous.start_at  # keep the slots where they were
        _raise_if(errors)
        return Schedule(kind=INTERVAL, interval_seconds=seconds, start_at=start_at)

    expression = details.get("cron")
    zone = details.get("timezone", default_timezone)
    if not isinstance(expression, str) or not expression.strip():
        errors["cron"] = ['Must be a cron expression of five fields, such as "*/5 * * * *".']
    else:
        expression = " ".join(expression.split())
        try:
            CronTrigger(**_cron_fields(expression), timezone=UTC)
        except ValueError as error:
            errors["cron"] = [f"Not a valid cron expression: {error}."]
    if not isinstance(zone, str) or not _is_zone(zone):
        errors["timezone"] = ["Must be an IANA time zone name, such as Asia/Kolkata."]
    _raise_if(errors)
    start_at = previous.start_at if previous is not None and previous.kind == CRON and previous.start_at else now
    return Schedule(kind=CRON, cron=expression, timezone=zone, start_at=start_at)


_WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_NUMERIC_WEEKDAYS = re.compile(r"^[\d*/,\-]+$")


def _cron_fields(expression: str) -> dict[str, str]:
    """Split a standard 5-field crontab into APScheduler's fields.

    APScheduler 3 numbers weekdays from Monday = 0; crontab numbers them from
    Sunday = 0 (and 7). Numeric weekday fields are rewritten as day names so
    "1-5" means Monday to Friday, as every cron user expects.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    return {
        "minute": minute,
        "hour": hour,
        "day": day,
        "month": month,
        "day_of_week": _weekday_names(weekday),
    }


def _weekday_names(field: str) -> str:
    if field == "*" or not _NUMERIC_WEEKDAYS.match(field):
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step must be at least 1 in weekday field {field!r}")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first_text, _, last_text = span.partition("-")
            first, last = int(first_text), int(last_text)
        else:
            first = last = int(span)
            if step_text:
                last = 6
        if not (0 <= first <= 7 and 0 <= last <= 7) or first > last:
            raise ValueError(f"weekday values run from 0 (Sunday) to 7 (Sunday); got {part!r}")
        days.update(number % 7 for number in range(first, last + 1, step))
    return ",".join(_WEEKDAY_NAMES[number] for number in sorted(days))


def _read_datetime(value: Any, key: str, zone: str, errors: dict[str, list[str]]) -> datetime | None:
    parsed = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        errors[key] = ["Must be an ISO 8601 date-time, such as 2026-12-01T09:30:00+05:30."]
        return None
    if django_timezone.is_naive(parsed):
        parsed = django_timezone.make_aware(parsed, zoneinfo.ZoneInfo(zone))
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past datetime.max in UTC
        errors[key] = ["Out of range."]
        return None


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ScheduleInvalid(errors)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None
