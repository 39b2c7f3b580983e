"""A trigger's schedule in words, for the pages ("every 5 minutes", "at 09:00 on weekdays (Asia/Kolkata)").

A cron is phrased from :func:`triggers.schedules.parse_cron`, the parse that fires it, so
the words and the firing cannot disagree (a property test compares them over a year).
Times that do not read well in words fall back to the expression itself with its zone.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, tzinfo

from django.utils import timezone as django_timezone

from triggers.models import Trigger
from triggers.schedules import CronSpec, parse_cron

_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))
_DAY_NAMES = ["Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays"]
_MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_WEEKDAYS, _WEEKEND, _EVERY_DAY = frozenset({1, 2, 3, 4, 5}), frozenset({0, 6}), frozenset(range(7))
_ALL_MINUTES, _ALL_HOURS = frozenset(range(60)), frozenset(range(24))
_ALL_DAYS, _ALL_MONTHS = frozenset(range(1, 32)), frozenset(range(1, 13))
# Beyond this many times a day (or minutes an hour), the expression itself reads better.
_MAX_LISTED_TIMES = 4


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
    """The cron in words, from the same parse that fires it (``triggers.schedules.parse_cron``)."""
    try:
        spec = parse_cron(expression)
    except ValueError:
        spec = None
    phrase = _cron_phrase(spec) if spec is not None else None
    if phrase is None:
        return f"cron `{expression}` ({zone_name})"
    text, zoned = phrase
    return f"{text} ({zone_name})" if zoned else text


def _cron_phrase(spec: CronSpec) -> tuple[str, bool] | None:
    """(words, whether the words depend on the zone), or None when the times are not phrased."""
    days = _days_phrase(spec)
    every_day = days == ""
    all_hours = spec.hours == _ALL_HOURS

    # Sub-hourly and hourly cadences read the same in every zone with whole-hour offsets.
    if all_hours and (cadence := _minute_cadence(spec.minutes)) is not None:
        return (cadence if every_day else f"{cadence} {days}"), not every_day
    if len(spec.minutes) != 1:
        return None
    (minute,) = spec.minutes
    if all_hours or (step := _even_step(spec.hours, 24)) is not None:
        every = "every hour" if all_hours or step == 1 else f"every {step} hours"
        text = every if minute == 0 else f"{every}, at minute {minute}"
        return (text if every_day else f"{text} {days}"), True
    if len(spec.hours) > _MAX_LISTED_TIMES:
        return None
    clock = "at " + _listed([f"{hour:02d}:{minute:02d}" for hour in sorted(spec.hours)])
    return f"{clock} {days or 'every day'}", True


def _minute_cadence(minutes: frozenset[int]) -> str | None:
    if minutes == _ALL_MINUTES:
        return "every minute"
    if (step := _even_step(minutes, 60)) is not None:
        return f"every {step} minutes"
    if len(minutes) == 1:
        (minute,) = minutes
        return "every hour, on the hour" if minute == 0 else f"at minute {minute} of every hour"
    if len(minutes) <= _MAX_LISTED_TIMES:
        return f"at minutes {_listed([str(minute) for minute in sorted(minutes)])} of every hour"
    return None


def _even_step(values: frozenset[int], size: int) -> int | None:
    """N when ``values`` is 0, N, 2N… and N divides ``size`` (so the cadence is truly even)."""
    step = min((value for value in values if value), default=0)
    if step and size % step == 0 and values == frozenset(range(0, size, step)):
        return step
    return None


def _days_phrase(spec: CronSpec) -> str:
    """Which days fire, in words ("" for every day), as ``CronSpec.matches_date`` decides them."""
    all_days, all_weekdays = spec.days == _ALL_DAYS, spec.weekdays == _EVERY_DAY
    if spec.days_either:
        text = f"{_month_days(spec.days)} and {_weekday_phrase(spec.weekdays)}"
    elif all_days and all_weekdays:
        text = ""
    elif all_days:
        text = _weekday_phrase(spec.weekdays)
    elif all_weekdays:
        text = _month_days(spec.days)
    else:  # a day field like "*/2" narrows the other instead of adding to it (crontab's rule)
        text = f"{_weekday_phrase(spec.weekdays)} that fall {_month_days(spec.days)}"
    if spec.months != _ALL_MONTHS:
        months = _listed([_MONTH_NAMES[month - 1] for month in sorted(spec.months)])
        text = f"{text or 'every day'} in {months}".replace("of every month", "of the month")
    return text


def _month_days(days: frozenset[int]) -> str:
    if len(days) == 1:
        (day,) = days
        return f"on day {day} of every month"
    return f"on days {_listed(_runs(sorted(days)))} of every month"


def _runs(numbers: list[int]) -> list[str]:
    """[1, 2, 3, 5] -> ["1 to 3", "5"]: three or more in a row read as a range."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return [f"{run[0]} to {run[-1]}" if len(run) >= 3 else ", ".join(map(str, run)) for run in runs]


def _weekday_phrase(days: frozenset[int]) -> str:
    if days == _EVERY_DAY:
        return "every day"
    if days == _WEEKDAYS:
        return "on weekdays"
    if days == _WEEKEND:
        return "on weekends"
    # Monday first, as a calendar reads.
    return "on " + _listed([_DAY_NAMES[number] for number in sorted(days, key=lambda number: (number + 6) % 7)])


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _zone_name(zone: tzinfo) -> str:
    return zone.key if isinstance(zone, zoneinfo.ZoneInfo) else str(zone)
