"""What the operations side keeps: one heartbeat row per long-running process."""

from __future__ import annotations

import uuid

from django.db import models


class Heartbeat(models.Model):
    """A scheduler or delivery worker, alive as long as ``beat_at`` keeps moving.

    Each process inserts its row at start, moves ``beat_at`` every few seconds and deletes
    the row when it stops cleanly; the row of a process that was killed stays until it is
    pruned (``monitoring.services.heartbeats_prune``).
    """

    class Kind(models.TextChoices):
        SCHEDULER = "scheduler", "Scheduler"
        DELIVERIES = "deliveries", "Delivery worker"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    version = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "-beat_at"]
        indexes = [
            # The newest beat of a kind (deep health check, metrics).
            models.Index(fields=["kind", "-beat_at"], name="heartbeat_kind_beat"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.host}:{self.pid}"
