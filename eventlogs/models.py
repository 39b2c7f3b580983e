from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now


class EventLog(models.Model):
    """One firing of a trigger, with a snapshot of it (id, name, type) that outlives it.

    Active for ``EVENT_LOG_ARCHIVE_AFTER``, archived until ``EVENT_LOG_DELETE_AFTER``, then
    deleted. Readers compute the status from the age (:meth:`status_at`), so a late job
    never shows an old event as active; ``archived_at`` records when the job got to it.
    """

    # The status a reader computes from the age; the row stores none.
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    class Source(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        API = "api", "API"
        TEST = "test", "Test"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="event_logs", db_index=False
    )
    # Indexed for the UPDATE ... SET trigger_id = NULL that deleting a trigger runs.
    trigger = models.ForeignKey(
        "triggers.Trigger", on_delete=models.SET_NULL, null=True, blank=True, related_name="event_logs"
    )
    trigger_uuid = models.UUIDField(help_text="The trigger's id, kept after the trigger is deleted.")
    trigger_name = models.CharField(max_length=200, blank=True)
    trigger_type = models.CharField(max_length=16)
    source = models.CharField(max_length=16, choices=Source.choices)
    payload = models.JSONField(default=dict, blank=True)
    is_test = models.BooleanField(default=False)
    fired_at = models.DateTimeField(default=now)
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="The slot a scheduled firing was for.")
    archived_at = models.DateTimeField(null=True, blank=True)
    # NULL, not "", means "no key": the unique constraint below applies only to given keys.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # SHA-256 (hex) of the request body that came with ``idempotency_key``: a repeat of the
    # key with another body is refused rather than answered with this event.
    idempotency_body_sha256 = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            # Exactly once per slot: a second dispatcher (or a retry after a crash) cannot
            # write the same scheduled slot twice.
            models.UniqueConstraint(
                fields=["trigger", "scheduled_for"],
                condition=Q(scheduled_for__isnull=False),
                name="eventlog_one_event_per_slot",
            ),
            # An Idempotency-Key names one event per trigger; also serves its look-up.
            models.UniqueConstraint(
                fields=["trigger", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="eventlog_one_event_per_idempotency_key",
            ),
        ]
        indexes = [
            # GET /event_logs (every status tab is a fired_at range) and the dashboard:
            # WHERE owner_id = ? AND fired_at > ? ORDER BY fired_at DESC, id DESC.
            models.Index(fields=["owner", "-fired_at", "-id"], name="eventlog_owner_fired"),
            # A trigger's own events, newest first, also after it was deleted
            # (detail page, ?trigger=, aggregated last firing).
            models.Index(fields=["trigger_uuid", "-fired_at"], name="eventlog_trigger_fired"),
            # The lifecycle jobs: WHERE fired_at >= ? AND fired_at < ? (the archive job reads
            # archived_at from the row, starting at its mark).
            models.Index(fields=["fired_at"], name="eventlog_fired"),
        ]

    def __str__(self) -> str:
        return f"{self.trigger_name or self.trigger_uuid} at {self.fired_at.isoformat()}"

    def status_at(self, moment: datetime | None = None) -> str:
        """The lifecycle status this event has at ``moment`` (now by default), from its age."""
        age = (moment or now()) - self.fired_at
        return self.Status.ARCHIVED if age >= archive_after() else self.Status.ACTIVE


# An insert with a ``fired_at`` older than this is a backfill and moves the marks back
# (migration 0006's trigger holds the same interval). Long enough that a web host whose
# clock runs minutes behind the database's writes ordinary events, not backfills.
BACKFILL_GRACE = timedelta(hours=1)
# The oldest a mark can be: nothing has been passed over yet.
BEGINNING = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


class LifecycleMarks(models.Model):
    """How far the archive and rollup passes have got, so each starts where the last stopped.

    One row, id 1 (none after ``manage.py flush``: both marks at :data:`BEGINNING`). A
    database trigger moves the marks back when old events are inserted and counts that in
    ``backfills``; ``docs/design/lifecycle.md`` says why the passes can trust them.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    archived_through = models.DateTimeField(default=BEGINNING)
    rolled_up_through = models.DateTimeField(default=BEGINNING)
    backfills = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "lifecycle marks"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="lifecyclemarks_one_row")]

    def __str__(self) -> str:
        archived, rolled_up = self.archived_through.isoformat(), self.rolled_up_through.isoformat()
        return f"archived through {archived}, rolled up through {rolled_up}"


class EventLogHour(models.Model):
    """One owner's events of one trigger in one UTC hour, counted once by the rollup pass so
    that ``GET /event_logs/aggregated`` reads hours, not events (``docs/design/rollup.md``).
    Only hours before ``LifecycleMarks.rolled_up_through`` may be trusted."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    trigger_uuid = models.UUIDField(help_text="The trigger's id, as in the events' snapshot.")
    hour = models.DateTimeField(help_text="The start of the UTC hour.")
    total = models.PositiveIntegerField()
    test = models.PositiveIntegerField()
    last_fired_at = models.DateTimeField()
    # Of the hour's newest event: the aggregate shows the name of the trigger's newest one.
    trigger_name = models.CharField(max_length=200, blank=True)
    trigger_type = models.CharField(max_length=16)

    class Meta:
        constraints = [
            # One row per trigger and hour; also the index of the aggregated read
            # (WHERE owner_id = ? AND hour >= ? AND hour < ?) and of deleting a user.
            models.UniqueConstraint(fields=["owner", "hour", "trigger_uuid"], name="eventloghour_one_per_hour"),
        ]
        indexes = [
            # The rollup pass recounting a range of hours of every owner, and retention.
            models.Index(fields=["hour"], name="eventloghour_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.trigger_name or self.trigger_uuid} in the hour from {self.hour.isoformat()}: {self.total}"


def archive_after() -> timedelta:
    return settings.EVENT_LOG_ARCHIVE_AFTER


def delete_after() -> timedelta:
    return settings.EVENT_LOG_DELETE_AFTER
