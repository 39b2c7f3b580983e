"""The operators' trigger admin: list without N+1, search, filters, and actions through the services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.test import Client

from accounts.models import User
from eventlogs.models import EventLog
from tests.support import make_trigger
from triggers.models import Trigger
from triggers.services import trigger_fire

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHANGELIST = "/admin/triggers/trigger/"


def test_the_changelist_of_30_triggers_of_many_owners_has_no_n_plus_1(
    operator: Client, django_assert_max_num_queries: Any
) -> None:
    for number in range(30):
        owner = User.objects.create_user(email=f"customer{number}@example.com", password=None)
        make_trigger(owner, name=f"Trigger {number:02d}")

    with django_assert_max_num_queries(10):
        response = operator.get(CHANGELIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="action-select"') == 30
    assert "customer29@example.com" in html


def test_it_searches_by_name_owner_email_and_id(operator: Client, owner: User, other_user: User) -> None:
    mine = make_trigger(owner, name="Nightly report")
    theirs = make_trigger(other_user, name="Hourly sync")

    by_name = operator.get(CHANGELIST, {"q": "nightly"}).content.decode()
    by_email = operator.get(CHANGELIST, {"q": "intruder@"}).content.decode()
    by_id = operator.get(CHANGELIST, {"q": str(theirs.id)}).content.decode()
    by_nonsense = operator.get(CHANGELIST, {"q": "no-such-thing"})

    assert "Nightly report" in by_name
    assert "Hourly sync" not in by_name
    assert "Hourly sync" in by_email
    assert "Nightly report" not in by_email
    assert "Hourly sync" in by_id
    assert str(mine.id) not in by_id
    assert by_nonsense.status_code == 200


def test_it_filters_by_type_enabled_and_schedule_kind(operator: Client, owner: User) -> None:
    make_trigger(owner, name="Cron one", schedule_details={"cron": "0 9 * * *"})
    make_trigger(owner, name="Paused one", enabled=False)
    make_trigger(owner, name="Api one", type="api", schedule_details=None)

    cron = operator.get(CHANGELIST, {"schedule_kind__exact": "cron"}).content.decode()
    paused = operator.get(CHANGELIST, {"enabled__exact": "0"}).content.decode()
    api = operator.get(CHANGELIST, {"type__exact": "api"}).content.decode()

    assert "Cron one" in cron
    assert "Paused one" not in cron
    assert "Paused one" in paused
    assert "Cron one" not in paused
    assert "Api one" in api
    assert "Cron one" not in api


def test_the_pause_and_resume_actions_go_through_the_services(operator: Client, owner: User) -> None:
    with time_machine.travel(NOON, tick=False):
        first = make_trigger(owner, name="First")
        second = make_trigger(owner, name="Second")

        response = operator.post(
            CHANGELIST, {"action": "pause", "_selected_action": [str(first.id), str(second.id)]}, follow=True
        )
        assert "Paused 2 triggers." in response.content.decode()
        assert list(Trigger.objects.values_list("enabled", "next_fire_at")) == [(False, None), (False, None)]

    with time_machine.travel(NOON + timedelta(minutes=5, seconds=30), tick=False):
        response = operator.post(CHANGELIST, {"action": "resume", "_selected_action": [str(first.id)]}, follow=True)

    first.refresh_from_db()
    second.refresh_from_db()
    assert "Resumed 1 trigger." in response.content.decode()
    assert first.enabled
    assert first.next_fire_at == NOON + timedelta(minutes=6)  # recomputed: the next slot on the cadence
    assert not second.enabled


def test_the_test_fire_action_logs_one_test_event_per_trigger(operator: Client, owner: User) -> None:
    first = make_trigger(owner, name="First", api_payload={"n": 1})
    second = make_trigger(owner, name="Second", type="api", schedule_details=None)

    response = operator.post(
        CHANGELIST, {"action": "test_fire", "_selected_action": [str(first.id), str(second.id)]}, follow=True
    )

    assert "Logged 2 test events." in response.content.decode()
    events = EventLog.objects.order_by("trigger_name")
    assert [(event.trigger_name, event.source, event.is_test) for event in events] == [
        ("First", "test", True),
        ("Second", "test", True),
    ]
    assert events[0].payload == {"n": 1}


def test_an_operator_renames_and_pauses_through_the_change_form_and_the_schedule_is_read_only(
    operator: Client, owner: User
) -> None:
    with time_machine.travel(NOON, tick=False):
        trigger = make_trigger(owner)
        url = f"{CHANGELIST}{trigger.id}/change/"
        page = operator.get(url).content.decode()

        # What the page posts: the hidden initial values it showed, and no "enabled" (unticked).
        response = operator.post(
            url,
            {
                "name": "Renamed by support",
                "initial-name": "Heartbeat",
                "initial-enabled": "on",
                "interval_seconds": "5",
            },
        )

    trigger.refresh_from_db()
    assert 'name="name"' in page
    assert 'name="interval_seconds"' not in page  # shown, not editable
    assert response.status_code == 302
    assert trigger.name == "Renamed by support"
    assert not trigger.enabled  # an unticked box pauses, through trigger_update
    assert trigger.next_fire_at is None
    assert trigger.interval_seconds == 60


def test_an_operator_cannot_add_a_trigger_for_a_customer(operator: Client) -> None:
    assert operator.get(f"{CHANGELIST}add/").status_code == 403


def test_the_admin_deletes_a_trigger_and_keeps_its_events(operator: Client, owner: User) -> None:
    trigger = make_trigger(owner, type="api", schedule_details=None)
    operator.post(CHANGELIST, {"action": "test_fire", "_selected_action": [str(trigger.id)]})

    response = operator.post(f"{CHANGELIST}{trigger.id}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Trigger.objects.exists()
    assert EventLog.objects.get().trigger_uuid == trigger.id


def test_resuming_a_one_time_trigger_whose_time_passed_tells_the_operator_it_will_not_fire(
    operator: Client, owner: User
) -> None:
    with time_machine.travel(NOON, tick=False):
        one_pm = (NOON + timedelta(hours=1)).isoformat()
        trigger = make_trigger(owner, schedule_details={"run_at": one_pm}, enabled=False)
    with time_machine.travel(NOON + timedelta(hours=2), tick=False):
        response = operator.post(CHANGELIST, {"action": "resume", "_selected_action": [str(trigger.id)]}, follow=True)

    page = response.content.decode()
    assert "Resumed 0 triggers." in page
    assert "Not changed: Heartbeat: Its run_at (2026-03-01T13:00:00+00:00) has passed while it was paused" in page
    assert not Trigger.objects.get(pk=trigger.pk).enabled


def test_the_admin_shows_when_an_api_trigger_last_fired_and_names_what_the_count_counts(
    operator: Client, owner: User
) -> None:
    trigger = make_trigger(owner, name="Webhook", type="api", schedule_details=None)
    with time_machine.travel(NOON, tick=False):
        trigger_fire(trigger=trigger, payload={})
        listed = operator.get(CHANGELIST).content.decode()
        change = operator.get(f"{CHANGELIST}{trigger.pk}/change/").content.decode()

    assert "Scheduled firings" in listed
    assert "March 1, 2026, noon" in listed or "Mar. 1, 2026, noon" in listed
    last_fired = re.search(r"field-last_fired.*?<div class=\"readonly\">(.*?)</div>", change, re.S).group(1)
    assert last_fired not in ("-", "")
