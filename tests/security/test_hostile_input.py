"""Inputs that used to answer 500: JSON Python reads but jsonb refuses, times past what a
zone east of UTC can show, and an Idempotency-Key replayed with another body."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from core.json_input import JSONInputInvalid, json_parse
from eventlogs.models import EventLog
from tests.support import make_api_trigger, make_trigger, signed_in
from triggers.models import Trigger
from triggers.tests.test_pages import field_errors, form_data

HOSTILE_JSON = {
    "nan": '{"a": NaN}',
    "infinity": '{"a": Infinity}',
    "huge-number": '{"a": 1e400}',
    "nul-character": '{"a": "\\u0000"}',
    "unpaired-surrogate": '{"a": "\\ud800"}',
    "nested-5000-deep": "[" * 5000 + "]" * 5000,
}


@pytest.fixture
def browser(owner: User) -> Client:
    """The owner's browser that, like a real one, gets the 500 page rather than the exception."""
    return signed_in(owner, raise_request_exception=False)


@pytest.mark.parametrize("text", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_the_api_and_the_pages_refuse_the_same_json_through_one_reader(text: str) -> None:
    with pytest.raises(JSONInputInvalid):
        json_parse(text)


@pytest.mark.parametrize("text", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_the_trigger_form_shows_hostile_json_as_a_payload_error(browser: Client, owner: User, text: str) -> None:
    response = browser.post("/triggers/new", form_data(type="api", schedule_kind="", api_payload=text))

    assert response.status_code == 400
    assert "Enter a valid JSON." in field_errors(response.content.decode(), "api_payload")
    assert not Trigger.objects.exists()


@pytest.mark.parametrize("text", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_the_fire_form_shows_hostile_json_as_a_payload_error(browser: Client, owner: User, text: str) -> None:
    trigger = make_api_trigger(owner)

    response = browser.post(f"/triggers/{trigger.id}/fire", {"payload": text}, follow=True)

    # Redirected to the trigger's page (a reload there does not post again), which shows the refusal.
    assert response.redirect_chain == [(f"/triggers/{trigger.id}/", 303)]
    assert response.status_code == 400
    assert "Enter a valid JSON." in field_errors(response.content.decode(), "payload")
    assert not EventLog.objects.exists()


@pytest.mark.parametrize("text", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_the_api_refuses_hostile_json_with_400(api: APIClient, owner: User, text: str) -> None:
    trigger = make_api_trigger(owner)

    response = api.post(f"/api/v1/triggers/{trigger.id}/fire", data=text, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert not EventLog.objects.exists()


# --- year 9999 ----------------------------------------------------------------------------------

FAR_FUTURE = {
    "run_at": {"schedule_details": {"run_at": "9999-12-31T23:00:00Z"}},
    "start_at": {"schedule_details": {"interval_seconds": 60, "start_at": "9999-06-01T00:00:00Z"}},
    "expires_at": {"schedule_details": {"interval_seconds": 60}, "expires_at": "9999-12-31T23:00:00Z"},
}


@pytest.mark.parametrize("field", FAR_FUTURE.keys())
def test_the_api_refuses_a_time_in_the_year_9999_naming_the_field(api: APIClient, field: str) -> None:
    body = {"name": "Far", "type": "scheduled", **FAR_FUTURE[field]}

    response = api.post("/api/v1/triggers", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert field in (errors if field == "expires_at" else errors["schedule_details"])
    assert not Trigger.objects.exists()


def test_the_form_refuses_a_run_at_in_the_year_9999(browser: Client, owner: User) -> None:
    response = browser.post("/triggers/new", form_data(schedule_kind="once", run_at="9999-12-31T10:00"))

    assert response.status_code == 400
    assert "before the year 9999" in field_errors(response.content.decode(), "run_at")
    assert not Trigger.objects.exists()


def test_the_owners_pages_show_the_latest_time_allowed_in_a_zone_east_of_utc(browser: Client, owner: User) -> None:
    owner.timezone = "Pacific/Kiritimati"  # UTC+14
    owner.save()
    trigger = make_trigger(
        owner, schedule_details={"run_at": "9998-12-31T23:59:59Z"}, expires_at=None, name="Last second"
    )

    for path in ("/triggers/", f"/triggers/{trigger.id}/", f"/triggers/{trigger.id}/edit", "/"):
        response = browser.get(path)
        assert response.status_code == 200, path


# --- Idempotency-Key ------------------------------------------------------------------------------


def test_the_same_idempotency_key_with_another_body_answers_409_naming_the_key(api: APIClient, owner: User) -> None:
    trigger = make_api_trigger(owner)
    url = f"/api/v1/triggers/{trigger.id}/fire"
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-42"}

    first = api.post(url, {"amount": 10}, format="json", **headers)
    same = api.post(url, '{ "amount" : 10 }', content_type="application/json", **headers)
    other = api.post(url, {"amount": 1000}, format="json", **headers)

    assert first.status_code == 201
    assert same.status_code == 200
    assert same.json()["event_id"] == first.json()["event_id"]
    assert other.status_code == 409
    assert "order-42" in other.json()["detail"]
    assert "Idempotency-Key" in other.json()["detail"]
    assert EventLog.objects.get().payload == {"amount": 10}


def test_a_retry_without_a_body_matches_a_first_call_without_a_body(api: APIClient, owner: User) -> None:
    trigger = make_api_trigger(owner, api_payload={"default": True})
    url = f"/api/v1/triggers/{trigger.id}/fire"

    first = api.post(url, HTTP_IDEMPOTENCY_KEY="k")
    again = api.post(url, HTTP_IDEMPOTENCY_KEY="k")
    with_body = api.post(url, {"default": True}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert (first.status_code, again.status_code, with_body.status_code) == (201, 200, 409)
