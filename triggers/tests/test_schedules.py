"""Schedule math as a trigger's owner sees it: the slots its events are written for.

Time is moved with time_machine; each test fires the trigger through the real dispatch
service and reads the ``scheduled_for`` of the events it wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.timezone import now
from time_machine import TimeMachineFixture

from accounts.models import User
from eventlogs.models import EventLog
from tests.support import make_trigger
from triggers.dispatch import triggers_dispatch_due
from triggers.models import Trigger
from triggers.services import trigger_set_enabled

JUST_AFTER = timedelta(milliseconds=3)


def fire_next(trigger: Trigger, time_machine: TimeMachineFixture) -> datetime | None:
    """Move to just after the trigger's next slot and dispatch; return the slot fired (None if none)."""
    trigger.refresh_from_db()
    if trigger.next_fire_at is None:
        return None
    slot = trigger.next_fire_at
    time_machine.move_to(slot + JUST_AFTER, tick=False)
    fired = [
        outcome.slot
        for outcome in triggers_dispatch_due(at=now())
        if outcome.fired and outcome.trigger_id == trigger.id
    ]
    return fired[0] if fired else None


def fire_slots(trigger: Trigger, time_machine: TimeMachineFixture, count: int) -> list[datetime]:
    slots = [fire_next(trigger, time_machine) for _ in range(count)]
    return [slot for slot in slots if slot is not None]


def event_slots(trigger: Trigger) -> list[datetime]:
    return list(
        EventLog.objects.filter(trigger=trigger).order_by("scheduled_for").values_list("scheduled_for", flat=True)
    )


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    time_machine.move_to(utc(2026, 1, 5, 10, 0), tick=False)
    return time_machine


