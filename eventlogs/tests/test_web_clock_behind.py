"""A web host whose clock runs minutes behind PostgreSQL's (issue 18, item 16).

Its ordinary fires carry a ``fired_at`` minutes older than the database's clock. They are not
backfills: they must leave the lifecycle marks alone, and the aggregated counts and the
archive pass must still be right about them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils.timezone import now

from accounts.models import User
from eventlogs.lifecycle import archive_cutoff, eventlogs_archive
from eventlogs.models import EventLog, LifecycleMarks
from eventlogs.rollup import eventlogs_roll_up
from eventlogs.selectors import eventlogs_aggregated
from eventlogs.tests.test_marks import database_now

pytestmark = pytest.mark.django_db

TRIGGER_ID = uuid.uuid4()
BEHIND = timedelta(minutes=20)


def fire(owner: User) -> EventLog:
    """One INSERT as an API fire writes it, ``fired_at`` from the web host's (late) clock; of a
    trigger since deleted, as this app's tests never touch the triggers app."""
    return EventLog.objects.create(
        owner=owner,
        trigger=None,
        trigger_uuid=TRIGGER_ID,
        trigger_name="checkout",
        trigger_type="api",
        source=EventLog.Source.API,
        payload={"order": 1},
        fired_at=now(),
    )


def settle_marks() -> LifecycleMarks:
    """The marks where the passes of a running installation leave them."""
    eventlogs_archive(older_than=archive_cutoff())
    eventlogs_roll_up()
    return LifecycleMarks.objects.get()


@pytest.mark.parametrize("behind", [timedelta(minutes=5), BEHIND, timedelta(minutes=45)])
def test_fires_from_a_web_clock_minutes_behind_leave_the_marks_alone(owner: User, behind: timedelta) -> None:
    web_now = database_now() - behind
    with time_machine.travel(web_now, tick=True):
        before = settle_marks()
        for _ in range(3):
            fire(owner)

    assert LifecycleMarks.objects.get() == before
    assert LifecycleMarks.objects.values_list("backfills", flat=True).get() == before.backfills


def test_counts_and_the_archive_are_right_for_fires_from_a_web_clock_behind(owner: User) -> None:
    web_now = database_now() - BEHIND
    with time_machine.travel(web_now, tick=False) as clock:
        settle_marks()
        fired = [fire(owner) for _ in range(3)]
        [row] = eventlogs_aggregated(owner_id=owner.pk)
        assert (row["total"], row["active"], row["archived"]) == (3, 3, 0)

        clock.shift(timedelta(hours=2, minutes=1))
        archived = eventlogs_archive(older_than=archive_cutoff())
        eventlogs_roll_up()

        assert archived == 3
        assert all(event.archived_at is not None for event in EventLog.objects.filter(pk__in=[e.pk for e in fired]))
        [row] = eventlogs_aggregated(owner_id=owner.pk)
        assert (row["total"], row["active"], row["archived"]) == (3, 0, 3)
        assert row["last_fired_at"] == max(event.fired_at for event in fired)


def test_an_event_fired_an_hour_and_more_before_the_database_clock_is_still_a_backfill(owner: User) -> None:
    with time_machine.travel(database_now() - timedelta(hours=3), tick=False):
        before = settle_marks()
        event = fire(owner)

    marks = LifecycleMarks.objects.get()
    assert marks.backfills == before.backfills + 1
    assert marks.archived_through == min(before.archived_through, event.fired_at)
