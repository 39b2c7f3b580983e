from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class Trigger(models.Model):
    """Something that fires: on a schedule, or when its owner calls the fire API.

    A scheduled trigger has exactly one schedule kind (``once`` at ``run_at``,
    ``interval`` every ``interval_seconds`` from ``start_at``, or ``cron`` in
    ``cron_timezone``). ``next_fire_at`` is the next slot the dispatcher will fire,
    computed by ``triggers.schedules``; it is null when nothing is left to fire
    (one-time done, expired, paused, test, or an API trigger).
    """

    class Type(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        API = "api", "API"

    class ScheduleKind(models.TextChoices):
        ONCE = "once", "Once"
        INTERVAL = "interval", "Interval"
        CRON = "cron", "Cron"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="triggers", db_index=False
    )
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=16, choices=Type.choices)

    schedule_kind = models.CharField(max_length=16, choices=ScheduleKind.choices, blank=True)
    run_at = models.DateTimeField(null=True, blank=True)
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    start_at = models.DateTimeField(null=True, blank=True)
    cron_expression = models.CharField(max_length=120, blank=True)
    cron_timezone = models.CharField(max_length=64, blank=True)

    api_payload = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_test = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the scheduler stopped this trigger, when it did."
    )

    next_fire_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    fire_count = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type="api", schedule_kind="") | Q(type="scheduled") & ~Q(schedule_kind=""),
                name="trigger_schedule_matches_type",
            ),
            models.CheckConstraint(
                condition=Q(interval_seconds__isnull=True) | Q(interval_seconds__gt=0),
                name="trigger_interval_positive",
            ),
        ]
        indexes = [
            # The dispatcher: WHERE enabled AND next_fire_at <= now() ORDER BY next_fire_at
            # ... FOR UPDATE SKIP LOCKED, and its sleep until MIN(next_fire_at). Partial, so
            # finished, paused and API triggers cost the dispatcher nothing.
            models.Index(
                fields=["next_fire_at"],
                condition=Q(enabled=True, next_fire_at__isnull=False),
                name="trigger_due",
            ),
            # GET /triggers: WHERE owner_id = ? ORDER BY created_at DESC (plus type/enabled filters).
            models.Index(fields=["owner", "-created_at"], name="trigger_owner_created"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def schedule_details(self) -> dict[str, Any] | None:
        """The schedule in the API's shape (the seed's ``schedule_details``)."""
        if self.schedule_kind == self.ScheduleKind.ONCE:
            return {"run_at": self.run_at}
        if self.schedule_kind == self.ScheduleKind.INTERVAL:
            return {"interval_seconds": self.interval_seconds, "start_at": self.start_at}
        if self.schedule_kind == self.ScheduleKind.CRON:
            return {"cron": self.cron_expression, "timezone": self.cron_timezone}
        return None
