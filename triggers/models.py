from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now


@dataclass(frozen=True)
class TriggerState:
    """What a trigger is doing, in the words every page, the API and the admin use.

    ``code`` is one of :class:`Trigger.State` (and, as ``state-<code>``, the CSS class that
    colours it); ``reason`` says why when the trigger does not fire.
    """

    code: str
    label: str
    reason: str = ""


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

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"
        DISABLED = "disabled", "Disabled"
        TEST = "test", "Test"

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
    # Kept by the scheduler only: an API firing writes its event and leaves this row alone.
    scheduled_fire_count = models.PositiveBigIntegerField(default=0)
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

    def is_expired_at(self, moment: datetime | None = None) -> bool:
        """Whether ``expires_at`` (exclusive) has passed at ``moment`` (now by default)."""
        return self.expires_at is not None and self.expires_at <= (moment or now())

    def state_at(self, moment: datetime | None = None) -> TriggerState:
        """The one state shown for this trigger at ``moment``; ``triggers.selectors.triggers_in_state``
        is the same rule as a query, and docs/api.md explains it to users.

        A state that says the trigger can never fire again wins over one a user can undo:
        a fired one-time trigger is completed even if later paused or past its expiry, and an
        expired trigger stays expired when paused (resuming it is refused). ``is_test`` means
        "log one test event when saved and schedule nothing", so an enabled test trigger is
        shown as test rather than active.
        """
        State = self.State
        if self.schedule_kind == self.ScheduleKind.ONCE and self.next_fire_at is None and self.last_fired_at:
            return TriggerState(State.COMPLETED, State.COMPLETED.label, "It fired at its run time; nothing is left.")
        if self.is_expired_at(moment):
            return TriggerState(State.EXPIRED, State.EXPIRED.label, "Its expiry time has passed; it fires no more.")
        if not self.enabled and self.disabled_reason:
            return TriggerState(State.DISABLED, State.DISABLED.label, self.disabled_reason)
        if not self.enabled:
            return TriggerState(State.PAUSED, State.PAUSED.label, "Paused; resume it to fire again.")
        if self.is_test:
            reason = "A test trigger: it logged one test event when saved and schedules nothing."
            if self.type == self.Type.API:
                reason = "A test trigger: it logged one test event when saved; its fire endpoint still works."
            return TriggerState(State.TEST, State.TEST.label, reason)
        return TriggerState(State.ACTIVE, State.ACTIVE.label)

    @property
    def state(self) -> TriggerState:
        return self.state_at()
