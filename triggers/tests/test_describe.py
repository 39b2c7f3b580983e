from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triggers.describe import describe_cron, describe_schedule
from triggers.models import Trigger
from triggers.schedules import cron_next

# The shared conftest clears the database cache around every test, so even these need the test database.
pytestmark = pytest.mark.django_db

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")


def scheduled(**fields: object) -> Trigger:
    return Trigger(name="t", type=Trigger.Type.SCHEDULED, **fields)


def test_it_describes_a_one_time_schedule_in_the_readers_zone() -> None:
    trigger = scheduled(schedule_kind="once", run_at=datetime(2026, 12, 1, 4, 30, tzinfo=UTC))

    assert describe_schedule(trigger, zone=KOLKATA) == "once at 1 Dec 2026, 10:00 (Asia/Kolkata)"
    assert describe_schedule(trigger, zone=zoneinfo.ZoneInfo("UTC")) == "once at 1 Dec 2026, 04:30 (UTC)"


def test_it_shows_seconds_of_a_one_time_schedule_only_when_there_are_some() -> None:
    trigger = scheduled(schedule_kind="once", run_at=datetime(2026, 12, 1, 4, 30, 15, tzinfo=UTC))

    assert describe_schedule(trigger, zone=KOLKATA) == "once at 1 Dec 2026, 10:00:15 (Asia/Kolkata)"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (60, "every minute"),
        (300, "every 5 minutes"),
        (90, "every 90 seconds"),
        (7200, "every 2 hours"),
        (5400, "every 90 minutes"),
        (86400, "every day"),
        (3 * 86400, "every 3 days"),
        (61, "every 61 seconds"),
    ],
)
def test_it_describes_an_interval_in_its_largest_exact_unit(seconds: int, words: str) -> None:
    trigger = scheduled(schedule_kind="interval", interval_seconds=seconds)

    assert describe_schedule(trigger, zone=KOLKATA) == words


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 9 * * 1-5", "at 09:00 on weekdays (Asia/Kolkata)"),
        ("0 9 * * mon-fri", "at 09:00 on weekdays (Asia/Kolkata)"),
        ("30 18 * * 0,6", "at 18:30 on weekends (Asia/Kolkata)"),
        ("30 18 * * 6,7", "at 18:30 on weekends (Asia/Kolkata)"),
        ("15 7 * * *", "at 07:15 every day (Asia/Kolkata)"),
        ("15 7 * * 0-6", "at 07:15 every day (Asia/Kolkata)"),
        ("0 9 * * 1,3,5", "at 09:00 on Mondays, Wednesdays and Fridays (Asia/Kolkata)"),
        ("0 9 * * 0", "at 09:00 on Sundays (Asia/Kolkata)"),
        ("0 9 * * SUN,mon", "at 09:00 on Mondays and Sundays (Asia/Kolkata)"),
        ("0 9 1 * *", "at 09:00 on day 1 of every month (Asia/Kolkata)"),
        ("*/5 * * * *", "every 5 minutes"),
        ("* * * * *", "every minute"),
        ("*/1 * * * *", "every minute"),
        ("30 * * * *", "at minute 30 of every hour"),
        ("0 * * * *", "every hour, on the hour"),
        ("0 */2 * * *", "every 2 hours (Asia/Kolkata)"),
        ("15 */3 * * *", "every 3 hours, at minute 15 (Asia/Kolkata)"),
        ("0 9 * * sat-sun", "at 09:00 on weekends (Asia/Kolkata)"),
        ("0 9 * * 1-5/2", "at 09:00 on Mondays, Wednesdays and Fridays (Asia/Kolkata)"),
        ("0 9 * * 0,sat", "at 09:00 on weekends (Asia/Kolkata)"),
        ("0 9 13 * 5", "at 09:00 on day 13 of every month and on Fridays (Asia/Kolkata)"),
        ("0 9,17 * * *", "at 09:00 and 17:00 every day (Asia/Kolkata)"),
        ("0 9 * 1 *", "at 09:00 every day in January (Asia/Kolkata)"),
        ("0 0 1 jan-dec/3 *", "at 00:00 on day 1 of the month in January, April, July and October (Asia/Kolkata)"),
        ("0 0 1-7,15 * *", "at 00:00 on days 1 to 7 and 15 of every month (Asia/Kolkata)"),
        (
            "0 0 */2 * 1",
            "at 00:00 on Mondays that fall on days 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, "
            "29 and 31 of every month (Asia/Kolkata)",
        ),
        ("*/15 * * * 1-5", "every 15 minutes on weekdays (Asia/Kolkata)"),
        ("5,35 * * * *", "at minutes 5 and 35 of every hour"),
        ("@weekly", "at 00:00 on Sundays (Asia/Kolkata)"),
    ],
)
def test_it_phrases_common_cron_expressions(expression: str, words: str) -> None:
    trigger = scheduled(schedule_kind="cron", cron_expression=expression, cron_timezone="Asia/Kolkata")

    assert describe_schedule(trigger, zone=zoneinfo.ZoneInfo("UTC")) == words


@pytest.mark.parametrize(
    "expression",
    ["*/7 9-17 * * 1-5", "0 1,3,5,7,9 * * *", "0-4,6 * * * *", "0 9 * * 1-5#2", "61 * * * *"],
)
def test_it_falls_back_to_the_expression_and_its_zone_for_other_cron_expressions(expression: str) -> None:
    trigger = scheduled(schedule_kind="cron", cron_expression=expression, cron_timezone="Europe/Paris")

    assert describe_schedule(trigger, zone=KOLKATA) == f"cron `{expression}` (Europe/Paris)"


def test_it_describes_an_api_trigger_by_how_it_fires() -> None:
    trigger = Trigger(name="t", type=Trigger.Type.API)

    assert describe_schedule(trigger, zone=KOLKATA) == "when its fire endpoint is called"


