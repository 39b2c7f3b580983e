"""GET /event_logs, /event_logs/{id} and the event_logs_html fragment."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from eventlogs.models import EventLog
from tests.support import NOW, build_event, make_event

MICROSECOND = timedelta(microseconds=1)
TRIGGER_ID = uuid.UUID("11111111-1111-1111-1111-111111111111")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def log(owner: Any, *, age: timedelta, **fields: Any) -> EventLog:
    """An event of one trigger, ``age`` old."""
    defaults = {"trigger_uuid": TRIGGER_ID, "trigger_name": "webhook", "payload": {"n": 1}, "fired_at": NOW - age}
    return make_event(owner, **{**defaults, **fields})


def ids(response: Any) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def test_it_lists_active_events_newest_first_by_default(api, owner) -> None:
    older = log(owner, age=timedelta(minutes=30))
    newer = log(owner, age=timedelta(minutes=1))
    log(owner, age=timedelta(hours=3))
    response = api.get("/api/v1/event_logs")
    assert response.status_code == 200
    assert ids(response) == [str(newer.id), str(older.id)]
    row = response.json()["results"][0]
    assert set(row) == {
        "id",
        "trigger_id",
        "trigger_name",
        "trigger_type",
        "source",
        "payload",
        "is_test",
        "status",
        "fired_at",
        "scheduled_for",
        "archived_at",
    }
    assert row["trigger_id"] == str(TRIGGER_ID)
    assert row["status"] == "active"
    assert row["fired_at"] == "2026-06-01T11:59:00Z"


def test_it_filters_by_status_trigger_and_source(api, owner) -> None:
    active = log(owner, age=timedelta(minutes=1))
    archived = log(owner, age=timedelta(hours=5))
    other_trigger = log(owner, age=timedelta(minutes=2), trigger_uuid=uuid.uuid4())
    test = log(owner, age=timedelta(minutes=3), source=EventLog.Source.TEST, is_test=True)
    assert ids(api.get("/api/v1/event_logs?status=archived")) == [str(archived.id)]
    assert ids(api.get("/api/v1/event_logs?status=all")) == [
        str(active.id),
        str(other_trigger.id),
        str(test.id),
        str(archived.id),
    ]
    assert ids(api.get(f"/api/v1/event_logs?status=all&trigger={other_trigger.trigger_uuid}")) == [
        str(other_trigger.id)
    ]
    assert ids(api.get("/api/v1/event_logs?source=test")) == [str(test.id)]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("status=deleted", "status"), ("trigger=not-a-uuid", "trigger"), ("source=cron", "source")],
)
def test_a_bad_filter_is_400_naming_the_parameter(api, owner, query, parameter) -> None:
    log(owner, age=timedelta(minutes=1))
    response = api.get(f"/api/v1/event_logs?{query}")
    assert response.status_code == 400
    assert parameter in response.json()


@pytest.mark.parametrize(
    ("age", "status"),
    [(timedelta(hours=2) - MICROSECOND, "active"), (timedelta(hours=2), "archived")],
)
def test_status_is_computed_from_age_at_read_time(api, owner, age, status) -> None:
    # The stored column says "active" (the archive job has not run): the API must not believe it.
    event = log(owner, age=age)
    all_rows = api.get("/api/v1/event_logs?status=all").json()["results"]
    assert [(row["id"], row["status"]) for row in all_rows] == [(str(event.id), status)]
    assert ids(api.get(f"/api/v1/event_logs?status={status}")) == [str(event.id)]
    other = "archived" if status == "active" else "active"
    assert ids(api.get(f"/api/v1/event_logs?status={other}")) == []
    assert api.get(f"/api/v1/event_logs/{event.id}").json()["status"] == status


def test_an_event_just_under_48_hours_old_is_returned(api, owner) -> None:
    event = log(owner, age=timedelta(hours=48) - MICROSECOND)
    assert ids(api.get("/api/v1/event_logs?status=all")) == [str(event.id)]
    assert ids(api.get("/api/v1/event_logs?status=archived")) == [str(event.id)]
    assert api.get(f"/api/v1/event_logs/{event.id}").status_code == 200


def test_an_event_48_hours_old_is_never_returned_even_before_the_delete_job(api, owner) -> None:
    event = log(owner, age=timedelta(hours=48), archived_at=NOW - timedelta(hours=46))
    assert ids(api.get("/api/v1/event_logs?status=all")) == []
    assert ids(api.get("/api/v1/event_logs?status=archived")) == []
    assert api.get(f"/api/v1/event_logs/{event.id}").status_code == 404
    assert api.get("/api/v1/event_logs/aggregated").json() == []
    assert str(event.id) not in api.get("/api/v1/event_logs/event_logs_html?status=all").content.decode()


def test_it_reads_one_event(api, owner) -> None:
    event = log(owner, age=timedelta(minutes=5), payload={"hello": "world"})
    response = api.get(f"/api/v1/event_logs/{event.id}")
    assert response.status_code == 200
    assert response.json()["payload"] == {"hello": "world"}
    assert api.get(f"/api/v1/event_logs/{uuid.uuid4()}").status_code == 404
    assert api.get("/api/v1/event_logs/not-a-uuid").status_code == 404


def test_cursor_pages_neither_repeat_nor_skip_rows(api, owner) -> None:
    # Ties on fired_at are the hard case for a cursor.
    for minute in (1, 1, 1, 2, 3, 3, 4, 5, 5, 5, 6):
        log(owner, age=timedelta(minutes=minute))
    expected = [str(pk) for pk in EventLog.objects.order_by("-fired_at", "-id").values_list("id", flat=True)]
    seen: list[str] = []
    url: str | None = "/api/v1/event_logs?page_size=3"
    pages = 0
    while url:
        body = api.get(url).json()
        assert len(body["results"]) <= 3
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1
    assert seen == expected
    assert pages == 4


def test_a_page_size_above_100_is_capped_at_100(api, owner) -> None:
    EventLog.objects.bulk_create(
        build_event(owner, trigger_uuid=TRIGGER_ID, fired_at=NOW - timedelta(seconds=second))
        for second in range(1, 120 + 1)
    )
    assert len(api.get("/api/v1/event_logs?page_size=1000").json()["results"]) == 100
    assert len(api.get("/api/v1/event_logs").json()["results"]) == 50


@pytest.mark.parametrize("cursor", ["garbage", base64.b64encode(b"o=0&r=0&p=not-a-date").decode()])
def test_an_invalid_cursor_is_404(api, owner, cursor) -> None:
    log(owner, age=timedelta(minutes=1))
    response = api.get("/api/v1/event_logs", {"cursor": cursor})
    assert response.status_code == 404
    assert "cursor" in response.json()["detail"].lower()


def test_options_on_the_event_logs_fragment_is_refused_not_a_server_error(api) -> None:
    response = api.options("/api/v1/event_logs/event_logs_html")
    assert response.status_code == 405
    assert "GET" in response["Allow"]


def test_the_event_logs_fragment_is_html_of_own_events_with_payloads_escaped(api, owner) -> None:
    log(
        owner,
        age=timedelta(minutes=1),
        trigger_name="<script>alert(1)</script>",
        payload={"x": "<script>alert(1)</script>"},
    )
    response = api.get("/api/v1/event_logs/event_logs_html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<table" in page
    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2


def test_the_event_logs_fragment_shows_a_payload_as_the_pages_do(api, owner) -> None:
    log(owner, age=timedelta(minutes=1), payload={"b": "café", "a": 1})
    page = api.get("/api/v1/event_logs/event_logs_html").content.decode()
    assert "{\n  &quot;a&quot;: 1,\n  &quot;b&quot;: &quot;café&quot;\n}" in page


def test_the_event_logs_fragment_is_bounded_to_the_newest_100(api, owner) -> None:
    EventLog.objects.bulk_create(
        build_event(owner, trigger_uuid=TRIGGER_ID, fired_at=NOW - timedelta(seconds=second))
        for second in range(1, 110 + 1)
    )
    page = api.get("/api/v1/event_logs/event_logs_html").content.decode()
    assert page.count("data-event-id=") == 100


def test_the_event_logs_fragment_needs_authentication_and_valid_filters(api) -> None:
    assert APIClient().get("/api/v1/event_logs/event_logs_html").status_code == 401
    assert api.get("/api/v1/event_logs/event_logs_html?status=deleted").status_code == 400


def test_anonymous_reads_are_401() -> None:
    anonymous = APIClient()
    assert anonymous.get("/api/v1/event_logs").status_code == 401
    assert anonymous.get("/api/v1/event_logs/aggregated").status_code == 401


def test_a_list_page_is_exactly_what_the_event_serializer_gives(api, owner) -> None:
    from eventlogs.selectors import eventlogs_visible
    from eventlogs.serializers import EventLogOutputSerializer

    log(owner, age=timedelta(minutes=5), payload={"nested": [1, {"a": None}]})
    log(owner, age=timedelta(hours=3), source=EventLog.Source.SCHEDULED, scheduled_for=NOW - timedelta(hours=3))
    log(owner, age=timedelta(hours=5), is_test=True, archived_at=NOW - timedelta(hours=2))
    page = api.get("/api/v1/event_logs?status=all").json()["results"]
    expected = EventLogOutputSerializer(eventlogs_visible(owner_id=owner.pk, status="all"), many=True).data
    assert page == expected
    assert [row["status"] for row in page] == ["active", "archived", "archived"]
