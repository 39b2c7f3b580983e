"""The rules of docs/scheduling.md as an owner meets them: daylight-saving days through the
real dispatcher, naive times in a gap or a repeated hour, exclusive expiry, what an edit
does to a pending slot, and resuming a trigger that has nothing left to fire.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils.timezone import now
from rest_framework.test import APIClient
from time_machine import TimeMachineFixture

from accounts.models import User
from eventlogs.models import EventLog
from tests.support import make_trigger
from triggers.dispatch import triggers_dispatch_due
from triggers.models import Trigger
from triggers.services import trigger_set_enabled, trigger_update

JUST_AFTER = timedelta(milliseconds=3)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fire_until(trigger: Trigger, time_machine: TimeMachineFixture, end: datetime) -> list[datetime]:
    """Move from slot to slot, dispatching each, until the next slot is at or after ``end``."""
    fired = []
    while True:
        trigger.refresh_from_db()
        if trigger.next_fire_at is None or trigger.next_fire_at >= end:
            return fired
        time_machine.move_to(trigger.next_fire_at + JUST_AFTER, tick=False)
        fired += [outcome.slot for outcome in triggers_dispatch_due(at=now()) if outcome.fired]


@pytest.fixture
def api(owner: User) -> APIClient:
    """The owner's API client; authenticated without a token, whose lifetime would not survive time travel."""
    client = APIClient()
    client.force_authenticate(user=owner)
    return client


def event_slots(trigger: Trigger) -> list[datetime]:
    return list(trigger.event_logs.order_by("scheduled_for").values_list("scheduled_for", flat=True))


# --- 6. spring forward: every skipped fixed time fires once, shifted by the gap --------------


@pytest.mark.parametrize(
    ("zone", "expression", "day", "expected"),
    [
        # 02:00 and 02:30 CET do not exist on 29 March: they fire at 03:00 and 03:30 CEST.
        ("Europe/Berlin", "0,30 2 * * *", (2026, 3, 29), [utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)]),
        ("America/New_York", "0,30 2 * * *", (2026, 3, 8), [utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 30)]),
        # Lord Howe skips 02:00-02:30 (+10:30 to +11:00): 02:00 and 02:15 fire at 02:30 and 02:45.
        ("Australia/Lord_Howe", "0,15 2 * * *", (2026, 10, 4), [utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 15, 45)]),
    ],
    ids=["Berlin", "New York", "Lord Howe"],
)
def test_both_skipped_times_fire_once_on_a_spring_forward_day(
    owner: User, time_machine: TimeMachineFixture, zone: str, expression: str, day: tuple[int, int, int], expected: list
) -> None:
    time_machine.move_to(utc(*day) - timedelta(days=2), tick=False)
    trigger = make_trigger(owner, schedule_details={"cron": expression, "timezone": zone})

    fired = fire_until(trigger, time_machine, utc(*day) + timedelta(days=1))

    on_the_day = [slot for slot in fired if expected[0] - timedelta(hours=3) < slot < expected[-1] + timedelta(hours=3)]
    assert on_the_day == expected
    assert len(fired) == 6  # two a day for three days, nothing lost and nothing doubled
    assert event_slots(trigger) == fired


# --- 7. fall back: once per wall time, after a pause/resume or an expiry edit as well -------


@pytest.mark.parametrize("edit", ["resume", "expires_at"])
def test_a_fixed_time_fires_once_on_a_fall_back_day_whatever_is_edited_in_the_repeated_hour(
    owner: User, time_machine: TimeMachineFixture, edit: str
) -> None:
    time_machine.move_to(utc(2026, 10, 31, 12), tick=False)
    trigger = make_trigger(owner, schedule_details={"cron": "30 1 * * *", "timezone": "America/New_York"})
    # 01:30 EDT on 1 November (05:30 UTC) fires in the first pass of the repeated hour.
    assert fire_until(trigger, time_machine, utc(2026, 11, 1, 6)) == [utc(2026, 11, 1, 5, 30)]

    if edit == "resume":
        time_machine.move_to(utc(2026, 11, 1, 5, 50), tick=False)  # 01:50 EDT
        trigger_set_enabled(trigger=trigger, enabled=False)
        time_machine.move_to(utc(2026, 11, 1, 6, 10), tick=False)  # 01:10 EST, the second pass
        edited = trigger_set_enabled(trigger=trigger, enabled=True)
    else:
        time_machine.move_to(utc(2026, 11, 1, 6, 10), tick=False)
        edited = trigger_update(trigger=trigger, changes={"expires_at": utc(2026, 12, 1)})

    # Not 01:30 EST the same night (06:30 UTC): the next is 2 November, 01:30 EST.
    assert edited.next_fire_at == utc(2026, 11, 2, 6, 30)
    assert fire_until(trigger, time_machine, utc(2026, 11, 2, 12)) == [utc(2026, 11, 2, 6, 30)]


