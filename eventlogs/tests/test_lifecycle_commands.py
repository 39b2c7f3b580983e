"""`manage.py archive_event_logs` and `delete_event_logs`: what an operator sees and what changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from time_machine import TimeMachineFixture

from accounts.models import User
from eventlogs.models import EventLog

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded(owner: User, time_machine: TimeMachineFixture) -> None:
    """5 logs due for archiving (3 of them also for deletion) and 2 young ones."""
    time_machine.move_to(NOW, tick=False)
    ages = [timedelta(minutes=5), timedelta(hours=1), timedelta(hours=3), timedelta(hours=30)] + [
        timedelta(hours=48 + hours) for hours in range(3)
    ]
    EventLog.objects.bulk_create(
        EventLog(
            owner=owner,
            trigger_uuid=uuid.uuid4(),
            trigger_type="api",
            source=EventLog.Source.API,
            fired_at=NOW - age,
        )
        for age in ages
    )


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_archive_prints_a_line_per_batch_and_a_summary(seeded: None) -> None:
    output = run("archive_event_logs", "--batch-size", "2")

    assert output.splitlines()[:3] == [
        "Batch 1: archived 2 event logs (2 so far)",
        "Batch 2: archived 2 event logs (4 so far)",
        "Batch 3: archived 1 event logs (5 so far)",
    ]
    assert output.splitlines()[3].startswith("Archived 5 event logs in 3 batches (")
    assert EventLog.objects.filter(archived_at__isnull=True).count() == 2


def test_delete_prints_a_line_per_batch_and_a_summary(seeded: None) -> None:
    output = run("delete_event_logs", "--batch-size", "2")

    assert "Batch 1: deleted 2 event logs (2 so far)" in output
    assert "Batch 2: deleted 1 event logs (3 so far)" in output
    assert "Deleted 3 event logs in 2 batches (" in output
    assert EventLog.objects.count() == 4


def test_a_run_with_nothing_to_do_says_so(owner: User) -> None:
    assert run("archive_event_logs").startswith("Archived 0 event logs in 0 batches (")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("archive_event_logs", "Dry run: would archive 5 event logs fired at or before 2026-05-04T10:00:00+00:00"),
        ("delete_event_logs", "Dry run: would delete 3 event logs fired at or before 2026-05-02T12:00:00+00:00"),
    ],
)
def test_a_dry_run_reports_the_count_and_changes_nothing(seeded: None, command: str, expected: str) -> None:
    before = sorted(EventLog.objects.values_list("id", "archived_at"))

    output = run(command, "--dry-run")

    assert output.startswith(expected)
    assert "nothing changed" in output
    assert sorted(EventLog.objects.values_list("id", "archived_at")) == before


@pytest.mark.parametrize("size", ["0", "-5", "many"])
def test_a_batch_size_that_is_not_a_positive_number_is_refused(seeded: None, size: str) -> None:
    with pytest.raises(CommandError, match="batch-size"):
        call_command("archive_event_logs", "--batch-size", size)
    assert EventLog.objects.filter(archived_at__isnull=False).count() == 0
