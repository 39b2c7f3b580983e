"""A second user must never reach, change or even see the first user's triggers and events."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from eventlogs.models import EventLog
from tests.support import NOW, make_api_trigger, make_trigger
from triggers.models import Trigger
from triggers.services import trigger_fire, trigger_test

SECRET = "owner-only-secret"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def owners_world(owner) -> dict[str, object]:
    webhook = make_api_trigger(owner, name=f"{SECRET} hook")
    scheduled = make_trigger(owner, name=f"{SECRET} nightly", schedule_details={"cron": "0 2 * * *"})
    fired = trigger_fire(trigger=webhook, payload={"secret": SECRET}, idempotency_key="k1").event
    with time_machine.travel(NOW - timedelta(hours=3), tick=False):
        archived = trigger_test(trigger=scheduled)
    return {"webhook": webhook, "scheduled": scheduled, "fired": fired, "archived": archived}


def snapshot() -> tuple[list[dict], list[dict]]:
    return list(Trigger.objects.order_by("id").values()), list(EventLog.objects.order_by("id").values())


@pytest.mark.parametrize("which", ["webhook", "scheduled"])
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("put", "", {"name": "mine now", "type": "api"}),
        ("patch", "", {"enabled": False}),
        ("patch", "", {"name": "mine now"}),
        ("delete", "", None),
        ("post", "/fire", {"n": 1}),
        ("post", "/fire", None),
        ("post", "/test", None),
    ],
)
def test_every_verb_on_another_users_trigger_is_404_and_changes_nothing(
    other_api, owners_world, which, method, suffix, body
) -> None:
    trigger = owners_world[which]
    before = snapshot()
    for path in (f"/api/v1/triggers/{trigger.id}{suffix}", f"/api/v1/triggers/{trigger.id}{suffix}/"):
        response = getattr(other_api, method)(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
        assert response.status_code == 404, (path, response.status_code)
        assert SECRET not in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("which", ["fired", "archived"])
def test_another_users_event_is_404(other_api, owners_world, which) -> None:
    event = owners_world[which]
    for path in (f"/api/v1/event_logs/{event.id}", f"/api/v1/event_logs/{event.id}/"):
        response = other_api.get(path)
        assert response.status_code == 404
        assert SECRET not in response.content.decode()


def test_event_logs_are_read_only(api, owners_world) -> None:
    event = owners_world["fired"]
    before = snapshot()
    assert api.delete(f"/api/v1/event_logs/{event.id}").status_code == 405
    assert api.patch(f"/api/v1/event_logs/{event.id}", {"payload": {}}, format="json").status_code == 405
    assert api.post("/api/v1/event_logs", {"payload": {}}, format="json").status_code == 405
    assert snapshot() == before


def test_nothing_of_the_owner_appears_in_another_users_lists_counts_aggregate_or_fragments(
    other_api, owners_world
) -> None:
    triggers = other_api.get("/api/v1/triggers").json()
    assert triggers["count"] == 0
    assert triggers["results"] == []
    for query in ("type=api", "type=scheduled", "enabled=true"):
        assert other_api.get(f"/api/v1/triggers?{query}").json()["count"] == 0
    for status in ("active", "archived", "all"):
        assert other_api.get(f"/api/v1/event_logs?status={status}").json()["results"] == []
    webhook = owners_world["webhook"]
    assert other_api.get(f"/api/v1/event_logs?status=all&trigger={webhook.id}").json()["results"] == []
    assert other_api.get("/api/v1/event_logs/aggregated").json() == []
    for path in ("/api/v1/triggers/triggers_html", "/api/v1/event_logs/event_logs_html?status=all"):
        page = other_api.get(path)
        assert page.status_code == 200
        assert SECRET not in page.content.decode()
        assert str(webhook.id) not in page.content.decode()


def test_the_owner_does_see_them(api, owners_world) -> None:
    """The other tests would pass on an empty database; this one proves the data is there."""
    assert api.get("/api/v1/triggers").json()["count"] == 2
    assert len(api.get("/api/v1/event_logs?status=all").json()["results"]) == 2
    assert len(api.get("/api/v1/event_logs/aggregated").json()) == 2
    assert SECRET in api.get("/api/v1/triggers/triggers_html").content.decode()
    assert SECRET in api.get("/api/v1/event_logs/event_logs_html?status=all").content.decode()


def test_the_same_idempotency_key_on_another_users_trigger_does_not_return_the_owners_event(
    api, other_api, other_user, owners_world
) -> None:
    theirs = make_api_trigger(other_user, name="theirs")
    response = other_api.post(f"/api/v1/triggers/{theirs.id}/fire", {"n": 2}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201
    assert response.json()["id"] != str(owners_world["fired"].id)
    assert SECRET not in response.content.decode()
