"""The trigger API: create, list, read, replace, change, delete, and the triggers_html fragment."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from rest_framework.test import APIClient

from eventlogs.models import EventLog
from tests.support import NOW, make_api_trigger, make_trigger
from triggers.models import Trigger

RUN_AT = "2026-12-01T10:00:00+00:00"
# The scheduled trigger most tests here use: one firing, at RUN_AT.
NIGHTLY = {"name": "nightly", "schedule_details": {"run_at": RUN_AT}}

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def table(name: str = "triggers") -> int:
    return Trigger.objects.count() if name == "triggers" else EventLog.objects.count()


# --- create ----------------------------------------------------------------------------


def test_it_creates_a_one_time_trigger_and_answers_201_with_the_full_representation(api, owner) -> None:
    response = api.post(
        "/api/v1/triggers",
        {"name": "launch", "type": "scheduled", "schedule_details": {"run_at": RUN_AT}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "type",
        "schedule_details",
        "api_payload",
        "expires_at",
        "is_test",
        "enabled",
        "state",
        "state_reason",
        "disabled_reason",
        "next_fire_at",
        "last_fired_at",
        "scheduled_fire_count",
        "created_at",
        "updated_at",
        "target",
        "signing_secret",
    }
    assert body["signing_secret"] is None  # shown only by the write that sets the first target
    assert body["schedule_details"] == {"run_at": "2026-12-01T10:00:00Z"}
    assert body["next_fire_at"] == "2026-12-01T10:00:00Z"
    assert body["enabled"] is True
    assert (body["state"], body["state_reason"]) == ("active", "")
    assert body["scheduled_fire_count"] == 0
    assert body["last_fired_at"] is None
    stored = Trigger.objects.get(pk=body["id"])
    assert stored.owner == owner
    assert stored.next_fire_at == datetime(2026, 12, 1, 10, tzinfo=UTC)


def test_it_creates_interval_cron_and_api_triggers(api) -> None:
    interval = api.post(
        "/api/v1/triggers",
        {"name": "pulse", "type": "scheduled", "schedule_details": {"interval_seconds": 300}},
        format="json",
    )
    cron = api.post(
        "/api/v1/triggers",
        {"name": "weekdays", "type": "scheduled", "schedule_details": {"cron": "0 9 * * 1-5", "timezone": "UTC"}},
        format="json",
    )
    webhook = api.post(
        "/api/v1/triggers", {"name": "hook", "type": "api", "api_payload": {"kind": "order"}}, format="json"
    )
    assert (interval.status_code, cron.status_code, webhook.status_code) == (201, 201, 201)
    assert interval.json()["schedule_details"] == {"interval_seconds": 300, "start_at": "2026-06-01T12:00:00Z"}
    assert interval.json()["next_fire_at"] == "2026-06-01T12:00:00Z"
    # 2026-06-01 is a Monday; 09:00 UTC has passed, so Tuesday's slot is next.
    assert cron.json()["next_fire_at"] == "2026-06-02T09:00:00Z"
    assert webhook.json()["schedule_details"] is None
    assert webhook.json()["api_payload"] == {"kind": "order"}
    assert webhook.json()["next_fire_at"] is None


def test_it_reads_a_naive_run_at_in_the_owners_zone(api, owner) -> None:
    assert owner.timezone == "Asia/Kolkata"
    response = api.post(
        "/api/v1/triggers",
        {"name": "ist", "type": "scheduled", "schedule_details": {"run_at": "2026-12-01T10:00:00"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    stored = Trigger.objects.get(pk=response.json()["id"])
    assert stored.run_at == datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
    assert response.json()["schedule_details"] == {"run_at": "2026-12-01T04:30:00Z"}


def test_it_reads_a_naive_expires_at_in_the_owners_zone(api) -> None:
    response = api.post(
        "/api/v1/triggers", {"name": "hook", "type": "api", "expires_at": "2026-12-01T10:00:00"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["expires_at"] == "2026-12-01T04:30:00Z"


def test_a_test_trigger_logs_one_test_event_and_schedules_nothing(api) -> None:
    response = api.post(
        "/api/v1/triggers",
        {"name": "try", "type": "scheduled", "schedule_details": {"run_at": RUN_AT}, "is_test": True},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["next_fire_at"] is None
    events = EventLog.objects.filter(trigger_uuid=response.json()["id"])
    assert [(event.source, event.is_test) for event in events] == [("test", True)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "api"}, "name"),
        ({"name": "", "type": "api"}, "name"),
        ({"name": 12, "type": "api"}, "name"),
        ({"name": "x" * 201, "type": "api"}, "name"),
        ({"name": "n"}, "type"),
        ({"name": "n", "type": "cron"}, "type"),
        ({"name": "n", "type": "scheduled"}, "schedule_details"),
        (
            {"name": "n", "type": "scheduled", "schedule_details": {"run_at": "2020-01-01T00:00:00Z"}},
            "schedule_details",
        ),
        ({"name": "n", "type": "scheduled", "schedule_details": {"run_at": "tomorrow"}}, "schedule_details"),
        ({"name": "n", "type": "scheduled", "schedule_details": {"interval_seconds": 5}}, "schedule_details"),
        ({"name": "n", "type": "scheduled", "schedule_details": {"cron": "* * *"}}, "schedule_details"),
        (
            {"name": "n", "type": "scheduled", "schedule_details": {"cron": "* * * * *", "timezone": "Mars/Olympus"}},
            "schedule_details",
        ),
        (
            {"name": "n", "type": "scheduled", "schedule_details": {"run_at": RUN_AT, "cron": "* * * * *"}},
            "schedule_details",
        ),
        ({"name": "n", "type": "scheduled", "schedule_details": "daily"}, "schedule_details"),
        ({"name": "n", "type": "api", "schedule_details": {"run_at": RUN_AT}}, "schedule_details"),
        ({"name": "n", "type": "api", "api_payload": [1, 2]}, "api_payload"),
        ({"name": "n", "type": "api", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "n", "type": "api", "expires_at": "soon"}, "expires_at"),
        (
            {
                "name": "n",
                "type": "scheduled",
                "schedule_details": {"run_at": RUN_AT},
                "expires_at": "2026-11-01T00:00:00Z",
            },
            "expires_at",
        ),
        ({"name": "n", "type": "api", "is_test": "yes"}, "is_test"),
        ({"name": "n", "type": "api", "enabled": 1}, "enabled"),
        ({"name": "n", "type": "api", "colour": "red"}, "colour"),
        ({"name": "n", "type": "api", "scheduled_fire_count": 9}, "scheduled_fire_count"),
        ({"name": "n", "type": "api", "next_fire_at": RUN_AT}, "next_fire_at"),
        ({"name": "n", "type": "api", "id": "00000000-0000-0000-0000-000000000000"}, "id"),
        ({"name": "n", "type": "api", "owner": 1}, "owner"),
    ],
)
def test_it_refuses_bad_input_with_400_naming_the_field_and_stores_nothing(api, body, field) -> None:
    response = api.post("/api/v1/triggers", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert table() == 0
    assert table("events") == 0


@pytest.mark.parametrize(
    ("raw_body", "field"),
    [
        ('{"name": "n", "type": "api", "api_payload": {"text": "a\\u0000b"}}', "detail"),
        ('{"name": "n", "type": "api", "api_payload": {"a\\u0000": 1}}', "detail"),
        ('{"name": "n", "type": "api", "api_payload": {"text": "\\ud800"}}', "detail"),
        ('{"name": "n", "type": "api", "api_payload": {"big": 1e400}}', "detail"),
        ('{"name": "n", "type": "api", "api_payload": ' + "[" * 5000 + "]" * 5000 + "}", "detail"),
        ('{"name": "n", "type": "api", "expires_at": "9999-12-31T23:00:00-05:00"}', "expires_at"),
        (
            '{"name": "n", "type": "scheduled", "schedule_details": {"run_at": "9999-12-31T23:00:00-05:00"}}',
            "schedule_details",
        ),
        (
            '{"name": "n", "type": "scheduled", "schedule_details": '
            '{"interval_seconds": 60, "start_at": "0001-01-01T00:00:00+05:00"}}',
            "schedule_details",
        ),
    ],
)
def test_it_refuses_json_postgres_could_not_store_with_400_not_500(api, raw_body, field) -> None:
    response = api.post("/api/v1/triggers", raw_body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert table() == 0


def test_it_names_a_read_only_field_as_read_only_and_an_unknown_one_as_unknown(api) -> None:
    response = api.post(
        "/api/v1/triggers", {"name": "n", "type": "api", "created_at": RUN_AT, "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"colour": ["Unknown field."], "created_at": ["This field is read-only."]}


def test_it_refuses_a_json_array_and_malformed_json(api) -> None:
    array = api.post("/api/v1/triggers", [{"name": "n", "type": "api"}], format="json")
    malformed = api.post("/api/v1/triggers", '{"name": ', content_type="application/json")
    assert array.status_code == 400
    assert malformed.status_code == 400
    assert table() == 0


def test_it_refuses_a_body_over_64_kib_with_413_and_creates_nothing(api) -> None:
    body = json.dumps({"name": "big", "type": "api", "api_payload": {"blob": "x" * (65 * 1024)}})
    response = api.post("/api/v1/triggers", body, content_type="application/json")
    assert response.status_code == 413
    assert "detail" in response.json()
    assert table() == 0


def test_a_session_post_without_a_csrf_token_is_refused_with_403(owner) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    assert browser.get("/api/v1/triggers").status_code == 200  # the session does authenticate
    response = browser.post("/api/v1/triggers", {"name": "n", "type": "api"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert table() == 0


def test_an_anonymous_request_is_refused_with_401(client) -> None:
    assert APIClient().get("/api/v1/triggers").status_code == 401
    assert APIClient().post("/api/v1/triggers", {"name": "n", "type": "api"}, format="json").status_code == 401
    assert table() == 0


# --- list --------------------------------------------------------------------------------


def test_it_lists_own_triggers_newest_first_with_a_count(api, owner) -> None:
    first = make_trigger(owner, name="first", schedule_details={"run_at": RUN_AT})
    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        second = make_api_trigger(owner, name="second")
    response = api.get("/api/v1/triggers")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [str(second.id), str(first.id)]


def test_it_filters_by_type_and_enabled(api, owner) -> None:
    scheduled = make_trigger(owner, **NIGHTLY)
    webhook = make_api_trigger(owner)
    paused = make_api_trigger(owner, name="paused", enabled=False)
    assert [row["id"] for row in api.get("/api/v1/triggers?type=scheduled").json()["results"]] == [str(scheduled.id)]
    assert {row["id"] for row in api.get("/api/v1/triggers?type=api").json()["results"]} == {
        str(webhook.id),
        str(paused.id),
    }
    assert [row["id"] for row in api.get("/api/v1/triggers?enabled=false").json()["results"]] == [str(paused.id)]
    assert api.get("/api/v1/triggers?enabled=true&type=api").json()["count"] == 1


@pytest.mark.parametrize(("query", "parameter"), [("type=cron", "type"), ("enabled=maybe", "enabled")])
def test_it_refuses_a_bad_filter_value_with_400_naming_the_parameter(api, owner, query, parameter) -> None:
    make_trigger(owner, **NIGHTLY)
    response = api.get(f"/api/v1/triggers?{query}")
    assert response.status_code == 400
    assert parameter in response.json()


def test_a_page_size_above_100_is_capped_at_100(api, owner) -> None:
    Trigger.objects.bulk_create(
        Trigger(owner=owner, name=f"hook {number}", type=Trigger.Type.API) for number in range(105)
    )
    capped = api.get("/api/v1/triggers?page_size=1000").json()
    assert capped["count"] == 105
    assert len(capped["results"]) == 100
    default = api.get("/api/v1/triggers").json()
    assert len(default["results"]) == 50
    last = api.get("/api/v1/triggers?page_size=100&page=2").json()
    assert len(last["results"]) == 5
    assert api.get("/api/v1/triggers?page=9").status_code == 404


# --- retrieve, last_fired_at --------------------------------------------------------------


def test_it_reads_one_trigger(api, owner) -> None:
    trigger = make_trigger(owner, **NIGHTLY)
    response = api.get(f"/api/v1/triggers/{trigger.id}")
    assert response.status_code == 200
    assert response.json()["id"] == str(trigger.id)
    assert response.json()["name"] == "nightly"


def test_an_unknown_or_malformed_id_is_404(api) -> None:
    assert api.get("/api/v1/triggers/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.get("/api/v1/triggers/not-a-uuid").status_code == 404


def test_last_fired_at_counts_api_firings_and_tests_as_the_aggregated_view_does(api, owner) -> None:
    trigger = make_api_trigger(owner)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        api.post(f"/api/v1/triggers/{trigger.id}/fire", format="json")
        after_fire = api.get(f"/api/v1/triggers/{trigger.id}").json()
    with time_machine.travel(NOW + timedelta(minutes=9), tick=False):
        api.post(f"/api/v1/triggers/{trigger.id}/test", format="json")
        detail = api.get(f"/api/v1/triggers/{trigger.id}").json()
        listed = api.get("/api/v1/triggers").json()["results"][0]
        aggregated = api.get("/api/v1/event_logs/aggregated").json()
    assert after_fire["last_fired_at"] == "2026-06-01T12:05:00Z"
    assert detail["last_fired_at"] == "2026-06-01T12:09:00Z"
    assert listed["last_fired_at"] == "2026-06-01T12:09:00Z"
    assert [row["last_fired_at"] for row in aggregated] == ["2026-06-01T12:09:00Z"]


def test_an_api_firing_shows_as_last_fired_and_is_not_counted_as_a_scheduled_firing(api, owner) -> None:
    trigger = make_api_trigger(owner)
    api.post(f"/api/v1/triggers/{trigger.id}/fire", format="json")
    body = api.get(f"/api/v1/triggers/{trigger.id}").json()
    assert body["last_fired_at"] is not None
    assert body["scheduled_fire_count"] == 0
    assert "fire_count" not in body


def test_last_fired_at_ignores_an_event_past_retention_that_the_delete_job_has_not_removed(
    api, owner, settings
) -> None:
    trigger = make_api_trigger(owner)
    api.post(f"/api/v1/triggers/{trigger.id}/fire", format="json")
    # A minute-old event under a 30-second retention, as a 49-hour-old one under 48 hours.
    settings.EVENT_LOG_DELETE_AFTER = timedelta(seconds=30)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        detail = api.get(f"/api/v1/triggers/{trigger.id}").json()
        listed = api.get("/api/v1/triggers").json()["results"][0]
    assert EventLog.objects.filter(trigger_uuid=trigger.id).exists()  # the delete job is late
    assert detail["last_fired_at"] is None
    assert listed["last_fired_at"] is None


def test_last_fired_at_keeps_the_schedulers_value_when_it_is_later(api, owner) -> None:
    trigger = make_trigger(owner, **NIGHTLY)
    Trigger.objects.filter(pk=trigger.pk).update(last_fired_at=NOW + timedelta(hours=1), scheduled_fire_count=3)
    body = api.get(f"/api/v1/triggers/{trigger.id}").json()
    assert body["last_fired_at"] == "2026-06-01T13:00:00Z"
    assert body["scheduled_fire_count"] == 3


# --- update -------------------------------------------------------------------------------


def test_put_replaces_the_trigger_and_recomputes_next_fire_at(api, owner) -> None:
    trigger = make_trigger(owner, **NIGHTLY, api_payload={"old": True})
    response = api.put(
        f"/api/v1/triggers/{trigger.id}",
        {"name": "renamed", "type": "scheduled", "schedule_details": {"interval_seconds": 3600}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["name"] == "renamed"
    assert body["schedule_details"] == {"interval_seconds": 3600, "start_at": "2026-06-01T12:00:00Z"}
    assert body["api_payload"] == {}  # omitted in a PUT: back to its default
    trigger.refresh_from_db()
    assert trigger.schedule_kind == "interval"
    assert trigger.next_fire_at == NOW


def test_put_needs_the_required_fields(api, owner) -> None:
    trigger = make_trigger(owner, **NIGHTLY)
    response = api.put(f"/api/v1/triggers/{trigger.id}", {"name": "only a name"}, format="json")
    assert response.status_code == 400
    assert "type" in response.json()
    trigger.refresh_from_db()
    assert trigger.name == "nightly"


def test_patch_enabled_false_pauses_and_true_resumes(api, owner) -> None:
    trigger = make_trigger(owner, **NIGHTLY)
    paused = api.patch(f"/api/v1/triggers/{trigger.id}", {"enabled": False}, format="json")
    assert paused.status_code == 200
    assert paused.json()["enabled"] is False
    assert paused.json()["next_fire_at"] is None
    assert paused.json()["schedule_details"] == {"run_at": "2026-12-01T10:00:00Z"}
    resumed = api.patch(f"/api/v1/triggers/{trigger.id}", {"enabled": True}, format="json")
    assert resumed.json()["next_fire_at"] == "2026-12-01T10:00:00Z"
    trigger.refresh_from_db()
    assert trigger.enabled is True


def test_patch_changes_only_the_given_fields(api, owner) -> None:
    trigger = make_api_trigger(owner, api_payload={"keep": 1})
    response = api.patch(f"/api/v1/triggers/{trigger.id}", {"name": "renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["api_payload"] == {"keep": 1}
    assert response.json()["name"] == "renamed"


@pytest.mark.parametrize(
    "body",
    [
        {"schedule_details": {"run_at": "2020-01-01T00:00:00Z"}},
        {"schedule_details": {"interval_seconds": 1}},
        {"name": ""},
        {"scheduled_fire_count": 100},
        {"next_fire_at": RUN_AT},
        {"colour": "red"},
        {"enabled": "no"},
    ],
)
def test_a_bad_patch_is_400_and_changes_nothing(api, owner, body) -> None:
    trigger = make_trigger(owner, **NIGHTLY)
    before = Trigger.objects.filter(pk=trigger.pk).values().get()
    response = api.patch(f"/api/v1/triggers/{trigger.id}", body, format="json")
    assert response.status_code == 400
    assert set(body) & set(response.json())
    assert Trigger.objects.filter(pk=trigger.pk).values().get() == before


def test_patch_over_64_kib_is_413_and_changes_nothing(api, owner) -> None:
    trigger = make_api_trigger(owner)
    body = json.dumps({"api_payload": {"blob": "x" * (65 * 1024)}})
    response = api.patch(f"/api/v1/triggers/{trigger.id}", body, content_type="application/json")
    assert response.status_code == 413
    trigger.refresh_from_db()
    assert trigger.api_payload == {}


# --- delete -------------------------------------------------------------------------------


def test_delete_answers_204_and_keeps_the_event_logs(api, owner) -> None:
    trigger = make_api_trigger(owner)
    api.post(f"/api/v1/triggers/{trigger.id}/fire", {"n": 1}, format="json")
    response = api.delete(f"/api/v1/triggers/{trigger.id}")
    assert response.status_code == 204
    assert not Trigger.objects.filter(pk=trigger.pk).exists()
    event = EventLog.objects.get()
    assert event.trigger_id is None
    assert event.trigger_uuid == trigger.id
    assert api.get(f"/api/v1/triggers/{trigger.id}").status_code == 404


# --- HTML fragment -------------------------------------------------------------------------


def test_the_triggers_fragment_is_html_of_own_triggers_with_values_escaped(api, owner) -> None:
    make_api_trigger(owner, name="<script>alert(1)</script>", api_payload={"x": "<script>alert(1)</script>"})
    response = api.get("/api/v1/triggers/triggers_html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<table" in page
    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2


def test_the_triggers_fragment_shows_a_payload_as_the_pages_do(api, owner) -> None:
    make_api_trigger(owner, api_payload={"b": "café", "a": 1})
    page = api.get("/api/v1/triggers/triggers_html").content.decode()
    assert "{\n  &quot;a&quot;: 1,\n  &quot;b&quot;: &quot;café&quot;\n}" in page


def test_the_triggers_fragment_needs_authentication() -> None:
    assert APIClient().get("/api/v1/triggers/triggers_html").status_code == 401


def test_options_on_the_triggers_fragment_is_refused_not_a_server_error(api) -> None:
    response = api.options("/api/v1/triggers/triggers_html")
    assert response.status_code == 405
    assert "GET" in response["Allow"]


# --- OpenAPI --------------------------------------------------------------------------------


def test_the_openapi_schema_validates_without_warnings(tmp_path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    assert "/api/v1/triggers/{id}/fire/" in schema
    assert "Idempotency-Key" in schema


@pytest.mark.parametrize("given", ["europe/berlin", "EUROPE/BERLIN", " Europe/Berlin "])
def test_it_accepts_a_cron_zone_in_any_letter_case_and_stores_its_canonical_name(api, given) -> None:
    body = {"name": "nightly", "type": "scheduled", "schedule_details": {"cron": "0 2 * * *", "timezone": given}}
    response = api.post("/api/v1/triggers", body, format="json")
    assert response.status_code == 201, response.json()
    assert Trigger.objects.get().cron_timezone == "Europe/Berlin"
    assert response.json()["schedule_details"]["timezone"] == "Europe/Berlin"


def test_it_still_refuses_a_cron_zone_that_is_no_zone_in_any_case(api) -> None:
    body = {"name": "nightly", "type": "scheduled", "schedule_details": {"cron": "0 2 * * *", "timezone": "mars/base"}}
    response = api.post("/api/v1/triggers", body, format="json")
    assert response.status_code == 400
    assert "timezone" in response.json()["schedule_details"]


def test_an_expiry_with_an_offset_postgres_cannot_store_is_kept_as_its_utc_moment(api) -> None:
    """ISO 8601 allows offsets to ±23:59; PostgreSQL refuses any beyond ±15:59."""
    response = api.post(
        "/api/v1/triggers",
        {"name": "far offset", "type": "api", "expires_at": "2512-04-18T14:36:01-18:01"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["expires_at"].startswith("2512-04-19T08:37:01")


def test_an_expiry_past_the_last_representable_moment_is_a_400(api) -> None:
    response = api.post(
        "/api/v1/triggers",
        {"name": "too far", "type": "api", "expires_at": "9999-12-31T23:00:00-05:00"},
        format="json",
    )
    assert response.status_code == 400
    assert "expires_at" in response.json()
