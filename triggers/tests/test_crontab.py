"""Cron expressions mean what crontab (cronie) means, in UTC and across daylight-saving days.

Each row is an expression, a zone, a start and the next five firings as local wall
times with their offsets: what a cron user would write down by hand.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from triggers.schedules import CRON_MAX_LENGTH, cron_next, parse_cron

# The shared conftest clears the database cache around every test, so even these need the test database.
pytestmark = pytest.mark.django_db


def next_five(expression: str, zone: str, start: str) -> list[str]:
    """The next five firings at or after ``start`` (local wall time in ``zone``), as local ISO strings."""
    moment = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(zone))
    fired = []
    for _ in range(5):
        moment = cron_next(expression, zone, at_or_after=moment)
        assert moment is not None
        fired.append(moment.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes"))
        moment += timedelta(microseconds=1)
    return fired


CRONTAB = [
    # 1. Day-of-month and day-of-week both restricted: either matches (crontab's OR).
    ("0 0 13 * 5", ["01-02T00:00 Fri", "01-09T00:00 Fri", "01-13T00:00 Tue", "01-16T00:00 Fri", "01-23T00:00 Fri"]),
    ("0 9 1 * 1", ["01-01T09:00 Thu", "01-05T09:00 Mon", "01-12T09:00 Mon", "01-19T09:00 Mon", "01-26T09:00 Mon"]),
    # ...but a day field that starts with "*" narrows the other (cronie): Mondays on odd days.
    ("0 0 */2 * 1", ["01-05T00:00 Mon", "01-19T00:00 Mon", "02-09T00:00 Mon", "02-23T00:00 Mon", "03-09T00:00 Mon"]),
    # 2. Weekday numbers are crontab's (Sunday 0 or 7), mixed with names too.
    ("0 0 * * 0,sat", ["01-03T00:00 Sat", "01-04T00:00 Sun", "01-10T00:00 Sat", "01-11T00:00 Sun", "01-17T00:00 Sat"]),
    ("0 0 * * 1,sat", ["01-03T00:00 Sat", "01-05T00:00 Mon", "01-10T00:00 Sat", "01-12T00:00 Mon", "01-17T00:00 Sat"]),
    ("0 12 * * 5-7", ["01-02T12:00 Fri", "01-03T12:00 Sat", "01-04T12:00 Sun", "01-09T12:00 Fri", "01-10T12:00 Sat"]),
    # 3. Steps on name ranges step.
    (
        "0 0 * * mon-fri/2",
        ["01-02T00:00 Fri", "01-05T00:00 Mon", "01-07T00:00 Wed", "01-09T00:00 Fri", "01-12T00:00 Mon"],
    ),
    (
        "0 0 1 jan-dec/3 *",
        ["01-01T00:00 Thu", "04-01T00:00 Wed", "07-01T00:00 Wed", "10-01T00:00 Thu", "01-01T00:00 Fri"],
    ),
    # 4. Ranges and lists that start at Sunday by name, or use 7 beside names.
    (
        "0 0 * * SUN-THU",
        ["01-01T00:00 Thu", "01-04T00:00 Sun", "01-05T00:00 Mon", "01-06T00:00 Tue", "01-07T00:00 Wed"],
    ),
    (
        "0 0 * * sun-sat",
        ["01-01T00:00 Thu", "01-02T00:00 Fri", "01-03T00:00 Sat", "01-04T00:00 Sun", "01-05T00:00 Mon"],
    ),
    ("0 0 * * SUN,7", ["01-04T00:00 Sun", "01-11T00:00 Sun", "01-18T00:00 Sun", "01-25T00:00 Sun", "02-01T00:00 Sun"]),
    ("0 0 * * 7,sat", ["01-03T00:00 Sat", "01-04T00:00 Sun", "01-10T00:00 Sat", "01-11T00:00 Sun", "01-17T00:00 Sat"]),
    (
        "0 0 * * sat-sun",
        ["01-03T00:00 Sat", "01-04T00:00 Sun", "01-10T00:00 Sat", "01-11T00:00 Sun", "01-17T00:00 Sat"],
    ),
    # Steps, month lengths, shorthands.
    ("30 6 * * */2", ["01-01T06:30 Thu", "01-03T06:30 Sat", "01-04T06:30 Sun", "01-06T06:30 Tue", "01-08T06:30 Thu"]),
    ("0 0 31 * *", ["01-31T00:00 Sat", "03-31T00:00 Tue", "05-31T00:00 Sun", "07-31T00:00 Fri", "08-31T00:00 Mon"]),
    ("@monthly", ["01-01T00:00 Thu", "02-01T00:00 Sun", "03-01T00:00 Sun", "04-01T00:00 Wed", "05-01T00:00 Fri"]),
    (
        "15 10 * jan,jul mon",
        ["01-05T10:15 Mon", "01-12T10:15 Mon", "01-19T10:15 Mon", "01-26T10:15 Mon", "07-06T10:15 Mon"],
    ),
]


@pytest.mark.parametrize(("expression", "expected"), CRONTAB, ids=[row[0] for row in CRONTAB])
def test_it_fires_a_cron_on_the_days_crontab_fires_it(expression: str, expected: list[str]) -> None:
    fired = next_five(expression, "UTC", "2026-01-01T00:00")

    assert [f"{datetime.fromisoformat(moment):%m-%dT%H:%M %a}" for moment in fired] == expected
    assert all(moment.endswith("+00:00") for moment in fired)


DAYLIGHT_SAVING = [
    # Spring forward: both times in the skipped hour fire once, each shifted by the gap.
    (
        "0,30 2 * * *",
        "Europe/Berlin",
        "2026-03-28T00:00",
        ["2026-03-28T02:00+01:00", "2026-03-28T02:30+01:00", "2026-03-29T03:00+02:00", "2026-03-29T03:30+02:00",
         "2026-03-30T02:00+02:00"],
    ),
    (
        "0,30 2 * * *",
        "America/New_York",
        "2026-03-07T00:00",
        ["2026-03-07T02:00-05:00", "2026-03-07T02:30-05:00", "2026-03-08T03:00-04:00", "2026-03-08T03:30-04:00",
         "2026-03-09T02:00-04:00"],
    ),
    # Lord Howe moves its clocks by half an hour (02:00 to 02:30): 02:00 becomes 02:30, 02:15 becomes 02:45...
    (
        "0,15 2 * * *",
        "Australia/Lord_Howe",
        "2026-10-03T00:00",
        ["2026-10-03T02:00+10:30", "2026-10-03T02:15+10:30", "2026-10-04T02:30+11:00", "2026-10-04T02:45+11:00",
         "2026-10-05T02:00+11:00"],
    ),
    # ...so a skipped 02:00 and a real 02:30 are one instant, fired once (as cronie runs an entry once a minute).
    (
        "0,30 2 * * *",
        "Australia/Lord_Howe",
        "2026-10-03T00:00",
        ["2026-10-03T02:00+10:30", "2026-10-03T02:30+10:30", "2026-10-04T02:30+11:00", "2026-10-05T02:00+11:00",
         "2026-10-05T02:30+11:00"],
    ),
    # Fall back: a fixed time in the repeated hour fires in its first pass only.
    (
        "30 2 * * *",
        "Europe/Berlin",
        "2026-10-24T00:00",
        ["2026-10-24T02:30+02:00", "2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00", "2026-10-27T02:30+01:00",
         "2026-10-28T02:30+01:00"],
    ),
    (
        "30 1 * * *",
        "America/New_York",
        "2026-10-31T00:00",
        ["2026-10-31T01:30-04:00", "2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00", "2026-11-03T01:30-05:00",
         "2026-11-04T01:30-05:00"],
    ),
    (
        "45 1 * * *",
        "Australia/Lord_Howe",
        "2026-04-04T00:00",
        ["2026-04-04T01:45+11:00", "2026-04-05T01:45+11:00", "2026-04-06T01:45+10:30", "2026-04-07T01:45+10:30",
         "2026-04-08T01:45+10:30"],
    ),
    # "*" in the minute or hour: the real clock, both passes of a repeated hour, nothing in a gap.
    (
        "*/30 * * * *",
        "America/New_York",
        "2026-11-01T00:45",
        ["2026-11-01T01:00-04:00", "2026-11-01T01:30-04:00", "2026-11-01T01:00-05:00", "2026-11-01T01:30-05:00",
         "2026-11-01T02:00-05:00"],
    ),
    (
        "*/30 * * * *",
        "Europe/Berlin",
        "2026-03-29T01:00",
        ["2026-03-29T01:00+01:00", "2026-03-29T01:30+01:00", "2026-03-29T03:00+02:00", "2026-03-29T03:30+02:00",
         "2026-03-29T04:00+02:00"],
    ),
    # The OR rule across a gap: Sundays (the change day) and the 1st.
    (
        "30 2 1 * sun",
        "Europe/Berlin",
        "2026-03-20T00:00",
        ["2026-03-22T02:30+01:00", "2026-03-29T03:30+02:00", "2026-04-01T02:30+02:00", "2026-04-05T02:30+02:00",
         "2026-04-12T02:30+02:00"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "zone", "start", "expected"),
    DAYLIGHT_SAVING,
    ids=[f"{row[0]} {row[1]} {row[2][:10]}" for row in DAYLIGHT_SAVING],
)
def test_it_fires_a_cron_at_documented_wall_times_across_daylight_saving_changes(
    expression: str, zone: str, start: str, expected: list[str]
) -> None:
    assert next_five(expression, zone, start) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("0 0 * * mon-", "day-of-week field"),
        ("0 0 * * fri-mon", "runs backwards"),
        ("0 0 * * 8", "outside 0-7"),
        ("0 0 32 * *", "outside 1-31"),
        ("0 0 * foo *", "month field"),
        ("0 0 * * */0", "step must be at least 1"),
        ("0 0 L * *", "day-of-month field"),
        ("0 0 * * 5#3", "day-of-week field"),
        ("@reboot", "unknown shorthand"),
        ("0 0 * *", "wrong number of fields"),
    ],
)
def test_it_refuses_what_crontab_refuses_naming_the_field(expression: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_cron(expression)


def test_it_refuses_a_cron_that_never_fires_with_400_at_once(api: APIClient) -> None:
    body = {"name": "never", "type": "scheduled", "schedule_details": {"cron": "0 0 31 2,4,6,9,11 *"}}
    api.post("/api/v1/triggers", {"name": "warm-up", "type": "api"}, format="json")  # first-request imports

    started = time.process_time()
    response = api.post("/api/v1/triggers", body, format="json")
    spent = time.process_time() - started

    assert response.status_code == 400
    assert "never fires" in response.json()["schedule_details"]["cron"][0]
    assert spent < 0.1


def test_a_cron_that_fires_once_in_four_years_is_accepted_quickly(api: APIClient) -> None:
    body = {"name": "leap", "type": "scheduled", "schedule_details": {"cron": "0 0 29 2 *", "timezone": "UTC"}}
    api.post("/api/v1/triggers", {"name": "warm-up", "type": "api"}, format="json")  # first-request imports

    started = time.process_time()
    response = api.post("/api/v1/triggers", body, format="json")
    spent = time.process_time() - started

    assert response.status_code == 201
    assert response.json()["next_fire_at"].startswith("2028-02-29T00:00:00")
    assert spent < 0.1


def test_a_cron_over_the_stored_length_is_a_400_naming_the_field(api: APIClient) -> None:
    expression = "0 0 * * " + ",".join(["1"] * 70)
    assert len(expression) > CRON_MAX_LENGTH

    response = api.post(
        "/api/v1/triggers",
        {"name": "long", "type": "scheduled", "schedule_details": {"cron": expression}},
        format="json",
    )

    assert response.status_code == 400
    assert f"at most {CRON_MAX_LENGTH} characters" in response.json()["schedule_details"]["cron"][0]