# --- 8. naive date-times in a gap are refused; in a repeated hour they are the first pass ----


@pytest.fixture
def berliner(owner: User, time_machine: TimeMachineFixture) -> User:
    time_machine.move_to(utc(2026, 3, 1), tick=False)
    owner.timezone = "Europe/Berlin"
    owner.save(update_fields=["timezone"])
    return owner


@pytest.mark.parametrize(
    ("details", "expires_at", "field"),
    [
        ({"run_at": "2026-03-29T02:30:00"}, None, "run_at"),
        ({"interval_seconds": 3600, "start_at": "2026-03-29T02:00:00"}, None, "start_at"),
        ({"interval_seconds": 3600}, "2026-03-29T02:59:59", "expires_at"),
    ],
    ids=["run_at", "start_at", "expires_at"],
)
def test_a_naive_time_in_the_spring_forward_gap_is_refused_naming_the_gap(
    api: APIClient, berliner: User, details: dict[str, Any], expires_at: str | None, field: str
) -> None:
    body = {"name": "gap", "type": "scheduled", "schedule_details": details, "expires_at": expires_at}

    response = api.post("/api/v1/triggers", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    problem = (errors["expires_at"] if field == "expires_at" else errors["schedule_details"][field])[0]
    assert "does not exist in Europe/Berlin" in problem
    assert "UTC+01:00 to UTC+02:00" in problem
    assert not Trigger.objects.exists()


def test_a_naive_time_in_the_repeated_hour_is_read_as_its_first_occurrence(api: APIClient, berliner: User) -> None:
    body = {
        "name": "twice",
        "type": "scheduled",
        "schedule_details": {"run_at": "2026-10-25T02:30:00"},
        "expires_at": "2026-10-25T02:45:00",
    }

    response = api.post("/api/v1/triggers", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["schedule_details"]["run_at"] == "2026-10-25T00:30:00Z"  # 02:30 CEST
    assert response.json()["expires_at"] == "2026-10-25T00:45:00Z"
    # An offset picks the second occurrence.
    second = {**body, "schedule_details": {"run_at": "2026-10-25T02:30:00+01:00"}, "expires_at": None}
    assert api.post("/api/v1/triggers", second, format="json").json()["next_fire_at"] == "2026-10-25T01:30:00Z"


def test_the_page_form_refuses_a_time_in_the_gap_on_its_field(berliner: User) -> None:
    browser = Client()
    browser.force_login(berliner, backend="django.contrib.auth.backends.ModelBackend")
    form = {"name": "gap", "type": "scheduled", "schedule_kind": "once", "run_at": "2026-03-29T02:30:00"}

    response = browser.post("/triggers/new", {**form, "enabled": "on", "expires_at": ""})
    expired = browser.post("/triggers/new", {**form, "run_at": "2026-03-29T01:00", "expires_at": "2026-03-29T02:15"})

    assert response.status_code == 400
    assert "does not exist in Europe/Berlin" in response.content.decode()
    assert expired.status_code == 400
    assert "2026-03-29T02:15:00 does not exist in Europe/Berlin" in expired.content.decode()
    assert not Trigger.objects.exists()


# --- 9. expires_at is exclusive ------------------------------------------------------------


def test_a_schedule_whose_only_slot_is_expires_at_is_refused_at_create_and_update(
    api: APIClient, owner: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 5, 1, 10), tick=False)
    body = {
        "name": "one slot",
        "type": "scheduled",
        "schedule_details": {"cron": "0 9 * * *", "timezone": "UTC"},
        "expires_at": "2026-05-02T09:00:00Z",
    }

    created = api.post("/api/v1/triggers", body, format="json")
    trigger = make_trigger(owner, schedule_details={"cron": "0 9 * * *", "timezone": "UTC"})
    updated = api.patch(f"/api/v1/triggers/{trigger.id}", {"expires_at": "2026-05-02T09:00:00Z"}, format="json")
    one_time = api.post(
        "/api/v1/triggers",
        {**body, "schedule_details": {"interval_seconds": 3600, "start_at": "2026-05-01T11:00:00Z"},
         "expires_at": "2026-05-01T11:00:00Z"},
        format="json",
    )  # fmt: skip

    assert created.status_code == 400
    assert created.json()["schedule_details"]["non_field_errors"] == [
        "This schedule has no firing time before expires_at (expires_at is exclusive)."
    ]
    assert updated.status_code == 400
    assert one_time.status_code == 400
    assert Trigger.objects.get(pk=trigger.pk).expires_at is None
    # One minute later leaves that slot in.
    assert (
        api.post("/api/v1/triggers", {**body, "expires_at": "2026-05-02T09:01:00Z"}, format="json").status_code == 201
    )


# --- 10. an edit keeps a due slot unless it changes the schedule -----------------------------


def test_editing_a_due_one_time_trigger_keeps_its_slot_and_it_still_fires(
    api: APIClient, owner: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 5, 1, 10), tick=False)
    trigger = make_trigger(owner, schedule_details={"run_at": "2026-05-01T11:00:00Z"}, expires_at=utc(2026, 5, 1, 12))
    time_machine.move_to(utc(2026, 5, 1, 11, 30), tick=False)  # due, the scheduler is down

    renamed = api.patch(f"/api/v1/triggers/{trigger.id}", {"name": "renamed"}, format="json")
    extended = api.patch(f"/api/v1/triggers/{trigger.id}", {"expires_at": "2026-05-02T12:00:00Z"}, format="json")

    assert renamed.status_code == 200
    assert extended.status_code == 200, extended.json()
    assert extended.json()["next_fire_at"] == "2026-05-01T11:00:00Z"
    (outcome,) = triggers_dispatch_due(at=now())
    assert outcome.fired
    assert outcome.slot == utc(2026, 5, 1, 11)


