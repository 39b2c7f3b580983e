"""The steady scenario's seeding SQL keeps up with the event-log model."""

from __future__ import annotations

from bench.steady import _event_columns
from eventlogs.models import EventLog


def test_the_seed_gives_a_value_for_every_column_of_the_event_log() -> None:
    columns, values = _event_columns()

    assert columns.split(", ") == [field.column for field in EventLog._meta.concrete_fields]
    assert len(values.split(", ")) >= len(columns.split(", "))
