"""The dispatch service: each due slot becomes exactly one event, and the trigger moves on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils.timezone import now
from time_machine import TimeMachineFixture

from accounts.models import User
from eventlogs.models import EventLog
from tests.support import make_trigger
from triggers.dispatch import dispatch_pending, triggers_dispatch_due
from triggers.models import Trigger
from triggers.services import trigger_delete, trigger_set_enabled

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def events_of(trigger: Trigger) -> list[EventLog]:
    return list(EventLog.objects.filter(trigger_uuid=trigger.id).order_by("scheduled_for"))


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    time_machine.move_to(START, tick=False)
    return time_machine


def test_it_fires_a_due_trigger_once_with_its_payload_and_slot(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(
        owner, name="report", schedule_details={"run_at": "2026-01-05T10:00:05Z"}, api_payload={"report": "daily"}
    )
    clock.move_to(START + timedelta(seconds=5, milliseconds=4), tick=False)

    (outcome,) = triggers_dispatch_due(at=now())
    assert triggers_dispatch_due(at=now()) == []

    (event,) = events_of(trigger)
    assert outcome.event_id == event.id
    assert event.source == EventLog.Source.SCHEDULED
    assert event.payload == {"report": "daily"}
    assert event.scheduled_for == START + timedelta(seconds=5)
    assert event.fired_at == START + timedelta(seconds=5, milliseconds=4)
    assert (event.trigger_name, event.trigger_type, event.owner_id) == ("report", "scheduled", owner.id)
    trigger.refresh_from_db()
    assert (trigger.next_fire_at, trigger.scheduled_fire_count, trigger.last_fired_at) == (None, 1, event.fired_at)
    assert trigger.enabled


def test_it_does_not_fire_before_the_due_time(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(owner, schedule_details={"run_at": "2026-01-05T10:00:05Z"})
    clock.move_to(START + timedelta(seconds=5) - timedelta(microseconds=1), tick=False)

    assert triggers_dispatch_due(at=now()) == []
    assert events_of(trigger) == []
    trigger.refresh_from_db()
    assert trigger.next_fire_at == START + timedelta(seconds=5)


def test_it_advances_a_recurring_trigger_to_its_next_slot(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(owner, schedule_details={"interval_seconds": 60, "start_at": "2026-01-05T10:01:00Z"})
    clock.move_to(START + timedelta(minutes=1, milliseconds=2), tick=False)

    (outcome,) = triggers_dispatch_due(at=now())

    assert outcome.next_fire_at == START + timedelta(minutes=2)
    trigger.refresh_from_db()
    assert (trigger.next_fire_at, trigger.scheduled_fire_count) == (START + timedelta(minutes=2), 1)


def test_after_downtime_a_recurring_trigger_fires_one_catch_up_event_then_resumes_its_cadence(
    owner: User, clock: TimeMachineFixture
) -> None:
    trigger = make_trigger(owner, schedule_details={"interval_seconds": 60, "start_at": "2026-01-05T10:01:00Z"})
    clock.move_to(START + timedelta(minutes=1), tick=False)
    triggers_dispatch_due(at=now())

    # The scheduler was down from 10:01 to 10:30:20: 29 slots were missed.
    clock.move_to(START + timedelta(minutes=30, seconds=20), tick=False)
    (catch_up,) = triggers_dispatch_due(at=now())
    assert triggers_dispatch_due(at=now()) == []
    clock.move_to(START + timedelta(minutes=31), tick=False)
    (on_time,) = triggers_dispatch_due(at=now())

    assert catch_up.slot == START + timedelta(minutes=2)
    assert catch_up.lateness == timedelta(minutes=28, seconds=20)
    assert on_time.slot == START + timedelta(minutes=31)
    assert [event.scheduled_for for event in events_of(trigger)] == [
        START + timedelta(minutes=1),
        START + timedelta(minutes=2),
        START + timedelta(minutes=31),
    ]


def test_after_downtime_a_one_time_trigger_fires_once_late(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(owner, schedule_details={"run_at": "2026-01-05T10:00:05Z"})
    clock.move_to(START + timedelta(hours=3), tick=False)

    triggers_dispatch_due(at=now())
    clock.move_to(START + timedelta(hours=4), tick=False)
    triggers_dispatch_due(at=now())

    (event,) = events_of(trigger)
    assert event.scheduled_for == START + timedelta(seconds=5)
    assert event.fired_at - event.scheduled_for == timedelta(hours=2, minutes=59, seconds=55)


def test_an_expired_trigger_never_fires(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(
        owner,
        schedule_details={"interval_seconds": 60, "start_at": "2026-01-05T10:01:00Z"},
        expires_at=START + timedelta(minutes=30),
    )
    # Its expiry moved before its next slot (say, by an operator in the database).
    Trigger.objects.filter(pk=trigger.pk).update(expires_at=START + timedelta(seconds=30))
    clock.move_to(START + timedelta(minutes=5), tick=False)

    (outcome,) = triggers_dispatch_due(at=now())

    assert (outcome.fired, outcome.expired) == (False, True)
    assert events_of(trigger) == []
    trigger.refresh_from_db()
    assert (trigger.next_fire_at, trigger.scheduled_fire_count) == (None, 0)


def test_a_paused_trigger_never_fires(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(owner, schedule_details={"run_at": "2026-01-05T10:00:05Z"})
    trigger_set_enabled(trigger=trigger, enabled=False)
    clock.move_to(START + timedelta(minutes=5), tick=False)

    assert triggers_dispatch_due(at=now()) == []
    assert events_of(trigger) == []


def test_a_deleted_trigger_never_fires(owner: User, clock: TimeMachineFixture) -> None:
    trigger = make_trigger(owner, schedule_details={"interval_seconds": 60})
    trigger_delete(trigger=trigger)
    clock.move_to(START + timedelta(minutes=5), tick=False)

    assert triggers_dispatch_due(at=now()) == []
    assert EventLog.objects.count() == 0


def test_a_trigger_whose_schedule_breaks_is_disabled_with_a_reason_and_the_others_still_fire(
    owner: User, clock: TimeMachineFixture
) -> None:
    healthy = make_trigger(owner, schedule_details={"run_at": "2026-01-05T10:00:05Z"})
    broken_zone = make_trigger(owner, schedule_details={"cron": "0 9 * * *", "timezone": "UTC"}, name="broken zone")
    no_future = make_trigger(owner, schedule_details={"cron": "0 9 * * *", "timezone": "UTC"}, name="30 February")
    due = START + timedelta(seconds=1)
    # Stored rows the validation would refuse today (older data, or edited in the database).
    Trigger.objects.filter(pk=broken_zone.pk).update(cron_timezone="Mars/Olympus_Mons", next_fire_at=due)
    Trigger.objects.filter(pk=no_future.pk).update(cron_expression="0 0 30 2 *", next_fire_at=due)
    clock.move_to(START + timedelta(seconds=6), tick=False)

    assert dispatch_pending(at=now()) == 2
    assert triggers_dispatch_due(at=now()) == []

    assert len(events_of(healthy)) == 1
    # The zone cannot be read: nothing fires, the trigger stops with a reason.
    broken_zone.refresh_from_db()
    assert events_of(broken_zone) == []
    assert (broken_zone.enabled, broken_zone.next_fire_at) == (False, None)
    assert "schedule cannot be computed" in broken_zone.disabled_reason
    # The slot it had fires; then it stops, as no 30 February will ever come.
    no_future.refresh_from_db()
    assert [event.scheduled_for for event in events_of(no_future)] == [due]
    assert (no_future.enabled, no_future.next_fire_at) == (False, None)
    assert "no future firing time" in no_future.disabled_reason


def test_a_slot_already_recorded_is_skipped_not_repeated_and_the_trigger_moves_on(
    owner: User, clock: TimeMachineFixture
) -> None:
    trigger = make_trigger(owner, schedule_details={"interval_seconds": 60, "start_at": "2026-01-05T10:01:00Z"})
    clock.move_to(START + timedelta(minutes=1), tick=False)
    triggers_dispatch_due(at=now())
    # Something set next_fire_at back to the slot that already fired.
    Trigger.objects.filter(pk=trigger.pk).update(next_fire_at=START + timedelta(minutes=1))
    clock.move_to(START + timedelta(minutes=1, seconds=30), tick=False)

    (outcome,) = triggers_dispatch_due(at=now())

    assert not outcome.fired
    assert len(events_of(trigger)) == 1
    trigger.refresh_from_db()
    assert (trigger.next_fire_at, trigger.scheduled_fire_count) == (START + timedelta(minutes=2), 1)


def test_a_large_backlog_is_fired_in_batches(owner: User, clock: TimeMachineFixture) -> None:
    for index in range(25):
        make_trigger(owner, schedule_details={"run_at": f"2026-01-05T10:00:{index + 1:02d}Z"}, name=f"t{index}")
    clock.move_to(START + timedelta(minutes=1), tick=False)

    first = triggers_dispatch_due(at=now(), batch_size=10)

    assert [outcome.slot for outcome in first] == [START + timedelta(seconds=n + 1) for n in range(10)]
    assert dispatch_pending(at=now(), batch_size=10) == 15
    assert EventLog.objects.count() == 25


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_fire_every_slot_exactly_once(owner: User) -> None:
    due = now() - timedelta(seconds=1)
    Trigger.objects.bulk_create(
        Trigger(
            owner=owner,
            name=f"burst {index}",
            type=Trigger.Type.SCHEDULED,
            schedule_kind=Trigger.ScheduleKind.ONCE,
            run_at=due,
            next_fire_at=due,
        )
        for index in range(400)
    )
    barrier = threading.Barrier(2)
    fired: list[int] = []
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            barrier.wait()
            fired.append(dispatch_pending(batch_size=20))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sum(fired) == 400
    assert EventLog.objects.count() == 400
    assert EventLog.objects.values("trigger_uuid").distinct().count() == 400
    assert Trigger.objects.filter(scheduled_fire_count=1, next_fire_at=None).count() == 400
