"""Schedule arithmetic: which instants a trigger fires at.

Cron expressions are read once by :func:`parse_cron`, with crontab's (cronie's) meaning,
into numeric field sets that both the firing and the words on the pages
(``triggers.describe``) use. The calendar arithmetic is APScheduler's:
``IntervalTrigger`` and ``CronTrigger`` ``.get_next_fire_time`` (crontab's day-of-month
OR day-of-week rule as the earlier of two ``CronTrigger``s). How wall times map to
instants across daylight-saving changes is decided here, in :func:`cron_next`. The
rules, with examples, are in docs/scheduling.md. This module also reads the API's
``schedule_details`` object (one validation path for the API and the pages).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.utils.dateparse import parse_datetime

from accounts.timezones import canonical_timezone

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

    def first_fire_at(self, *, now: datetime, expires_at: datetime | None = None) -> datetime | None:
        """The earliest slot at or after ``now`` and before ``expires_at`` (a one-time schedule's ``run_at``)."""
        if self.kind == ONCE:
            run_at = self.run_at
            return _before(run_at if run_at is not None and run_at >= now else None, expires_at)
        return _before(self._next_after(now - _TICK), expires_at)

    def next_fire_after(self, slot: datetime, *, now: datetime, expires_at: datetime | None = None) -> datetime | None:
        """The slot to fire after ``slot`` has fired at ``now`` (None at or after ``expires_at``).

        Slots missed while the scheduler was down are coalesced: the caller fires one
        event for ``slot`` and this returns the first slot at or after ``now``, so the
        cadence resumes without a burst of old slots.
        """
        if self.kind == ONCE:
            return None
        following = self._next_after(slot)
        if following is None or following > now:
            return _before(following, expires_at)
        return _before(self._next_after(max(now - _TICK, slot)), expires_at)

    def _next_after(self, moment: datetime) -> datetime | None:
        """The first slot strictly after ``moment`` and at or after ``start_at``."""
        starts_later = self.start_at is not None and self.start_at > moment
        at_or_after = self.start_at if starts_later else moment + _TICK
        if self.kind == INTERVAL:
            trigger = IntervalTrigger(seconds=self.interval_seconds, start_date=self.start_at, timezone=UTC)
            return _utc(trigger.get_next_fire_time(None, at_or_after))
        return cron_next(self.cron, self.timezone, at_or_after=at_or_after)


_TICK = timedelta(microseconds=1)
# Longer than any daylight-saving jump in the tz database (some were two hours).
_LONGEST_GAP = timedelta(hours=3)


def cron_next(expression: str, zone_name: str, *, at_or_after: datetime) -> datetime | None:
    """The first instant at or after ``at_or_after`` at which the cron fires in ``zone_name``.

    APScheduler's ``CronTrigger`` does the calendar arithmetic. A fixed-time cron is
    walked in wall-clock time (a trigger in UTC standing for the zone's naive clock) and
    each wall time is then placed in the zone with ``fold=0``: a time skipped by a
    spring-forward gap fires shifted by the gap (02:30 becomes 03:30), and a repeated
    time fires in its first pass only. A cron with ``*`` in its minute or hour field
    follows the real clock in the zone instead. docs/scheduling.md has the rules.
    """
    spec = parse_cron(expression)
    if not spec.can_fire():
        return None
    zone = zoneinfo.ZoneInfo(zone_name)
    if not spec.fixed_time:
        return _earliest(_cron_triggers(expression, zone_name), at_or_after)
    # Wall times shifted out of a gap that just ended lie before the present wall time.
    lookback = at_or_after.astimezone(zone).utcoffset() - (at_or_after - _LONGEST_GAP).astimezone(zone).utcoffset()
    wall = (at_or_after.astimezone(zone) - max(lookback, timedelta(0))).replace(tzinfo=UTC)
    wall_triggers = _cron_triggers(expression, "UTC")
    # Only wall times inside a repeated hour or a gap can map before ``at_or_after``: a few dozen at most.
    for _ in range(4 * 60):
        candidate = _earliest(wall_triggers, wall)
        if candidate is None:
            return None
        instant = candidate.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if instant >= at_or_after:
            return instant
        wall = candidate + _TICK
    return None


@lru_cache(maxsize=1024)
def _cron_triggers(expression: str, zone_name: str) -> tuple[CronTrigger, ...]:
    spec = parse_cron(expression)
    return tuple(CronTrigger(**fields, timezone=zone_name) for fields in spec.apscheduler_fields())


def _earliest(triggers: tuple[CronTrigger, ...], at_or_after: datetime) -> datetime | None:
    found = [moment for trigger in triggers if (moment := trigger.get_next_fire_time(None, at_or_after)) is not None]
    return _utc(min(found)) if found else None


def _before(moment: datetime | None, expires_at: datetime | None) -> datetime | None:
    """``expires_at`` is exclusive: a slot at that very instant does not fire."""
    if moment is None or (expires_at is not None and moment >= expires_at):
        return None
    return moment


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
        run_at = read_datetime(details.get("run_at"), "run_at", default_timezone, errors)
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
            start_at = read_datetime(details.get("start_at"), "start_at", default_timezone, errors)
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
            spec = parse_cron(expression)
        except ValueError as error:
            errors["cron"] = [f"Not a valid cron expression: {error}."]
        else:
            if not spec.can_fire():
                errors["cron"] = ["This expression never fires: no month it names has that day of the month."]
    if isinstance(zone, str):
        # Any letter case is the same zone; it is stored in the zone database's spelling.
        zone = canonical_timezone(zone) or zone
    if not isinstance(zone, str) or not _is_zone(zone):
        errors["timezone"] = ["Must be an IANA time zone name, such as Asia/Kolkata."]
    _raise_if(errors)
    start_at = previous.start_at if previous is not None and previous.kind == CRON and previous.start_at else now
    return Schedule(kind=CRON, cron=expression, timezone=zone, start_at=start_at)


_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_DAYS_IN_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
# cronie's shorthands; @reboot has no meaning for a scheduler that is not a machine's init.
_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
CRON_MAX_LENGTH = 120
_PART = re.compile(r"^(?:(\*)|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:/(\d+))?$")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, tuple(_MONTH_NAMES), 1),
    # 7 is Sunday too; normalised to 0 after parsing.
    _Field("day-of-week", 0, 7, tuple(_WEEKDAY_NAMES), 0),
)