# Property: the days the words name are the days the schedule fires, over a year.

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_LONG_DAYS = ["Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays"]
_LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December"]  # fmt: skip
_ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]


def _field(values: st.SearchStrategy[str], low: int, high: int) -> st.SearchStrategy[str]:
    """One crontab field: "*", "*/n", a value, a range, a range with a step, or a list of those."""
    number = st.integers(low, high)

    def ranged(pair: tuple[int, int]) -> tuple[int, int]:
        return (min(pair), max(pair))

    bounds = st.tuples(number, number).map(ranged)
    part = st.one_of(
        values,
        bounds.map(lambda pair: f"{pair[0]}-{pair[1]}"),
        st.tuples(bounds, st.integers(1, 4)).map(lambda item: f"{item[0][0]}-{item[0][1]}/{item[1]}"),
    )
    return st.one_of(
        st.just("*"),
        st.integers(2, 9).map(lambda step: f"*/{step}"),
        st.lists(part, min_size=1, max_size=3).map(",".join),
    )


_DAY_OF_MONTH = _field(st.integers(1, 31).map(str), 1, 31)
_MONTH = st.one_of(
    _field(st.integers(1, 12).map(str), 1, 12),
    st.lists(st.sampled_from(_MONTHS), min_size=1, max_size=3).map(",".join),
    st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(1, 4)).map(
        lambda item: f"{_MONTHS[min(item[:2])]}-{_MONTHS[max(item[:2])]}/{item[2]}"
    ),
)
_WEEKDAY_VALUE = st.one_of(st.integers(0, 7).map(str), st.sampled_from(_WEEKDAY_NAMES))
_DAY_OF_WEEK = st.one_of(
    _field(_WEEKDAY_VALUE, 0, 7),
    st.lists(_WEEKDAY_VALUE, min_size=1, max_size=3).map(",".join),
    st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 3)).map(
        lambda item: f"{_WEEKDAY_NAMES[min(item[:2])]}-{_WEEKDAY_NAMES[max(item[:2])]}/{item[2]}"
    ),
    st.sampled_from(["sun-sat", "SUN-THU", "sat-sun", "SUN,7", "7,sat", "0,sat", "1,sat", "mon-sun"]),
)


def _numbers(text: str) -> set[int]:
    """ "1, 3 to 5 and 9" -> {1, 3, 4, 5, 9}"""
    numbers: set[int] = set()
    for item in text.replace(" and ", ", ").split(", "):
        first, _, last = item.partition(" to ")
        numbers.update(range(int(first), int(last or first) + 1))
    return numbers


def _weekdays_in_words(text: str) -> set[int]:
    if text == "every day":
        return set(range(7))
    text = text.removeprefix("on ")
    if text == "weekdays":
        return {1, 2, 3, 4, 5}
    if text == "weekends":
        return {0, 6}
    return {_LONG_DAYS.index(name) for name in text.replace(" and ", ", ").split(", ")}


def _month_days_in_words(text: str) -> set[int]:
    text = text.removeprefix("on ").removeprefix("days ").removeprefix("day ")
    return _numbers(text.removesuffix(" of every month").removesuffix(" of the month"))


def _days_in_words(words: str) -> Callable[[date], bool]:
    """The day rule the words state, read back from them (the grammar ``describe_cron`` writes)."""
    months = set(range(1, 13))
    if " in " in words:
        words, _, month_names = words.partition(" in ")
        months = {_LONG_MONTHS.index(name) + 1 for name in month_names.replace(" and ", ", ").split(", ")}
    month_days, weekdays, either = set(range(1, 32)), set(range(7)), False
    if words == "every day":
        pass
    elif " that fall " in words:
        weekday_words, _, day_words = words.partition(" that fall ")
        weekdays, month_days = _weekdays_in_words(weekday_words), _month_days_in_words(day_words)
    elif "month and " in words:
        day_words, _, weekday_words = words.partition("month and ")
        month_days, weekdays, either = (
            _month_days_in_words(day_words + "month"),
            _weekdays_in_words(weekday_words),
            True,
        )
    elif "month" in words:
        month_days = _month_days_in_words(words)
    else:
        weekdays = _weekdays_in_words(words)

    def matches(day: date) -> bool:
        in_days, in_weekdays = day.day in month_days, day.isoweekday() % 7 in weekdays
        return day.month in months and ((in_days or in_weekdays) if either else (in_days and in_weekdays))

    return matches


def _fired_days(expression: str, zone: str, year: int) -> set[date]:
    local = ZoneInfo(zone)
    moment = datetime(year, 1, 1, tzinfo=local)
    end = datetime(year + 1, 1, 1, tzinfo=local)
    days: set[date] = set()
    while (moment := cron_next(expression, zone, at_or_after=moment)) is not None and moment < end:
        days.add(moment.astimezone(local).date())
        moment += timedelta(microseconds=1)
    return days


@settings(max_examples=100, derandomize=True, deadline=None)
@given(day=_DAY_OF_MONTH, month=_MONTH, weekday=_DAY_OF_WEEK, zone=st.sampled_from(_ZONES))
def test_the_described_days_are_the_days_it_fires_for_a_year(day: str, month: str, weekday: str, zone: str) -> None:
    expression = f"30 2 {day} {month} {weekday}"
    words = describe_cron(expression, zone)
    assert words.startswith("at 02:30 "), words
    assert words.endswith(f" ({zone})"), words
    rule = _days_in_words(words.removeprefix("at 02:30 ").removesuffix(f" ({zone})"))

    year = [date(2027, 1, 1) + timedelta(days=offset) for offset in range(365)]
    assert _fired_days(expression, zone, 2027) == {day for day in year if rule(day)}, words
