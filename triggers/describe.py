"""A trigger's schedule in words, for the pages ("every 5 minutes", "at 09:00 on weekdays (Asia/Kolkata)").

Only the shapes people write most often are phrased; anything else falls back to the
expression itself with its zone, which is always correct if less friendly.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, tzinfo

from django.utils import timezone as django_timezone

from triggers.models import Trigger

_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))
_DAY_NAMES = ["Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays"]
_DAY_NUMBERS = {name: number for number, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_WEEKDAYS, _WEEKEND, _EVERY_DAY = {1, 2, 3, 4, 5}, {0, 6}, set(range(7))
_NUMBER = re.compile(r"^\d+$")
_EVERY_N = re.compile(r"^\*/(\d+)$")


def describe_schedule(trigger: Trigger, *, zone: tzinfo) -> str:
    """The trigger's firing rule in words; one-time moments are shown in ``zone`` (the reader's)."""
    if trigger.type == Trigger.Type.API:
        return "when its fire endpoint is called"
    if trigger.schedule_kind == Trigger.ScheduleKind.ONCE and trigger.run_at is not None:
        return f"once at {format_moment(trigger.run_at, zone)}"
    if trigger.schedule_kind == Trigger.ScheduleKind.INTERVAL and trigger.interval_seconds:
        return describe_interval(trigger.interval_seconds)
    if trigger.schedule_kind == Trigger.ScheduleKind.CRON:
        return describe_cron(trigger.cron_expression, trigger.cron_timezone)
    return "no schedule"


def format_moment(moment: datetime, zone: tzinfo) -> str:
    """``1 Dec 2026, 10:00 (Asia/Kolkata)``; seconds only when there are some."""
    local = django_timezone.localtime(moment, zone)
    clock = local.strftime("%H:%M:%S" if local.second else "%H:%M")
    return f"{local.day} {local:%b %Y}, {clock} ({_zone_name(zone)})"


def describe_interval(seconds: int) -> str:
    """``every 5 minutes``: the largest unit that divides the interval exactly."""
    for size, unit in _UNITS:
        if seconds % size == 0:
            count = seconds // size
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return f"every {seconds} seconds"  # unreachable: every whole number divides by 1


def describe_cron(expression: str, zone_name: str) -> str:
    fields = expression.split()
    phrase = _cron_phrase(fields) if len(fields) == 5 else None
    if phrase is None:
        return f"cron `{expression}` ({zone_name})"
    text, zoned = phrase
    return f"{text} ({zone_name})" if zoned else text


def _cron_phrase(fields: list[str]) -> tuple[str, bool] | None:
    """(words, whether the words depend on the zone), or None when not phrased."""
    minute, hour, day, month, weekday = fields
    if month != "*":
        return None
    any_day = day == "*" and weekday == "*"

    # Sub-hourly and hourly cadences read the same in every zone with whole-hour offsets.
    if hour == "*" and any_day:
        if minute == "*":
            return "every minute", False
        if step := _step(minute):
            return ("every minute" if step == 1 else f"every {step} minutes"), False
        if _NUMBER.match(minute):
            if int(minute) == 0:
                return "every hour, on the hour", False
            return f"at minute {int(minute)} of every hour", False
        return None
    if not _NUMBER.match(minute):
        return None
    if (step := _step(hour)) and any_day:
        every = "every hour" if step == 1 else f"every {step} hours"
        return (every if int(minute) == 0 else f"{every}, at minute {int(minute)}"), True
    if not _NUMBER.match(hour):
        return None

    clock = f"at {int(hour):02d}:{int(minute):02d}"
    if any_day:
        return f"{clock} every day", True
    if weekday == "*" and _NUMBER.match(day):
        return f"{clock} on day {int(day)} of every month", True
    if day != "*":
        return None
    days = _weekdays(weekday)
    if days is None:
        return None
    if days == _EVERY_DAY:
        return f"{clock} every day", True
    if days == _WEEKDAYS:
        return f"{clock} on weekdays", True
    if days == _WEEKEND:
        return f"{clock} on weekends", True
    # Monday first, as a calendar reads.
    names = [_DAY_NAMES[number] for number in sorted(days, key=lambda number: (number + 6) % 7)]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{clock} on {listed}", True


def _step(field: str) -> int | None:
    match = _EVERY_N.match(field)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def _weekdays(field: str) -> set[int] | None:
    """Crontab day-of-week field as day numbers (Sunday = 0; 7 is Sunday too); None if it has steps."""
    days: set[int] = set()
    for part in field.lower().split(","):
        first_text, _, last_text = part.partition("-")
        first, last = _day_number(first_text), _day_number(last_text or first_text)
        if first is None or last is None or first > last:
            return None
        days.update(number % 7 for number in range(first, last + 1))
    return days


def _day_number(text: str) -> int | None:
    if _NUMBER.match(text) and int(text) <= 7:
        return int(text)
    return _DAY_NUMBERS.get(text[:3]) if len(text) >= 3 else None


def _zone_name(zone: tzinfo) -> str:
    return zone.key if isinstance(zone, zoneinfo.ZoneInfo) else str(zone)