def test_interval_slots_fall_every_interval_from_start_at(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(owner, schedule_details={"interval_seconds": 600, "start_at": "2026-01-05T10:05:00Z"})

    assert fire_slots(trigger, clock, 3) == [utc(2026, 1, 5, 10, 5), utc(2026, 1, 5, 10, 15), utc(2026, 1, 5, 10, 25)]
    assert event_slots(trigger) == [utc(2026, 1, 5, 10, 5), utc(2026, 1, 5, 10, 15), utc(2026, 1, 5, 10, 25)]


def test_an_interval_with_a_past_start_keeps_its_grid(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(owner, schedule_details={"interval_seconds": 600, "start_at": "2026-01-05T09:58:00Z"})

    assert fire_slots(trigger, clock, 2) == [utc(2026, 1, 5, 10, 8), utc(2026, 1, 5, 10, 18)]


def test_a_cron_fires_in_its_own_time_zone(owner: User, clock: TimeMachineFixture) -> None:
    # 09:30 in Kolkata (UTC+05:30) is 04:00 UTC; at 10:00 UTC today's has passed.
    trigger = make_trigger(owner, schedule_details={"cron": "30 9 * * *", "timezone": "Asia/Kolkata"})

    assert fire_slots(trigger, clock, 2) == [utc(2026, 1, 6, 4, 0), utc(2026, 1, 7, 4, 0)]


def test_weekdays_1_to_5_are_monday_to_friday(owner: User, time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(utc(2026, 3, 6, 10, 0), tick=False)  # a Friday, after 09:00
    trigger = make_trigger(owner, schedule_details={"cron": "0 9 * * 1-5", "timezone": "UTC"})

    slots = fire_slots(trigger, time_machine, 6)

    assert [slot.strftime("%a %d") for slot in slots] == ["Mon 09", "Tue 10", "Wed 11", "Thu 12", "Fri 13", "Mon 16"]
    assert all(slot.hour == 9 for slot in slots)


@pytest.mark.parametrize(("weekday", "day"), [("0", "Sun"), ("7", "Sun"), ("6", "Sat"), ("1", "Mon")])
def test_a_single_weekday_uses_crontab_numbering(
    owner: User, time_machine: TimeMachineFixture, weekday: str, day: str
) -> None:
    time_machine.move_to(utc(2026, 3, 4, 12, 0), tick=False)  # a Wednesday
    trigger = make_trigger(owner, schedule_details={"cron": f"0 9 * * {weekday}", "timezone": "UTC"})

    assert [slot.strftime("%a") for slot in fire_slots(trigger, time_machine, 2)] == [day, day]


@pytest.mark.parametrize(
    ("expression", "start", "expected"),
    [
        # 2026-03-08: 02:00 EST becomes 03:00 EDT, so 01:30 moves from 06:30 to 05:30 UTC...
        ("30 1 * * *", utc(2026, 3, 6, 12), [utc(2026, 3, 7, 6, 30), utc(2026, 3, 8, 6, 30), utc(2026, 3, 9, 5, 30)]),
        # ...and 02:00 does not exist on the 8th: it fires once, at 03:00 EDT (07:00 UTC).
        ("0 2 * * *", utc(2026, 3, 6, 12), [utc(2026, 3, 7, 7), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6)]),
        # 2026-11-01: 01:00-02:00 happens twice (EDT, then EST); 01:30 fires in the first pass only.
        (
            "30 1 * * *",
            utc(2026, 10, 30, 12),
            [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        ),
        ("0 2 * * *", utc(2026, 10, 30, 12), [utc(2026, 10, 31, 6), utc(2026, 11, 1, 7), utc(2026, 11, 2, 7)]),
    ],
    ids=["01:30-spring", "02:00-spring", "01:30-fall", "02:00-fall"],
)
def test_a_new_york_cron_fires_once_a_day_at_its_local_time_across_daylight_saving_changes(
    owner: User, time_machine: TimeMachineFixture, expression: str, start: datetime, expected: list[datetime]
) -> None:
    time_machine.move_to(start, tick=False)
    trigger = make_trigger(owner, schedule_details={"cron": expression, "timezone": "America/New_York"})

    assert fire_slots(trigger, time_machine, 3) == expected
    assert event_slots(trigger) == expected


def test_a_cron_with_a_wildcard_hour_keeps_firing_through_the_repeated_hour(
    owner: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 11, 1, 4, 50), tick=False)
    trigger = make_trigger(owner, schedule_details={"cron": "*/30 * * * *", "timezone": "America/New_York"})

    # Every 30 real minutes, across 01:00 EDT → 01:00 EST.
    assert fire_slots(trigger, time_machine, 5) == [
        utc(2026, 11, 1, 5, 0) + timedelta(minutes=30 * n) for n in range(5)
    ]


def test_expiry_ends_firing(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(
        owner,
        schedule_details={"interval_seconds": 60, "start_at": "2026-01-05T10:01:00Z"},
        expires_at=utc(2026, 1, 5, 10, 3, 30),
    )

    assert fire_slots(trigger, clock, 5) == [utc(2026, 1, 5, 10, 1), utc(2026, 1, 5, 10, 2), utc(2026, 1, 5, 10, 3)]
    trigger.refresh_from_db()
    assert trigger.next_fire_at is None
    clock.move_to(utc(2026, 1, 6), tick=False)
    assert triggers_dispatch_due(at=now()) == []
    assert len(event_slots(trigger)) == 3


def test_a_resumed_trigger_continues_from_its_next_future_slot_without_a_burst(
    owner: User, clock: TimeMachineFixture
) -> None:
    trigger = make_trigger(owner, schedule_details={"interval_seconds": 60, "start_at": "2026-01-05T10:01:00Z"})
    assert fire_slots(trigger, clock, 1) == [utc(2026, 1, 5, 10, 1)]

    trigger_set_enabled(trigger=trigger, enabled=False)
    clock.move_to(utc(2026, 1, 5, 10, 30, 20), tick=False)
    assert triggers_dispatch_due(at=now()) == []  # paused: the 29 slots it slept through do not fire

    resumed = trigger_set_enabled(trigger=trigger, enabled=True)
    assert resumed.next_fire_at == utc(2026, 1, 5, 10, 31)
    assert triggers_dispatch_due(at=now()) == []
    assert fire_slots(trigger, clock, 2) == [utc(2026, 1, 5, 10, 31), utc(2026, 1, 5, 10, 32)]
    assert event_slots(trigger) == [utc(2026, 1, 5, 10, 1), utc(2026, 1, 5, 10, 31), utc(2026, 1, 5, 10, 32)]
