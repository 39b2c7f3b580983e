"""POST /triggers/{id}/fire and /triggers/{id}/test."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from rest_framework_simplejwt.tokens import RefreshToken

from eventlogs.models import EventLog
from tests.support import NOW, make_api_trigger, make_trigger
from triggers.models import Trigger

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def webhook(owner) -> Trigger:
    return make_api_trigger(owner, name="webhook", api_payload={"default": True})


@pytest.fixture
def scheduled(owner) -> Trigger:
    return make_trigger(owner, name="nightly", schedule_details={"cron": "0 2 * * *"})


def fire_url(trigger: Trigger) -> str:
    return f"/api/v1/triggers/{trigger.id}/fire"


def test_it_fires_with_the_json_body_as_payload_and_answers_201_with_the_event(api, webhook) -> None:
    response = api.post(fire_url(webhook), {"order": 42}, format="json")
    assert response.status_code == 201
    body = response.json()
    event = EventLog.objects.get()
    assert body["message"] == "API Trigger Fired"
    assert body["event_id"] == body["id"] == str(event.id)
    assert body["trigger_id"] == str(webhook.id)
    assert body["trigger_name"] == "webhook"
    assert body["trigger_type"] == "api"
    assert body["source"] == "api"
    assert body["payload"] == {"order": 42}
    assert body["is_test"] is False
    assert body["status"] == "active"
    assert body["fired_at"] == "2026-06-01T12:00:00Z"
    assert event.payload == {"order": 42}


def test_an_empty_body_fires_with_the_triggers_api_payload(api, webhook) -> None:
    response = api.post(fire_url(webhook))
    assert response.status_code == 201
    assert response.json()["payload"] == {"default": True}


def test_an_empty_object_body_is_an_empty_payload(api, webhook) -> None:
    response = api.post(fire_url(webhook), {}, format="json")
    assert response.status_code == 201
    assert response.json()["payload"] == {}


def test_firing_does_not_touch_the_triggers_row(api, webhook) -> None:
    before = Trigger.objects.filter(pk=webhook.pk).values().get()
    api.post(fire_url(webhook), {"n": 1}, format="json")
    assert Trigger.objects.filter(pk=webhook.pk).values().get() == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("[1, 2]", "application/json"),
        ('"text"', "application/json"),
        ("42", "application/json"),
        ("null", "application/json"),
        ('{"order": ', "application/json"),
        ('{"text": "a\\u0000b"}', "application/json"),
        ('{"text": "\\udc00"}', "application/json"),
        ('{"big": -1e400}', "application/json"),
        ('{"deep": ' + "[" * 5000 + "]" * 5000 + "}", "application/json"),
    ],
)
def test_a_non_object_or_malformed_body_is_400_and_logs_nothing(api, webhook, body, content_type) -> None:
    response = api.post(fire_url(webhook), body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()
    assert EventLog.objects.count() == 0


def test_a_body_that_is_not_json_is_415_and_logs_nothing(api, webhook) -> None:
    response = api.post(fire_url(webhook), "order=42", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert EventLog.objects.count() == 0


def test_a_body_over_64_kib_is_413_and_logs_nothing(api, webhook) -> None:
    response = api.post(fire_url(webhook), json.dumps({"blob": "x" * (65 * 1024)}), content_type="application/json")
    assert response.status_code == 413
    assert EventLog.objects.count() == 0


def test_firing_a_scheduled_trigger_is_400(api, scheduled) -> None:
    response = api.post(fire_url(scheduled), {"n": 1}, format="json")
    assert response.status_code == 400
    assert "Not an API trigger" in response.json()["detail"]
    assert EventLog.objects.count() == 0


def test_firing_a_paused_trigger_is_409(api, owner) -> None:
    paused = make_api_trigger(owner, name="paused", enabled=False)
    response = api.post(fire_url(paused), {"n": 1}, format="json")
    assert response.status_code == 409
    assert "paused" in response.json()["detail"]
    assert EventLog.objects.count() == 0


def test_firing_an_expired_trigger_is_409_saying_it_expired(api, owner) -> None:
    expiring = make_api_trigger(owner, name="short", expires_at=NOW + timedelta(minutes=1))
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        response = api.post(fire_url(expiring), {"n": 1}, format="json")
    assert response.status_code == 409
    assert "expired" in response.json()["detail"]
    assert EventLog.objects.count() == 0


def test_a_repeat_with_the_same_idempotency_key_answers_200_with_the_first_event(api, owner, webhook) -> None:
    first = api.post(fire_url(webhook), {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")  # a fresh token
        repeat = api.post(fire_url(webhook), {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.status_code == 201
    assert repeat.status_code == 200
    assert repeat.json()["id"] == first.json()["id"]
    assert repeat.json()["payload"] == {"n": 1}
    assert repeat.json()["status"] == "archived"  # its age at read time
    assert EventLog.objects.count() == 1


def test_a_different_idempotency_key_fires_again(api, webhook) -> None:
    first = api.post(fire_url(webhook), {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY="a")
    second = api.post(fire_url(webhook), {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY="b")
    assert (first.status_code, second.status_code) == (201, 201)
    assert EventLog.objects.count() == 2


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there", "caf\u00e9"])
def test_a_malformed_idempotency_key_is_400_and_logs_nothing(api, webhook, key) -> None:
    response = api.post(fire_url(webhook), {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert EventLog.objects.count() == 0


def test_a_255_character_idempotency_key_is_accepted(api, webhook) -> None:
    response = api.post(fire_url(webhook), {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 255)
    assert response.status_code == 201


def test_test_logs_a_test_event_for_a_trigger_of_either_type(api, webhook, scheduled) -> None:
    for trigger in (webhook, scheduled):
        response = api.post(f"/api/v1/triggers/{trigger.id}/test")
        assert response.status_code == 201
        body = response.json()
        assert body["message"] == "Test Event Triggered"
        assert body["is_test"] is True
        assert body["source"] == "test"
        assert body["trigger_id"] == str(trigger.id)
    assert EventLog.objects.filter(is_test=True).count() == 2


def test_test_works_on_a_paused_trigger(api, owner) -> None:
    paused = make_api_trigger(owner, name="paused", enabled=False)
    assert api.post(f"/api/v1/triggers/{paused.id}/test").status_code == 201


def test_fire_and_test_on_an_unknown_trigger_are_404(api) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.post(f"/api/v1/triggers/{missing}/fire", {"n": 1}, format="json").status_code == 404
    assert api.post(f"/api/v1/triggers/{missing}/test").status_code == 404
    assert EventLog.objects.count() == 0


def test_fire_on_a_trigger_id_that_is_not_a_uuid_is_404(api) -> None:
    response = api.post("/api/v1/triggers/not-a-uuid/fire", {"n": 1}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Trigger matches the given query."}


def test_a_signed_in_browser_can_fire_through_its_session(client, owner, webhook) -> None:
    client.force_login(owner)
    response = client.post(fire_url(webhook), {"from": "page"}, content_type="application/json")
    assert response.status_code == 201
    assert EventLog.objects.get().payload == {"from": "page"}


@pytest.mark.parametrize("change", ["deactivated", "deleted"])
def test_a_token_outliving_its_user_cannot_fire(owner, webhook, change) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")
    if change == "deactivated":
        owner.is_active = False
        owner.save()
    else:
        owner.delete()
    response = client.post(fire_url(webhook), {"n": 1}, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "User is inactive" if change == "deactivated" else "User not found"}
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert EventLog.objects.count() == 0


def test_the_fire_answer_is_exactly_the_event_serializers(api, webhook) -> None:
    from triggers.serializers import FiredEventOutputSerializer

    body = api.post(fire_url(webhook), {"nested": {"list": [1, "two", None]}}, format="json").json()
    event = EventLog.objects.get()
    assert body == FiredEventOutputSerializer(event, context={"message": "API Trigger Fired"}).data
    # Also for an event with every optional time set (a scheduled, archived one).
    event.scheduled_for = NOW - timedelta(hours=3)
    event.archived_at = NOW - timedelta(minutes=30)
    event.fired_at = NOW - timedelta(hours=3)
    from triggers.serializers import fired_event_body

    assert fired_event_body(event, message="m") == FiredEventOutputSerializer(event, context={"message": "m"}).data
