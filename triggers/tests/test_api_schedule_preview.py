"""POST /api/v1/schedules/preview: a schedule in words and its next firings, checked as a create is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from tests.support import make_trigger
from triggers.models import Trigger

URL = "/api/v1/schedules/preview"
# Sunday 1 Mar 2026, 04:30 UTC (10:00 in Asia/Kolkata, every new user's zone).
MORNING = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


def test_it_describes_a_cron_and_lists_its_next_five_firings_in_the_users_zone(api: APIClient) -> None:
    response = api.post(URL, {"schedule_details": {"cron": "30 9 * * 1-5"}}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "description": "at 09:30 on weekdays (Asia/Kolkata)",
        "timezone": "Asia/Kolkata",
        "next_firings": [
            "2026-03-02T09:30:00+05:30",
            "2026-03-03T09:30:00+05:30",
            "2026-03-04T09:30:00+05:30",
            "2026-03-05T09:30:00+05:30",
            "2026-03-06T09:30:00+05:30",
        ],
    }
    assert not Trigger.objects.exists()


def test_it_shows_the_firings_in_the_zone_the_request_names(api: APIClient) -> None:
    response = api.post(
        URL,
        {"schedule_details": {"cron": "30 9 * * 1-5", "timezone": "Europe/Berlin"}, "timezone": "europe/berlin"},
        format="json",
    )

    body = response.json()
    assert body["description"] == "at 09:30 on weekdays (Europe/Berlin)"
    assert body["timezone"] == "Europe/Berlin"
    assert body["next_firings"][0] == "2026-03-02T09:30:00+01:00"


def test_it_lists_an_interval_from_its_start(api: APIClient) -> None:
    response = api.post(
        URL, {"schedule_details": {"interval_seconds": 900, "start_at": "2026-03-01T11:00"}}, format="json"
    )

    body = response.json()
    assert body["description"] == "every 15 minutes"
    assert body["next_firings"] == [
        "2026-03-01T11:00:00+05:30",
        "2026-03-01T11:15:00+05:30",
        "2026-03-01T11:30:00+05:30",
        "2026-03-01T11:45:00+05:30",
        "2026-03-01T12:00:00+05:30",
    ]


def test_an_interval_may_be_given_in_minutes_or_hours(api: APIClient) -> None:
    minutes = api.post(URL, {"schedule_details": {"interval": 5, "interval_unit": "minutes"}}, format="json")
    hours = api.post(URL, {"schedule_details": {"interval": 2, "interval_unit": "hours"}}, format="json")
    weeks = api.post(URL, {"schedule_details": {"interval": 2, "interval_unit": "weeks"}}, format="json")

    assert minutes.json()["description"] == "every 5 minutes"
    assert hours.json()["description"] == "every 2 hours"
    assert weeks.status_code == 400
    assert "interval_unit" in weeks.json()["schedule_details"]


def test_a_one_time_schedule_has_one_firing(api: APIClient) -> None:
    response = api.post(URL, {"schedule_details": {"run_at": "2026-03-01T10:00:00Z"}}, format="json")

    assert response.status_code == 200
    assert response.json()["next_firings"] == ["2026-03-01T15:30:00+05:30"]
    assert response.json()["description"] == "once at 1 Mar 2026, 15:30 (Asia/Kolkata)"


def test_firings_stop_before_expires_at(api: APIClient) -> None:
    response = api.post(
        URL,
        {"schedule_details": {"cron": "0 * * * *"}, "expires_at": "2026-03-01T13:00"},
        format="json",
    )

    # At 10:00 sharp the 10:00 slot is still to come.
    assert response.json()["next_firings"] == [
        "2026-03-01T10:00:00+05:30",
        "2026-03-01T11:00:00+05:30",
        "2026-03-01T12:00:00+05:30",
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"schedule_details": {"cron": "61 * * * *"}}, {"schedule_details": {"cron": ["Not a valid cron"]}}),
        ({"schedule_details": {"interval_seconds": 5}}, {"schedule_details": {"interval_seconds": ["at least 60"]}}),
        ({"schedule_details": {"run_at": "2020-01-01T00:00"}}, {"schedule_details": {"run_at": ["future"]}}),
        ({"schedule_details": {"cron": "0 0 30 2 *"}}, {"schedule_details": {"cron": ["never fires"]}}),
        ({"schedule_details": {"cron": "* * * * *"}, "expires_at": "2020-01-01T00:00"}, {"expires_at": ["future"]}),
        ({"schedule_details": {"cron": "* * * * *"}, "timezone": "Mars/Olympus"}, {"timezone": ["IANA"]}),
        ({}, {"schedule_details": ["required"]}),
    ],
)
def test_a_bad_schedule_is_a_400_naming_the_field(api: APIClient, body: dict, problem: dict) -> None:
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    _assert_names(response.json(), problem)


def _assert_names(errors: dict | list, expected: dict | list) -> None:
    if isinstance(expected, dict):
        assert set(expected) <= set(errors), errors
        for key, value in expected.items():
            _assert_names(errors[key], value)
    else:
        assert any(expected[0] in message for message in errors), errors


def test_it_needs_a_signed_in_caller(client) -> None:
    response = APIClient().post(URL, {"schedule_details": {"cron": "* * * * *"}}, format="json")

    assert response.status_code == 401


def test_as_an_edit_a_fired_one_time_triggers_past_run_time_is_kept(api: APIClient, owner, other_user) -> None:
    with time_machine.travel(datetime(2026, 2, 28, tzinfo=UTC), tick=False):
        fired = make_trigger(owner, schedule_details={"run_at": "2026-03-01T00:00:00Z"})
        others = make_trigger(other_user, schedule_details={"run_at": "2026-03-01T00:00:00Z"})
    details = {"run_at": "2026-03-01T00:00:00Z"}

    as_create = api.post(URL, {"schedule_details": details}, format="json")
    as_edit = api.post(URL, {"schedule_details": details, "trigger": str(fired.id)}, format="json")
    of_another_user = api.post(URL, {"schedule_details": details, "trigger": str(others.id)}, format="json")

    assert as_create.status_code == 400
    assert as_edit.status_code == 200
    assert as_edit.json()["next_firings"] == []
    assert of_another_user.status_code == 404
