"""Races and clocks, with a second real PostgreSQL connection: a pause survives a concurrent
rename, the dispatcher waits rather than spins on a row someone else holds, and
PostgreSQL's clock, not the scheduler host's, decides what is due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from eventlogs.models import EventLog
from tests.support import bearer_client, make_api_trigger
from triggers import dispatch
from triggers.dispatch import LOCKED_ROW_RETRY_SECONDS, TriggerDispatcher, triggers_dispatch_due
from triggers.models import Trigger
from triggers.services import trigger_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def second_connection() -> Iterator[Any]:
    """A psycopg connection of its own (another process, as far as PostgreSQL can tell)."""
    wrapper = connections.create_connection("default")
    wrapper.connect()
    raw = wrapper.connection
    raw.autocommit = False
    try:
        yield raw
    finally:
        raw.rollback()
        wrapper.close()


def database_now() -> Any:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def wait_until_a_backend_waits_for_a_lock(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("no request ever waited for the row lock")


def make_interval_trigger(owner: User) -> Trigger:
    return trigger_create(
        owner=owner,
        values={"name": "heartbeat", "type": "scheduled", "schedule_details": {"interval_seconds": 3600}},
    )


def in_thread(work: Any) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as error:
            results.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


# --- 13. a partial edit is applied to the row as read under its lock -------------------------


def test_a_pause_committed_while_a_rename_waits_for_the_row_survives_the_rename(
    owner: User, second_connection: Any
) -> None:
    trigger = make_interval_trigger(owner)
    api = APIClient()
    api.force_authenticate(user=owner)
    # The other connection pauses the trigger and holds the row, as the scheduler or a page would.
    second_connection.execute(
        "UPDATE triggers_trigger SET enabled = false, next_fire_at = NULL WHERE id = %s", [trigger.id]
    )

    rename, answers = in_thread(lambda: api.patch(f"/api/v1/triggers/{trigger.id}", {"name": "renamed"}, format="json"))
    wait_until_a_backend_waits_for_a_lock()
    second_connection.commit()
    rename.join(timeout=10)

    assert answers[0].status_code == 200
    assert answers[0].json()["enabled"] is False
    stored = Trigger.objects.get(pk=trigger.pk)
    assert stored.name == "renamed"
    assert stored.enabled is False
    assert stored.next_fire_at is None


def test_an_operator_rename_does_not_undo_a_pause_made_after_the_change_form_was_opened(
    owner: User, second_connection: Any
) -> None:
    operator = Client()
    operator.force_login(
        User.objects.create_superuser(email="operator@example.com", password="not-used-here-1"),
        backend="django.contrib.auth.backends.ModelBackend",
    )
    trigger = make_interval_trigger(owner)
    url = f"/admin/triggers/trigger/{trigger.id}/change/"
    assert 'name="initial-enabled"' in operator.get(url).content.decode()  # the form remembers what it showed
    Trigger.objects.filter(pk=trigger.pk).update(enabled=False, next_fire_at=None)  # the owner pauses meanwhile

    response = operator.post(url, {"name": "renamed by support", "enabled": "on", "initial-enabled": "on"})

    assert response.status_code == 302
    stored = Trigger.objects.get(pk=trigger.pk)
    assert stored.name == "renamed by support"
    assert stored.enabled is False


# --- 14. the dispatcher backs off while a due row is held by someone else --------------------


def test_the_dispatcher_does_not_spin_on_a_due_row_another_transaction_holds(
    owner: User, second_connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = make_interval_trigger(owner)
    Trigger.objects.filter(pk=trigger.pk).update(next_fire_at=database_now() - timedelta(seconds=1))
    second_connection.execute("SELECT 1 FROM triggers_trigger WHERE id = %s FOR UPDATE", [trigger.id])
    claims: list[float] = []
    claim = dispatch.triggers_dispatch_due

    def counted_claim(**options: Any) -> Any:
        claims.append(time.monotonic())
        return claim(**options)

    monkeypatch.setattr(dispatch, "triggers_dispatch_due", counted_claim)
    dispatcher = TriggerDispatcher(max_sleep_seconds=1)
    dispatcher.start()
    try:
        time.sleep(2)
        held = len(claims)
        second_connection.rollback()  # the edit ends without a change (no NOTIFY): the retry must find it
        deadline = time.monotonic() + 3
        while not EventLog.objects.filter(trigger_uuid=trigger.id).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        dispatcher.stop(timeout=10)

    assert held <= 2 / LOCKED_ROW_RETRY_SECONDS + 2  # a few claims a second, not a busy loop
    assert held >= 2
    assert EventLog.objects.filter(trigger_uuid=trigger.id).count() == 1


def test_an_api_fire_does_not_wait_for_a_transaction_that_is_updating_the_trigger(
    owner: User, second_connection: Any
) -> None:
    webhook = make_api_trigger(owner)
    # The lock an UPDATE of the row holds until it commits (the scheduler advancing a trigger,
    # the last-use stamp): a fire path that locked the row would queue behind it.
    second_connection.execute("SELECT 1 FROM triggers_trigger WHERE id = %s FOR NO KEY UPDATE", [webhook.id])
    api = bearer_client(owner)
    thread, results = in_thread(lambda: api.post(f"/api/v1/triggers/{webhook.id}/fire", {"n": 1}, format="json"))
    thread.join(timeout=5)
    held = thread.is_alive()
    second_connection.rollback()
    thread.join(timeout=10)

    assert not held, "the fire waited for the row lock"
    assert results[0].status_code == 201
    assert EventLog.objects.filter(trigger_uuid=webhook.id).count() == 1


# --- 15. one clock: PostgreSQL's ------------------------------------------------------------


def test_a_scheduler_host_whose_clock_runs_fast_neither_fires_early_nor_stamps_its_own_time(owner: User) -> None:
    not_yet, due = make_interval_trigger(owner), make_interval_trigger(owner)
    reference = database_now()
    Trigger.objects.filter(pk=not_yet.pk).update(next_fire_at=reference + timedelta(seconds=1))
    Trigger.objects.filter(pk=due.pk).update(next_fire_at=reference - timedelta(milliseconds=500))

    with time_machine.travel(reference + timedelta(seconds=2), tick=True):  # this host is 2 s fast
        outcomes = triggers_dispatch_due()

    (outcome,) = outcomes
    assert outcome.trigger_id == due.id
    after = database_now()
    assert reference <= outcome.fired_at <= after
    assert outcome.lateness < timedelta(seconds=1.5)  # about 0.5 s late by PostgreSQL's clock, not 2.5 s
    assert EventLog.objects.get(trigger_uuid=due.id).fired_at == outcome.fired_at
    assert Trigger.objects.get(pk=not_yet.pk).scheduled_fire_count == 0
