"""/metrics: who may read it, what it counts, and that it adds up every process."""

from __future__ import annotations

import os
import subprocess
import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import User
from tests.support import PYTHON, REPOSITORY
from triggers.dispatch import dispatch_pending
from triggers.services import trigger_create

TOKEN = "metrics-" + "t" * 56
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def metrics_on(settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.PROMETHEUS_MULTIPROC_DIR = ""


def scrape(client: Client, token: str = TOKEN) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def firings(source: str) -> float:
    return REGISTRY.get_sample_value("sigwise_firings_total", {"source": source}) or 0.0


@pytest.mark.django_db
def test_metrics_do_not_exist_without_a_token(client: Client, settings) -> None:
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization", [None, "Bearer", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN]
)
def test_metrics_refuse_a_missing_or_wrong_token_with_401(client: Client, metrics_on: None, authorization) -> None:
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"sigwise_" not in response.content


@pytest.mark.django_db
def test_metrics_answer_the_token_with_http_and_sigwise_metrics(client: Client, metrics_on: None) -> None:
    client.get("/ping")

    samples = scrape(client)

    names = {name for name, _ in samples}
    assert samples[("http_requests_total", (("method", "GET"), ("status", "200"), ("view", "ping")))] >= 1
    assert "http_request_duration_seconds_bucket" in names
    assert {"sigwise_database_up", "sigwise_triggers_due", "sigwise_deliveries_backlog"} <= names
    assert samples[("sigwise_database_up", ())] == 1
    assert samples[("sigwise_processes_running", (("kind", "scheduler"),))] == 0


@pytest.mark.django_db
def test_an_api_fire_counts_one_api_firing(owner: User, api, client: Client, metrics_on: None) -> None:
    trigger = trigger_create(owner=owner, values={"name": "Hook", "type": "api"})
    before = firings("api")

    assert api.post(f"/api/v1/triggers/{trigger.id}/fire", {}, format="json").status_code == 201

    assert firings("api") == before + 1
    assert scrape(client)[("sigwise_firings_total", (("source", "api"),))] == before + 1


@pytest.mark.django_db
def test_a_scheduled_firing_counts_and_records_its_lateness(
    owner: User, client: Client, metrics_on: None, time_machine
) -> None:
    time_machine.move_to(START, tick=False)
    trigger = trigger_create(
        owner=owner,
        values={"name": "Once", "type": "scheduled", "schedule_details": {"run_at": "2026-01-05T10:00:05Z"}},
    )
    time_machine.move_to(START + timedelta(seconds=10), tick=False)
    before = firings("scheduled")
    late_before = REGISTRY.get_sample_value("sigwise_dispatch_lateness_seconds_bucket", {"le": "5.0"}) or 0.0
    less_late_before = REGISTRY.get_sample_value("sigwise_dispatch_lateness_seconds_bucket", {"le": "2.5"}) or 0.0
    samples = scrape(client)
    assert samples[("sigwise_triggers_due", ())] == 1
    assert samples[("sigwise_triggers_oldest_due_seconds", ())] == 5

    assert dispatch_pending(at=START + timedelta(seconds=10)) == 1

    trigger.refresh_from_db()
    assert trigger.next_fire_at is None
    assert firings("scheduled") == before + 1
    # Fired 5 s after its slot: counted in the 5 s bucket, not the 2.5 s one.
    assert REGISTRY.get_sample_value("sigwise_dispatch_lateness_seconds_bucket", {"le": "5.0"}) == late_before + 1
    assert REGISTRY.get_sample_value("sigwise_dispatch_lateness_seconds_bucket", {"le": "2.5"}) == less_late_before
    assert scrape(client)[("sigwise_triggers_due", ())] == 0


WRITER = textwrap.dedent(
    """
    import sys
    from core.metrics import API_FIRINGS, DISPATCH_LATENESS
    API_FIRINGS.inc(int(sys.argv[1]))
    DISPATCH_LATENESS.observe(0.02)
    """
)


@pytest.mark.django_db
def test_one_scrape_adds_up_the_metrics_of_every_process(client: Client, settings, tmp_path: Path) -> None:
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for count in ("3", "4"):
        subprocess.run([PYTHON, "-c", WRITER, count], cwd=REPOSITORY, env=environment, check=True, timeout=60)
    settings.METRICS_TOKEN = TOKEN
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)

    samples = scrape(client)

    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process
    assert samples[("sigwise_firings_total", (("source", "api"),))] == 7
    assert samples[("sigwise_dispatch_lateness_seconds_count", ())] == 2
    assert samples[("sigwise_database_up", ())] == 1


@pytest.mark.django_db
def test_http_metrics_label_by_view_never_by_path_or_odd_method(client: Client, metrics_on: None) -> None:
    def count(method: str, view: str, status: str) -> float:
        labels = {"method": method, "view": view, "status": status}
        return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0

    unmatched, other = count("GET", "unmatched", "404"), count("other", "ping", "405")

    client.get("/api/v1/no-such-path-1")
    client.get("/api/v1/no-such-path-2")
    client.generic("BREW", "/ping")

    assert count("GET", "unmatched", "404") == unmatched + 2
    assert count("other", "ping", "405") == other + 1


@pytest.mark.django_db(transaction=True)
def test_a_lifecycle_pass_records_its_duration_and_rows(owner: User) -> None:
    from django.utils.timezone import now

    from eventlogs.models import EventLog
    from triggers.management.commands.runscheduler import delete_event_logs

    old = now() - timedelta(days=3)
    EventLog.objects.bulk_create(
        EventLog(
            owner=owner,
            trigger_uuid=uuid.uuid4(),
            trigger_name="gone",
            trigger_type="api",
            source="api",
            payload={},
            fired_at=old,
        )
        for _ in range(3)
    )
    rows_before = REGISTRY.get_sample_value("sigwise_lifecycle_rows_total", {"pass": "delete"}) or 0.0
    passes_before = REGISTRY.get_sample_value("sigwise_lifecycle_pass_duration_seconds_count", {"pass": "delete"})

    delete_event_logs()

    assert not EventLog.objects.exists()
    assert REGISTRY.get_sample_value("sigwise_lifecycle_rows_total", {"pass": "delete"}) == rows_before + 3
    passes = REGISTRY.get_sample_value("sigwise_lifecycle_pass_duration_seconds_count", {"pass": "delete"})
    assert passes == (passes_before or 0.0) + 1
