from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

import pytest

from triggers.describe import describe_schedule
from triggers.models import Trigger

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
    ],
)
def test_it_phrases_common_cron_expressions(expression: str, words: str) -> None:
    trigger = scheduled(schedule_kind="cron", cron_expression=expression, cron_timezone="Asia/Kolkata")

    assert describe_schedule(trigger, zone=zoneinfo.ZoneInfo("UTC")) == words


@pytest.mark.parametrize(
    "expression",
    ["*/7 9-17 * * 1-5", "0 9 * 1 *", "0 9,17 * * *", "0 9 1 * 1", "0 9 * * 1-5/2", "0 9 * * sat-sun", "5,35 * * * *"],
)
def test_it_falls_back_to_the_expression_and_its_zone_for_other_cron_expressions(expression: str) -> None:
    trigger = scheduled(schedule_kind="cron", cron_expression=expression, cron_timezone="Europe/Paris")

    assert describe_schedule(trigger, zone=KOLKATA) == f"cron `{expression}` (Europe/Paris)"


def test_it_describes_an_api_trigger_by_how_it_fires() -> None:
    trigger = Trigger(name="t", type=Trigger.Type.API)

    assert describe_schedule(trigger, zone=KOLKATA) == "when its fire endpoint is called"
