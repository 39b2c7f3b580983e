"""``manage.py rundeliveries`` as real processes: killed with SIGKILL mid-drain and
restarted, and two copies side by side. Slow (thousands of requests): they prove the
lease and SKIP LOCKED claims, which a unit test cannot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from typing import Any

import pytest
from django.utils.timezone import now

from deliveries.models import Attempt, Delivery
from deliveries.services import deliveries_enqueue_for_events
from deliveries.tests.receiver import Receiver
from eventlogs.models import EventLog
from monitoring.models import Heartbeat
from tests.support import PYTHON, REPOSITORY, test_database_url
from triggers.services import trigger_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_private")]

# Smaller than the 10,000 so the suite stays minutes long on a shared two-core
# machine; SIGWISE_KILL_TEST_DELIVERIES=10000 runs the size.
DRAIN = int(os.environ.get("SIGWISE_KILL_TEST_DELIVERIES", "1000"))


def due_events(owner: Any, url: str, count: int) -> list[str]:
    trigger = trigger_create(
        owner=owner, values={"name": "Drain", "type": "api", "target": {"url": url, "timeout_seconds": 5}}
    )
    at = now()
    events = EventLog.objects.bulk_create(
        EventLog(
            owner=owner,
            trigger=trigger,
            trigger_uuid=trigger.id,
            trigger_name=trigger.name,
            trigger_type=trigger.type,
            source="api",
            payload={"i": i},
            fired_at=at,
        )
        for i in range(count)
    )
    ids = [event.id for event in events]
    for start in range(0, count, 1000):
        deliveries_enqueue_for_events(event_ids=ids[start : start + 1000])
    assert Delivery.objects.count() == count
    return [str(event_id) for event_id in ids]


def start_worker(*extra: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DELIVERY_ALLOW_PRIVATE_TARGETS": "true",
        # A short lease (timeout 5 s + 5 s) so the restarted worker takes the dead one's rows soon.
        "DELIVERY_LEASE_MARGIN_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [PYTHON, "manage.py", "rundeliveries", "--concurrency", "50", *extra],
        cwd=REPOSITORY,
        env=environment,
        stdout=subprocess.DEVNULL,
    )


def wait_delivered(count: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Delivery.objects.filter(state="delivered").count() == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{Delivery.objects.filter(state='delivered').count()} of {count} delivered in time")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0


def test_a_worker_killed_mid_drain_loses_nothing_and_repeats_only_what_was_in_flight(owner, receiver: Receiver):
    expected = due_events(owner, receiver.url, DRAIN)
    first = start_worker()
    receiver.wait_for(DRAIN // 3, timeout=120)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    in_flight = {str(pk) for pk in Delivery.objects.filter(state="delivering").values_list("pk", flat=True)}
    received_at_kill = len(receiver.received)
    assert 0 < received_at_kill < DRAIN

    second = start_worker()
    wait_delivered(DRAIN, timeout=300)
    stop(second)

    # A request the kill cut short arrives without its whole body: it does not count as received.
    whole = [request for request in receiver.received if len(request.body) == int(request.headers["content-length"])]
    ids = [request.headers["webhook-id"] for request in whole]
    assert set(ids) == set(expected)  # every event received at least once
    duplicates = {webhook_id for webhook_id, times in Counter(ids).items() if times > 1}
    # Repeated only if the kill caught it in flight, or if an attempt failed (the loaded
    # receiver answered too late or reset the connection): at least once, by design.
    retried = {str(pk) for pk in Attempt.objects.exclude(status_code=200).values_list("delivery_id", flat=True)}
    assert duplicates <= in_flight | retried, (len(duplicates - in_flight - retried), len(in_flight))
    for request in whole:  # and a repeat carries the same webhook-id as its body's event
        assert json.loads(request.body)["data"]["event_id"] == request.headers["webhook-id"]


def test_two_worker_processes_share_a_drain_without_sending_anything_twice(owner, receiver: Receiver):
    expected = due_events(owner, receiver.url, DRAIN)
    workers = [start_worker(), start_worker()]
    wait_delivered(DRAIN, timeout=300)
    for worker in workers:
        stop(worker)
    received = Counter(request.headers["webhook-id"] for request in receiver.received)
    assert set(received) == set(expected)
    # Each request the receiver saw is an attempt one worker recorded: no delivery was sent
    # by both (a failed attempt, say a reset connection, is retried and recorded as such).
    attempts = {str(pk): count for pk, count in Delivery.objects.values_list("pk", "attempt_count")}
    sent_twice = {webhook_id: times for webhook_id, times in received.items() if times > attempts[webhook_id]}
    assert sent_twice == {}
    assert Attempt.objects.filter(status_code=200).count() == DRAIN


def test_a_worker_beats_while_it_runs_and_its_deliveries_reach_the_metrics(
    owner, receiver: Receiver, tmp_path, client, settings
):
    due_events(owner, receiver.url, 5)
    environment = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DELIVERY_ALLOW_PRIVATE_TARGETS": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [PYTHON, "manage.py", "rundeliveries"], cwd=REPOSITORY, env=environment, stdout=subprocess.DEVNULL
    )
    try:
        wait_delivered(5, timeout=60)
        deadline = time.monotonic() + 15
        while not Heartbeat.objects.filter(kind="deliveries").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        heartbeat = Heartbeat.objects.get(kind="deliveries")
        assert heartbeat.pid == worker.pid
        settings.METRICS_TOKEN = "m" * 60
        settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
        scrape = client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "m" * 60).content.decode()
    finally:
        stop(worker)

    assert 'sigwise_deliveries_total{outcome="delivered"} 5.0' in scrape
    assert "sigwise_delivery_latency_seconds_count 5.0" in scrape
    assert "sigwise_deliveries_backlog 0.0" in scrape
    assert not Heartbeat.objects.exists()  # a clean stop removes its row
