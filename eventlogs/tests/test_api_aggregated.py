"""GET /event_logs/aggregated: per trigger, counts over the retention window (48 h)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from eventlogs.models import EventLog
from tests.support import NOW, make_event

FIRST = uuid.UUID("11111111-1111-1111-1111-111111111111")
SECOND = uuid.UUID("22222222-2222-2222-2222-222222222222")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def log(owner: Any, trigger_uuid: uuid.UUID, *, age: timedelta, name: str = "first", **fields: Any) -> EventLog:
    """An event of ``trigger_uuid``, ``age`` old."""
    return make_event(owner, trigger_uuid=trigger_uuid, trigger_name=name, fired_at=NOW - age, **fields)


def test_it_counts_total_active_archived_and_test_per_trigger(api, owner) -> None:
    log(owner, FIRST, age=timedelta(minutes=1))
    log(owner, FIRST, age=timedelta(hours=2) - timedelta(microseconds=1))
    log(owner, FIRST, age=timedelta(hours=2))
    log(owner, FIRST, age=timedelta(hours=47), source=EventLog.Source.TEST, is_test=True)
    log(owner, FIRST, age=timedelta(hours=48))  # past retention: not counted
    log(owner, SECOND, age=timedelta(minutes=30), name="second")
    response = api.get("/api/v1/event_logs/aggregated")
    assert response.status_code == 200
    assert response.json() == [
        {
            "trigger_id": str(FIRST),
            "trigger_name": "first",
            "trigger_type": "api",
            "total": 4,
            "active": 2,
            "archived": 2,
            "test": 1,
            "last_fired_at": "2026-06-01T11:59:00Z",
        },
        {
            "trigger_id": str(SECOND),
            "trigger_name": "second",
            "trigger_type": "api",
            "total": 1,
            "active": 1,
            "archived": 0,
            "test": 0,
            "last_fired_at": "2026-06-01T11:30:00Z",
        },
    ]


def test_a_renamed_trigger_is_one_entry_under_its_newest_name(api, owner) -> None:
    log(owner, FIRST, age=timedelta(hours=3), name="old name")
    log(owner, FIRST, age=timedelta(minutes=3), name="new name")
    rows = api.get("/api/v1/event_logs/aggregated").json()
    assert [(row["trigger_name"], row["total"], row["archived"]) for row in rows] == [("new name", 2, 1)]


def test_a_deleted_triggers_events_are_counted_by_its_snapshot(api, owner) -> None:
    created = api.post("/api/v1/triggers", {"name": "gone soon", "type": "api"}, format="json").json()
    api.post(f"/api/v1/triggers/{created['id']}/fire", {"n": 1}, format="json")
    assert api.delete(f"/api/v1/triggers/{created['id']}").status_code == 204
    rows = api.get("/api/v1/event_logs/aggregated").json()
    assert [(row["trigger_id"], row["trigger_name"], row["total"]) for row in rows] == [(created["id"], "gone soon", 1)]
