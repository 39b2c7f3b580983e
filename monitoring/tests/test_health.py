"""/healthz stays a cheap database ping; /healthz?deep=1 says whether Sigwise does its work."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from time_machine import TimeMachineFixture

from accounts.models import User
from monitoring.heartbeats import HeartbeatThread
from monitoring.models import Heartbeat
from monitoring.services import heartbeat_beat, heartbeats_prune
from triggers.services import trigger_create
from triggers.tests.scheduler_process import wait_for

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    time_machine.move_to(START, tick=False)
    return time_machine


def beat(kind: str = Heartbeat.Kind.SCHEDULER, heartbeat_id: uuid.UUID | None = None) -> uuid.UUID:
    heartbeat_id = heartbeat_id or uuid.uuid4()
    heartbeat_beat(heartbeat_id=heartbeat_id, kind=kind, host="sched-1", pid=4242, version="1.0.0", started_at=START)
    return heartbeat_id


def deep(client: Client) -> tuple[int, dict]:
    response = client.get("/healthz?deep=1")
    return response.status_code, response.json()


def test_deep_health_is_200_with_details_while_a_scheduler_beats_and_nothing_is_late(
    client: Client, clock: TimeMachineFixture
) -> None:
    beat()
    beat(Heartbeat.Kind.DELIVERIES)
    clock.shift(timedelta(seconds=29))

    status, body = deep(client)

    assert status == 200, body
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["processes"]["scheduler"] == {"running": 1, "seconds_since_beat": 29.0}
    assert body["processes"]["deliveries"]["running"] == 1
    assert body["triggers_due"] == 0
    assert body["deliveries_backlog"] == 0


def test_deep_health_is_503_when_no_scheduler_ever_beat(client: Client, clock: TimeMachineFixture) -> None:
    beat(Heartbeat.Kind.DELIVERIES)  # a delivery worker is not a scheduler

    status, body = deep(client)

    assert status == 503
    assert body["reason"] == "no scheduler has beaten for 30 s"
    assert body["processes"]["scheduler"] == {"running": 0, "seconds_since_beat": None}


def test_deep_health_is_503_when_the_scheduler_has_been_silent_for_over_30_seconds(
    client: Client, clock: TimeMachineFixture
) -> None:
    beat()
    clock.shift(timedelta(seconds=31))

    status, body = deep(client)

    assert status == 503
    assert body["reasons"] == ["no scheduler has beaten for 30 s"]
    assert body["processes"]["scheduler"]["seconds_since_beat"] == 31.0


def test_deep_health_is_503_when_the_oldest_due_slot_is_over_60_seconds_late(
    owner: User, client: Client, clock: TimeMachineFixture
) -> None:
    trigger_create(
        owner=owner,
        values={"name": "Once", "type": "scheduled", "schedule_details": {"run_at": "2026-01-05T10:00:05Z"}},
    )
    clock.move_to(START + timedelta(seconds=65), tick=False)
    beat()
    assert deep(client)[0] == 200  # 60 s late: still within the limit

    clock.shift(timedelta(seconds=1))
    beat()
    status, body = deep(client)

    assert status == 503
    assert body["reasons"] == ["the oldest due slot is 61 s late"]
    assert body["triggers_due"] == 1


def test_a_deactivated_owners_due_trigger_does_not_fail_deep_health(
    owner: User, client: Client, clock: TimeMachineFixture
) -> None:
    trigger_create(
        owner=owner,
        values={"name": "Once", "type": "scheduled", "schedule_details": {"run_at": "2026-01-05T10:00:05Z"}},
    )
    User.objects.filter(pk=owner.pk).update(is_active=False)
    clock.move_to(START + timedelta(hours=1), tick=False)
    beat()

    assert deep(client)[0] == 200


@pytest.mark.django_db(transaction=True)
def test_deep_health_is_503_when_the_database_does_not_answer(client: Client) -> None:
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        status, body = deep(client)
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)

    assert status == 503
    assert body == {
        "status": "error",
        "reason": "the database does not answer",
        "reasons": ["the database does not answer"],
        "database": "unreachable",
    }


def test_plain_healthz_stays_a_database_ping_whatever_the_scheduler_does(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_a_beat_moves_the_same_row_and_keeps_when_the_process_started(clock: TimeMachineFixture) -> None:
    heartbeat_id = beat()
    clock.shift(timedelta(seconds=5))
    beat(heartbeat_id=heartbeat_id)

    (row,) = Heartbeat.objects.all()
    assert (row.id, row.started_at, row.beat_at) == (heartbeat_id, START, START + timedelta(seconds=5))


def test_rows_silent_for_an_hour_are_pruned_and_live_ones_kept(clock: TimeMachineFixture) -> None:
    stale = beat()
    clock.shift(timedelta(hours=1, seconds=1))
    live = beat()

    assert heartbeats_prune() == 1
    assert list(Heartbeat.objects.values_list("id", flat=True)) == [live]
    assert stale != live


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_beats_at_once_and_removes_its_row_on_a_clean_stop() -> None:
    heartbeat = HeartbeatThread(kind=Heartbeat.Kind.SCHEDULER)
    heartbeat.start()
    try:
        row = wait_for(lambda: Heartbeat.objects.first(), timeout=10)
    finally:
        heartbeat.stop()

    assert (row.id, row.kind, row.pid, row.version) == (heartbeat.id, "scheduler", os.getpid(), "1.0.0")
    assert not Heartbeat.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_does_not_beat_while_its_process_is_not_alive() -> None:
    asked = threading.Event()

    def alive() -> bool:
        asked.set()
        return False

    heartbeat = HeartbeatThread(kind=Heartbeat.Kind.SCHEDULER, alive=alive)
    heartbeat.start()
    try:
        assert asked.wait(10)
        assert not Heartbeat.objects.exists()
    finally:
        heartbeat.stop()


def test_the_admin_lists_the_processes_with_their_beat_and_version(admin_client: Client) -> None:
    beat()

    response = admin_client.get("/admin/monitoring/heartbeat/")

    assert response.status_code == 200
    assert b"sched-1" in response.content
    assert b"1.0.0" in response.content
