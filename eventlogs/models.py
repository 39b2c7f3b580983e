from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now


class EventLog(models.Model):
    """One firing of a trigger.

    Lifecycle by age, measured from ``fired_at``: active for ``EVENT_LOG_ARCHIVE_AFTER``
    (2 h), then archived, then deleted at ``EVENT_LOG_DELETE_AFTER`` (48 h). ``status``
    and ``archived_at`` record what the archive job did; readers compute the status from
    the age (:meth:`status_at`) so a late job never shows an old event as active.

    The trigger is referenced with ``SET_NULL`` and also copied (id, name, type) so a
    deleted trigger's history stays readable until retention removes it; this app never
    imports ``triggers``.
    """

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
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
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
            # The delete job: WHERE fired_at <= ?; and the archive job: WHERE fired_at >= the
            # archive mark AND fired_at <= ? AND status = 'active' (status read from the row).
            #
            # On purpose no index mentions ``status`` or ``archived_at``, as key or predicate
            # (DESIGN.md lists one on status + fired_at): the archive job changes only those two
            # columns, so with room on the page (the table's fillfactor, migration 0004) each
            # archived row is a HOT update, one new tuple on the same page and no index entry.
            # With ``status`` in the partial index ``eventlog_active_fired`` every archived row
            # got a new entry in all five indexes (~18 µs and ~800 bytes of WAL a row, 19 s for
            # 1M rows). What that index did, starting the scan at the first active row, the
            # archive mark (LifecycleMarks.archived_through) now does.
            models.Index(fields=["fired_at"], name="eventlog_fired"),
        ]

    def __str__(self) -> str:
        return f"{self.trigger_name or self.trigger_uuid} at {self.fired_at.isoformat()}"

    def status_at(self, moment: datetime | None = None) -> str:
        """The lifecycle status this event has at ``moment`` (now by default), from its age."""
        age = (moment or now()) - self.fired_at
        return self.Status.ARCHIVED if age >= archive_after() else self.Status.ACTIVE


# An event inserted with a ``fired_at`` older than this is a backfill (a restore, an import,
# seeding): the database notes it in :class:`LifecycleMarks` (migration 0003's trigger, which
# holds the same interval). Every firing path writes ``fired_at`` as the moment of the insert,
# so the passes that trust the marks stay this far (twice, for clock skew) behind now.
BACKFILL_GRACE = timedelta(minutes=15)
# The oldest a mark can be: nothing has been passed over yet.
BEGINNING = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


class LifecycleMarks(models.Model):
    """How far the background passes over event logs have got: one row, id 1.

    A pass that has handled every event fired before a moment records that moment here,
    so the next pass starts there instead of from the oldest event.

    - ``archived_through``: no event fired before it is still stored as active.
    - ``rolled_up_through``: an hour boundary; every event of the hours before it is
      counted in the hourly rollup.
    - ``backfills``: how many INSERT statements wrote events older than
      :data:`BACKFILL_GRACE`. The trigger of migration 0003 lowers both marks to the oldest
      such event and bumps this counter in the same statement, so a pass that compares
      the counter before moving a mark forward never skips an event inserted meanwhile.

    A missing row (``manage.py flush``) means both marks are at :data:`BEGINNING`.
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
    """One owner's events of one trigger in one UTC hour, counted by the rollup pass
    (:mod:`eventlogs.rollup`) so that ``GET /event_logs/aggregated`` reads a few thousand of
    these instead of a million events.

    Only what does not change with age is stored: the lifecycle status is computed at read
    time, and a whole hour is either active or archived except the one the archive cutoff
    falls in, which the reader counts from the events themselves. Which hours may be trusted
    is :attr:`LifecycleMarks.rolled_up_through`'s promise, not this table's: rows of hours
    past the mark may be stale or missing.
    """

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