@dataclass(frozen=True)
class CronSpec:
    """A crontab expression read once, as crontab (cronie) reads it; firing and words both use it.

    Day-of-week numbers run from Sunday = 0 (7 is Sunday too). When both day fields are
    restricted, a day matches if *either* does; a field that starts with ``*`` (``*``,
    ``*/2``) is unrestricted for that rule, as in cronie. ``fixed_time`` is true unless
    the minute or the hour field starts with ``*``: a fixed-time cron fires once per wall
    time across daylight-saving changes (docs/scheduling.md).
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool
    fixed_time: bool

    @property
    def days_either(self) -> bool:
        """Both day fields restricted: a day matches when either matches (crontab's OR)."""
        return self.days_restricted and self.weekdays_restricted

    def matches_date(self, day: date) -> bool:
        """Whether the cron fires on ``day`` (a local calendar date)."""
        if day.month not in self.months:
            return False
        day_match = day.day in self.days
        weekday_match = (day.isoweekday() % 7) in self.weekdays
        if self.days_either:
            return day_match or weekday_match
        return day_match and weekday_match

    def can_fire(self) -> bool:
        """False when no date ever matches (say the 31st of February, April, June...).

        Only the day-of-month can make a cron impossible: every weekday comes round in
        every month, and every existing (month, day) falls on every weekday over the years.
        """
        if self.days_either:
            return True
        return any(day <= _DAYS_IN_MONTH[month] for month in self.months for day in self.days)

    def apscheduler_fields(self) -> list[dict[str, str]]:
        """APScheduler ``CronTrigger`` fields, one set per trigger whose union is this cron.

        APScheduler ANDs day and day_of_week, so crontab's OR becomes two triggers
        (days only, weekdays only) and the next firing is the earlier of the two.
        APScheduler numbers weekdays from Monday = 0.
        """
        common = {
            "minute": _numbers(self.minutes, 60),
            "hour": _numbers(self.hours, 24),
            "month": _numbers(self.months, 12),
        }
        days = _numbers(self.days, 31)
        weekdays = _numbers(frozenset((number - 1) % 7 for number in self.weekdays), 7)
        if self.days_either:
            return [{**common, "day": days}, {**common, "day_of_week": weekdays}]
        return [{**common, "day": days, "day_of_week": weekdays}]


def _numbers(values: frozenset[int], size: int) -> str:
    return "*" if len(values) == size else ",".join(str(value) for value in sorted(values))


@lru_cache(maxsize=1024)
def parse_cron(expression: str) -> CronSpec:
    """Read a five-field crontab expression (or a cronie shorthand such as ``@daily``).

    Raises ``ValueError`` naming the field and the problem. Cached: the dispatcher and
    the pages read the same few expressions again and again.
    """
    if len(expression) > CRON_MAX_LENGTH:
        raise ValueError(f"at most {CRON_MAX_LENGTH} characters")
    text = " ".join(expression.lower().split())
    text = _NICKNAMES.get(text, text)
    if text.startswith("@"):
        raise ValueError(f"unknown shorthand {text!r}; use one of {', '.join(_NICKNAMES)}")
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5 (minute hour day month weekday)")
    minutes, hours, days, months, weekdays = (
        _parse_field(field, spec) for field, spec in zip(fields, _FIELDS, strict=True)
    )
    return CronSpec(
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=frozenset(number % 7 for number in weekdays),
        days_restricted=not fields[2].startswith("*"),
        weekdays_restricted=not fields[4].startswith("*"),
        fixed_time=not (fields[0].startswith("*") or fields[1].startswith("*")),
    )


def _parse_field(field: str, spec: _Field) -> frozenset[int]:
    values: set[int] = set()
    for part in field.split(","):
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"{spec.name} field: cannot read {part!r}")
        star, first_text, last_text, step_text = match.groups()
        step = int(step_text) if step_text is not None else 1
        if step < 1:
            raise ValueError(f"{spec.name} field: step must be at least 1 in {part!r}")
        if star:
            first, last = spec.low, spec.high
            if spec.name == "day-of-week":
                last = 6  # 0-6 already names every day; 7 would repeat Sunday within a step
        else:
            first = _value(first_text, spec, part)
            if last_text is not None:
                last = _value(last_text, spec, part)
                if spec.name == "day-of-week" and last_text == "sun":
                    last = 7  # "sat-sun", "mon-sun": Sunday as the end of a range is day 7
            else:
                # "5/15" runs from 5 to the field's end, as APScheduler and Vixie cron read it.
                last = spec.high if step_text is not None else first
            if first > last:
                raise ValueError(f"{spec.name} field: range {part!r} runs backwards")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _value(text: str, spec: _Field, part: str) -> int:
    if text.isdigit():
        number = int(text)
    elif text[:3] in spec.names and len(text) == 3:
        number = spec.names.index(text) + spec.name_base
    else:
        names = f" or a name ({spec.names[0]}-{spec.names[-1]})" if spec.names else ""
        raise ValueError(f"{spec.name} field: {text!r} in {part!r} is not a number{names}")
    if not spec.low <= number <= spec.high:
        raise ValueError(f"{spec.name} field: {number} is outside {spec.low}-{spec.high}")
    return number


