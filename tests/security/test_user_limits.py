"""Per-user limits: how many triggers, how large a scheduled payload, how many page requests,
and a deactivated user's schedules (issue 11, "Per-user limits")."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils.timezone import now
from rest_framework.test import APIClient
from time_machine import TimeMachineFixture

from accounts.models import User
from eventlogs.models import EventLog
from sigwise.throttling import FixedWindowRateThrottle, UserFixedWindowThrottle
from tests.support import bearer_client, make_api_trigger, make_trigger
from triggers.dispatch import triggers_dispatch_due, triggers_seconds_until_due
from triggers.models import Trigger
from triggers.services import TriggerLimitReached, trigger_create
from triggers.tests.test_pages import form_data

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
API_TRIGGER = {"name": "Webhook", "type": "api"}


# --- TRIGGER_MAX_PER_USER ---------------------------------------------------------------------


def test_the_api_refuses_a_trigger_past_the_per_user_limit_with_403(api: APIClient, owner: User, settings) -> None:
    settings.TRIGGER_MAX_PER_USER = 2
    assert [api.post("/api/v1/triggers", API_TRIGGER, format="json").status_code for _ in range(2)] == [201, 201]

    refused = api.post("/api/v1/triggers", API_TRIGGER, format="json")

    assert refused.status_code == 403
    assert "limit of 2 triggers" in refused.json()["detail"]
    assert Trigger.objects.filter(owner=owner).count() == 2


def test_the_limit_is_per_user(api: APIClient, owner: User, other_user: User, settings) -> None:
    settings.TRIGGER_MAX_PER_USER = 1
    make_api_trigger(other_user)

    assert api.post("/api/v1/triggers", API_TRIGGER, format="json").status_code == 201


def test_the_page_refuses_a_trigger_past_the_limit_with_403_and_says_why(
    browser: Client, owner: User, settings
) -> None:
    settings.TRIGGER_MAX_PER_USER = 1
    make_api_trigger(owner)

    response = browser.post("/triggers/new", form_data(name="One too many"))

    assert response.status_code == 403
    assert "limit of 1 triggers" in response.content.decode()
    assert Trigger.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_at_the_limit_do_not_both_pass(owner: User, settings) -> None:
    settings.TRIGGER_MAX_PER_USER = 1
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create() -> None:
        try:
            barrier.wait()
            trigger_create(owner=owner, values={**API_TRIGGER, "api_payload": {}})
            outcomes.append("created")
        except TriggerLimitReached:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created", "refused"]
    assert Trigger.objects.filter(owner=owner).count() == 1


# --- TRIGGER_PAYLOAD_MAX_BYTES ----------------------------------------------------------------


def test_a_scheduled_payload_over_the_cap_is_refused_naming_the_field(api: APIClient, settings) -> None:
    settings.TRIGGER_PAYLOAD_MAX_BYTES = 100
    body = {"name": "Big", "type": "scheduled", "schedule_details": {"interval_seconds": 60}}

    at_cap = api.post("/api/v1/triggers", {**body, "api_payload": {"a": "x" * 92}}, format="json")
    over = api.post("/api/v1/triggers", {**body, "api_payload": {"a": "x" * 93}}, format="json")

    assert at_cap.status_code == 201
    assert over.status_code == 400
    assert "at most 100 bytes" in over.json()["api_payload"][0]
    assert Trigger.objects.count() == 1


def test_an_api_triggers_payload_is_bounded_by_the_request_size_only(api: APIClient, settings) -> None:
    settings.TRIGGER_PAYLOAD_MAX_BYTES = 100

    response = api.post("/api/v1/triggers", {**API_TRIGGER, "api_payload": {"a": "x" * 500}}, format="json")

    assert response.status_code == 201


# --- pages inside the API's per-user rate -------------------------------------------------------


@pytest.fixture
def three_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(UserFixedWindowThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "60/minute"})
    FixedWindowRateThrottle._windows.clear()
    yield
    FixedWindowRateThrottle._windows.clear()


@pytest.mark.usefixtures("three_per_minute")
def test_pages_and_api_calls_share_the_per_user_rate_and_a_page_fire_counts(
    browser: Client, owner: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(START, tick=False)
    trigger = make_api_trigger(owner)
    api = bearer_client(owner)

    assert browser.get("/triggers/").status_code == 200
    assert browser.post(f"/triggers/{trigger.id}/fire", {"payload": ""}).status_code == 302
    assert api.get("/api/v1/triggers").status_code == 200
    page = browser.get("/")
    call = api.post(f"/api/v1/triggers/{trigger.id}/fire")

    assert page.status_code == 429
    assert "Too many requests" in page.content.decode()
    assert int(page["Retry-After"]) == 60
    assert call.status_code == 429
    assert EventLog.objects.count() == 1
    time_machine.move_to(START + timedelta(minutes=1), tick=False)
    assert browser.get("/").status_code == 200


@pytest.mark.usefixtures("three_per_minute")
def test_another_users_pages_are_not_slowed(browser: Client, owner: User, other_user: User) -> None:
    for _ in range(3):
        browser.get("/")
    other = Client()
    other.force_login(other_user, backend="django.contrib.auth.backends.ModelBackend")

    assert browser.get("/").status_code == 429
    assert other.get("/").status_code == 200


# --- a deactivated user's schedules ------------------------------------------------------------


def test_the_scheduler_stops_firing_a_deactivated_users_triggers_and_resumes_on_reactivation(
    owner: User, other_user: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(START, tick=False)
    paused_owner = make_trigger(owner, schedule_details={"interval_seconds": 60})
    active_owner = make_trigger(other_user, schedule_details={"interval_seconds": 60})
    owner.is_active = False
    owner.save()

    time_machine.move_to(START + timedelta(minutes=5), tick=False)
    fired = {outcome.trigger_id for outcome in triggers_dispatch_due(at=now())}
    assert fired == {active_owner.id}
    assert not EventLog.objects.filter(trigger=paused_owner).exists()
    assert Trigger.objects.get(pk=paused_owner.pk).next_fire_at == START

    owner.is_active = True
    owner.save()
    time_machine.move_to(START + timedelta(minutes=5, seconds=30), tick=False)
    fired = {outcome.trigger_id for outcome in triggers_dispatch_due(at=now())}
    assert paused_owner.id in fired
    assert EventLog.objects.filter(trigger=paused_owner).count() == 1  # one catch-up, not five


def test_an_inactive_owners_due_slot_does_not_wake_the_dispatcher(owner: User) -> None:
    trigger = make_trigger(owner, schedule_details={"interval_seconds": 60})
    Trigger.objects.filter(pk=trigger.pk).update(next_fire_at=now() - timedelta(minutes=1))
    owner.is_active = False
    owner.save()

    assert triggers_seconds_until_due(longest=30.0) == 30.0
