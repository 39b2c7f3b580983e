"""End to end: the real ``manage.py runscheduler`` process against the test database.

These tests sleep in real time (a real process cannot be time-travelled) and print the
numbers the product promises: lateness, and lost/duplicate counts under kill -9 and
with two schedulers. Run them alone with ``pytest -m e2e -s``.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.utils.timezone import now
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from accounts.models import User
from eventlogs.models import EventLog, EventLogHour
from monitoring.models import Heartbeat
from tests.support import PASSWORD
from triggers.models import Trigger
from triggers.services import trigger_create
from triggers.tests.scheduler_process import SchedulerProcess, scheduler_factory, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Schedulers = Callable[[], SchedulerProcess]


@pytest.fixture
def schedulers(transactional_db: None, tmp_path: Path) -> Iterator[Schedulers]:
    """Make scheduler processes; they are stopped before the database is flushed."""
    yield from scheduler_factory(tmp_path)


def once_triggers(owner: User, due_times: list[datetime]) -> list[uuid.UUID]:
    """One-time triggers due at the given times, committed in one statement."""
    triggers = Trigger.objects.bulk_create(
        Trigger(
            owner=owner,
            name=f"burst {index}",
            type=Trigger.Type.SCHEDULED,
            schedule_kind=Trigger.ScheduleKind.ONCE,
            run_at=due,
            next_fire_at=due,
        )
        for index, due in enumerate(due_times)
    )
    return [trigger.id for trigger in triggers]


def events_per_trigger(trigger_ids: list[uuid.UUID]) -> Counter[uuid.UUID]:
    rows = EventLog.objects.filter(trigger_uuid__in=trigger_ids).values("trigger_uuid").annotate(n=Count("id"))
    return Counter({row["trigger_uuid"]: row["n"] for row in rows})


def lost_and_duplicates(trigger_ids: list[uuid.UUID]) -> tuple[int, int]:
    counts = events_per_trigger(trigger_ids)
    lost = sum(1 for trigger_id in trigger_ids if counts[trigger_id] == 0)
    duplicates = sum(count - 1 for count in counts.values() if count > 1)
    return lost, duplicates


def all_fired(trigger_ids: list[uuid.UUID]) -> bool:
    return EventLog.objects.filter(trigger_uuid__in=trigger_ids).values("trigger_uuid").distinct().count() == len(
        trigger_ids
    )


def lateness(event: EventLog) -> timedelta:
    return event.fired_at - event.scheduled_for


def test_a_trigger_due_in_two_seconds_fires_once_within_a_second_and_sigterm_stops_cleanly(
    owner: User, schedulers: Schedulers
) -> None:
    scheduler = schedulers().start()
    due = now() + timedelta(seconds=2)
    trigger = trigger_create(
        owner=owner,
        values={"name": "soon", "type": "scheduled", "schedule_details": {"run_at": due.isoformat()}},
    )

    event = wait_for(lambda: EventLog.objects.filter(trigger_uuid=trigger.id).first(), timeout=15)
    time.sleep(1.5)  # room for a second event, which must not come

    assert EventLog.objects.filter(trigger_uuid=trigger.id).count() == 1
    assert event.scheduled_for == due
    assert timedelta(0) <= lateness(event) < timedelta(seconds=1), f"fired {lateness(event)} late"

    assert scheduler.terminate() == 0
    assert "Scheduler stopped" in scheduler.log()
    assert f"Fired trigger {trigger.id}" in scheduler.log()


def test_the_scheduler_keeps_its_jobs_in_the_database_and_runs_the_lifecycle_at_start(
    owner: User, schedulers: Schedulers
) -> None:
    fired_at = now()
    old, ancient = EventLog.objects.bulk_create(
        EventLog(owner=owner, trigger_uuid=uuid.uuid4(), trigger_type="api", source="api", fired_at=fired_at - age)
        for age in (timedelta(hours=3), timedelta(hours=49))
    )
    scheduler = schedulers().start()

    wait_for(lambda: not EventLog.objects.filter(pk=ancient.pk).exists(), timeout=15)
    wait_for(lambda: EventLog.objects.filter(pk=old.pk, archived_at__isnull=False).exists(), timeout=15)

    assert sorted(DjangoJob.objects.values_list("id", flat=True)) == [
        "archive_event_logs",
        "delete_event_logs",
        "delete_old_job_executions",
        "dispatch",
        "flushexpiredtokens",
        "rollup_event_logs",
    ]
    # The 3-hour-old event's hour is closed and counted at start-up.
    wait_for(lambda: EventLogHour.objects.filter(trigger_uuid=old.trigger_uuid, total=1).exists(), timeout=15)
    wait_for(lambda: DjangoJobExecution.objects.filter(job_id="archive_event_logs").exists(), timeout=10)
    log = wait_for(lambda: "Deleted 1 event logs" in scheduler.log() and scheduler.log(), timeout=10)
    # The 49-hour-old log may have been archived by the archive job before the delete job took it.
    assert re.search(r"Archived [12] event logs", log)


def test_kill_9_during_a_burst_loses_and_repeats_nothing(owner: User, schedulers: Schedulers) -> None:
    scheduler = schedulers().start()
    start = now() + timedelta(seconds=0.5)
    trigger_ids = once_triggers(owner, [start + timedelta(milliseconds=30 * index) for index in range(200)])

    kills = 0
    pauses = random.Random(9)  # kill at varied moments of the burst, the same ones every run
    burst_ends = start + timedelta(milliseconds=30 * 200)
    while now() < burst_ends and kills < 8:
        time.sleep(pauses.uniform(0.05, 0.6))
        scheduler.kill()
        kills += 1
        scheduler.start()
    wait_for(lambda: all_fired(trigger_ids), timeout=30)
    time.sleep(1)

    lost, duplicates = lost_and_duplicates(trigger_ids)
    assert (lost, duplicates) == (0, 0), f"after {kills} kills"
    # Each event committed with its trigger's advance: no trigger was left half-fired.
    fired_once = Trigger.objects.filter(pk__in=trigger_ids, scheduled_fire_count=1, next_fire_at=None)
    assert fired_once.count() == len(trigger_ids)


def test_two_schedulers_at_once_fire_each_slot_exactly_once(owner: User, schedulers: Schedulers) -> None:
    first, second = schedulers().start(), schedulers().start()
    start = now() + timedelta(seconds=1)
    trigger_ids = once_triggers(owner, [start + timedelta(milliseconds=10 * index) for index in range(300)])

    wait_for(lambda: all_fired(trigger_ids), timeout=30)
    time.sleep(1.5)

    lost, duplicates = lost_and_duplicates(trigger_ids)
    fired_by = (first.fired_lines(), second.fired_lines())
    assert (lost, duplicates) == (0, 0), f"fired by the first and the second: {fired_by}"
    assert first.fired_lines() + second.fired_lines() == len(trigger_ids)


def test_the_scheduler_keeps_firing_after_its_connections_are_terminated(owner: User, schedulers: Schedulers) -> None:
    scheduler = schedulers().start()

    def terminate_scheduler_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'sigwise-scheduler' AND datname = current_database()"
            )
            return cursor.fetchone()[0]

    assert terminate_scheduler_connections() >= 1
    due = now() + timedelta(seconds=2)
    trigger = trigger_create(
        owner=owner,
        values={"name": "after the cut", "type": "scheduled", "schedule_details": {"run_at": due.isoformat()}},
    )
    time.sleep(0.5)
    terminated_again = terminate_scheduler_connections()

    event = wait_for(lambda: EventLog.objects.filter(trigger_uuid=trigger.id).first(), timeout=15)
    assert lateness(event) < timedelta(seconds=1), f"{terminated_again} connections cut again; {lateness(event)} late"
    assert scheduler.process.poll() is None
    assert "Database unavailable" in scheduler.log()


# --- Through the HTTP API while the scheduler runs -----------------------------------------------------


class Api:
    def __init__(self, base_url: str, email: str) -> None:
        self.base_url = base_url
        self.token = ""
        self.token = self.call("POST", "/api/v1/auth/token", {"email": email, "password": PASSWORD})[1]["access"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 (the test's own live server)
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            payload = response.read()
            return response.status, json.loads(payload) if payload else None

    def _authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def create_once(self, name: str, run_at: datetime) -> str:
        status, trigger = self.call(
            "POST",
            "/api/v1/triggers",
            {"name": name, "type": "scheduled", "schedule_details": {"run_at": run_at.isoformat()}},
        )
        assert status == 201, trigger
        return trigger["id"]


def test_creating_editing_pausing_and_deleting_through_the_api_take_effect_without_a_restart(
    owner: User, schedulers: Schedulers, live_server: Any
) -> None:
    scheduler = schedulers().start()
    api = Api(live_server.url, owner.email)
    soon = now() + timedelta(seconds=3)

    created = api.create_once("created", soon)
    edited = api.create_once("edited", now() + timedelta(minutes=10))
    paused = api.create_once("paused", soon)
    deleted = api.create_once("deleted", soon)
    status, _ = api.call("PATCH", f"/api/v1/triggers/{edited}", {"schedule_details": {"run_at": soon.isoformat()}})
    assert status == 200
    status, body = api.call("PATCH", f"/api/v1/triggers/{paused}", {"enabled": False})
    assert (status, body["enabled"]) == (200, False)
    assert api.call("DELETE", f"/api/v1/triggers/{deleted}")[0] == 204

    wait_for(lambda: all_fired([uuid.UUID(created), uuid.UUID(edited)]), timeout=15)
    time.sleep(max(0.0, (soon - now()).total_seconds()) + 1.5)

    fired = events_per_trigger([uuid.UUID(value) for value in (created, edited, paused, deleted)])
    assert fired == Counter({uuid.UUID(created): 1, uuid.UUID(edited): 1})
    for event in EventLog.objects.filter(trigger_uuid__in=[created, edited]):
        assert event.scheduled_for == soon
        assert lateness(event) < timedelta(seconds=1)
    _, listed = api.call("GET", f"/api/v1/triggers/{created}")
    assert listed["scheduled_fire_count"] == 1
    assert scheduler.process.poll() is None


def test_the_scheduler_beats_logs_each_firing_as_json_and_its_metrics_reach_the_scrape(
    owner: User, schedulers: Schedulers, tmp_path: Path, client, settings
) -> None:
    metrics_directory = tmp_path / "metrics"
    metrics_directory.mkdir()
    scheduler = schedulers().start(
        environment={"LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory)}
    )
    heartbeat = wait_for(lambda: Heartbeat.objects.filter(kind="scheduler").first(), timeout=15)
    assert heartbeat.pid == scheduler.process.pid
    assert client.get("/healthz?deep=1").status_code == 200

    due = now() + timedelta(seconds=1)
    trigger = trigger_create(
        owner=owner,
        values={"name": "soon", "type": "scheduled", "schedule_details": {"run_at": due.isoformat()}},
    )
    wait_for(lambda: EventLog.objects.filter(trigger_uuid=trigger.id).exists(), timeout=15)
    wait_for(lambda: f'"trigger_id": "{trigger.id}"' in scheduler.log(), timeout=5)

    settings.METRICS_TOKEN = "m" * 60
    settings.PROMETHEUS_MULTIPROC_DIR = str(metrics_directory)
    scrape = client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "m" * 60).content.decode()
    assert 'sigwise_firings_total{source="scheduled"} 1.0' in scrape
    assert "sigwise_dispatch_lateness_seconds_count 1.0" in scrape
    assert 'sigwise_processes_running{kind="scheduler"} 1.0' in scrape

    assert scheduler.terminate() == 0
    assert not Heartbeat.objects.exists()  # a clean stop removes its row
    (line,) = [json.loads(line) for line in scheduler.log().splitlines() if str(trigger.id) in line]
    assert line["logger"] == "triggers.dispatch"
    assert line["level"] == "INFO"
    assert line["slot"] == due.isoformat()
    assert 0 <= line["lateness_seconds"] < 1
    assert line["time"].startswith(str(now().year))