def test_editing_a_due_cron_keeps_its_slot_unless_the_schedule_changes(
    api: APIClient, owner: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 5, 1, 8), tick=False)
    trigger = make_trigger(owner, schedule_details={"cron": "0 9 * * *", "timezone": "UTC"})
    time_machine.move_to(utc(2026, 5, 1, 9, 20), tick=False)  # 09:00 is due, not fired

    api.patch(f"/api/v1/triggers/{trigger.id}", {"expires_at": "2026-06-01T00:00:00Z"}, format="json")
    kept = Trigger.objects.get(pk=trigger.pk).next_fire_at
    changed = api.patch(
        f"/api/v1/triggers/{trigger.id}", {"schedule_details": {"cron": "0 10 * * *", "timezone": "UTC"}}, format="json"
    )

    assert kept == utc(2026, 5, 1, 9)
    assert changed.json()["next_fire_at"] == "2026-05-01T10:00:00Z"


def test_an_expiry_moved_before_the_due_slot_drops_it(
    api: APIClient, owner: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 5, 1, 8), tick=False)
    trigger = make_trigger(owner, schedule_details={"cron": "0 9 * * *", "timezone": "UTC"}, expires_at=utc(2026, 6, 1))
    time_machine.move_to(utc(2026, 5, 1, 9, 20), tick=False)

    response = api.patch(f"/api/v1/triggers/{trigger.id}", {"expires_at": "2026-05-01T09:30:00Z"}, format="json")

    # 09:00 is before the new expiry, so it stays due; nothing after it is.
    assert response.json()["next_fire_at"] == "2026-05-01T09:00:00Z"
    assert triggers_dispatch_due(at=now())[0].next_fire_at is None


# --- 11. the "no firing time" message names expires_at only when there is one -----------------


def test_the_no_firing_time_message_does_not_mention_a_missing_expires_at(
    api: APIClient, owner: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 5, 1, 10), tick=False)
    trigger = make_trigger(owner, schedule_details={"run_at": "2026-05-01T11:00:00Z"}, expires_at=utc(2026, 5, 2))
    time_machine.move_to(utc(2026, 5, 1, 11, 0, 1), tick=False)
    triggers_dispatch_due(at=now())  # fired; nothing left

    response = api.patch(f"/api/v1/triggers/{trigger.id}", {"expires_at": None}, format="json")

    assert response.status_code == 400
    (message,) = response.json()["schedule_details"]["non_field_errors"]
    assert "expires_at" not in message
    assert "run_at has passed" in message


# --- 12. resuming a one-time trigger after its time says it will not fire ---------------------


def test_resuming_a_one_time_trigger_after_its_time_is_refused_saying_it_will_not_fire(
    api: APIClient, owner: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 5, 1, 10), tick=False)
    trigger = make_trigger(owner, schedule_details={"run_at": "2026-05-01T11:00:00Z"})
    trigger_set_enabled(trigger=trigger, enabled=False)
    time_machine.move_to(utc(2026, 5, 1, 12), tick=False)

    response = api.patch(f"/api/v1/triggers/{trigger.id}", {"enabled": True}, format="json")
    browser = Client()
    browser.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    page = browser.post(f"/triggers/{trigger.id}/resume", follow=True)

    assert response.status_code == 400
    (message,) = response.json()["enabled"]
    assert "has passed while it was paused; it will not fire" in message
    assert "Could not resume this trigger. Its run_at (2026-05-01T11:00:00+00:00) has passed" in page.content.decode()
    stored = Trigger.objects.get(pk=trigger.pk)
    assert stored.enabled is False
    assert stored.next_fire_at is None
    assert not EventLog.objects.exists()