def read_datetime(value: Any, key: str, zone: str, errors: dict[str, list[str]]) -> datetime | None:
    """``value`` (a date-time or ISO 8601 text) as a UTC instant, read in ``zone`` when it has
    no offset; None, with the problem recorded in ``errors[key]``, when it is not one."""
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
    try:
        return aware_in_zone(parsed, zone)
    except LocalTimeInvalid as invalid:
        errors[key] = [invalid.message]
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past datetime.max in UTC
        errors[key] = ["Out of range."]
    return None


class LocalTimeInvalid(ValueError):
    """A date-time without an offset that names no instant in the zone (a daylight-saving gap)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def aware_in_zone(value: datetime, zone_name: str) -> datetime:
    """``value`` as a UTC instant; a value without an offset is read in ``zone_name``.

    A wall time skipped by a daylight-saving gap is refused (:class:`LocalTimeInvalid`):
    any instant we picked would be a guess. A wall time that happens twice when clocks go
    back is read as its first occurrence, the same rule fixed-time crons follow; an
    offset in the value chooses the second. Converted to UTC, not kept at its own
    offset: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        zone = zoneinfo.ZoneInfo(zone_name)
        local = value.replace(tzinfo=zone, fold=0)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value.replace(fold=0):
            before = value.replace(tzinfo=zone, fold=0).utcoffset()
            after = value.replace(tzinfo=zone, fold=1).utcoffset()
            raise LocalTimeInvalid(
                f"{value.isoformat()} does not exist in {zone_name}: the clocks skip it when daylight saving "
                f"starts (UTC{_offset(before)} to UTC{_offset(after)}). Give a time outside the gap or an offset."
            )
        value = local
    return value.astimezone(UTC)


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


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
