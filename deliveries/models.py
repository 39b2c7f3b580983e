"""Targets, signing secrets, deliveries and their attempts (docs/design/delivery.md).

This app never imports ``triggers``: the target refers to its trigger by the model's
label only, as the event log does.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

SECRET_PREFIX = "whsec_"  # noqa: S105 (the spec's prefix, not a secret)
# How long the previous secret keeps signing after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)


class Target(models.Model):
    """Where a trigger's firings are sent: one per trigger, or none."""

    trigger = models.OneToOneField(
        "triggers.Trigger", on_delete=models.CASCADE, primary_key=True, related_name="target"
    )
    url = models.URLField(max_length=2000)
    # {"Header-Name": "value"}; names and values are checked by deliveries.targets.
    headers = models.JSONField(default=dict, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(timeout_seconds__gte=1, timeout_seconds__lte=30), name="target_timeout_range"
            ),
        ]

    def __str__(self) -> str:
        return self.url


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class SigningSecret(models.Model):
    """A user's webhook signing secret. After a rotation the previous one keeps signing
    until ``previous_expires_at`` so receivers can switch without losing a request.

    Stored in clear: HMAC needs the secret itself, so it cannot be hashed like a password.
    ``shown_at`` is when the secret was shown to its owner, once: in the response that made
    it, or, for one made with the owner's first target, in the first response or page after.
    """

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="signing_secret"
    )
    secret = models.CharField(max_length=100, default=new_secret)
    created_at = models.DateTimeField(default=now)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_expires_at = models.DateTimeField(null=True, blank=True)
    shown_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… of {self.owner_id}"

    @property
    def prefix(self) -> str:
        return self.secret[: len(SECRET_PREFIX) + 4]

    def signing_secrets(self, *, at: datetime | None = None) -> list[str]:
        """The secrets that sign a request sent at ``at``: the current one, and the previous
        one while its overlap lasts."""
        found = [self.secret]
        if self.previous_secret and self.previous_expires_at and self.previous_expires_at > (at or now()):
            found.append(self.previous_secret)
        return found


class Delivery(models.Model):
    """The sending of one event to its trigger's target, retried until it ends.

    Its primary key is the event's id, which is also the ``webhook-id`` header: one
    delivery per event, the same id on every attempt and replay. There is no database
    foreign key to the event, so the lifecycle's raw deletes of old events need not touch
    this table; ``deliveries.services.deliveries_delete_old`` removes deliveries on the
    same retention.

    ``next_attempt_at`` is when a worker may claim the row. While a worker holds it
    (``delivering``) it is the end of that worker's lease: if the worker dies, the row
    becomes due again then, and the lease value is the fence that keeps a late result of
    the dead worker from overwriting the new one.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERING = "delivering", "Delivering"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"

    OPEN_STATES = (State.PENDING, State.DELIVERING, State.RETRYING)

    event = models.OneToOneField(
        "eventlogs.EventLog",
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_constraint=False,
        related_name="delivery",
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    trigger_uuid = models.UUIDField(help_text="The event's trigger; its target is read at each attempt.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    # attempt_count when the current cycle began: a redelivery starts the schedule over.
    cycle_start = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=40, blank=True, help_text="HTTP status or error class.")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "delivering", "retrying"], next_attempt_at__isnull=False)
                | Q(state__in=["delivered", "failed", "rejected"]),
                name="delivery_open_has_next_attempt",
            ),
        ]
        indexes = [
            # The claim: per owner, the oldest due open deliveries (WHERE owner_id = ? AND
            # next_attempt_at <= now() ... FOR UPDATE SKIP LOCKED), and the skip scan over owners.
            models.Index(
                fields=["owner", "next_attempt_at"],
                condition=Q(state__in=["pending", "delivering", "retrying"]),
                name="delivery_due_by_owner",
            ),
            # The worker's sleep until MIN(next_attempt_at) of an open delivery.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "delivering", "retrying"]),
                name="delivery_due",
            ),
            # Redeliver-failed of a trigger, and retention by age.
            models.Index(fields=["trigger_uuid", "created_at"], name="delivery_trigger_created"),
            models.Index(fields=["created_at"], name="delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class Attempt(models.Model):
    """One HTTP request of a delivery, as the receiver answered it (or did not)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=40, blank=True, help_text="The error class when there was no response.")
    response_body = models.TextField(blank=True, help_text="The first 1 KiB of the response body.")
    outcome = models.CharField(max_length=16, choices=Delivery.State.choices)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_one_per_number"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.status_code or self.error}"

    @property
    def result(self) -> str:
        return str(self.status_code) if self.status_code is not None else self.error


class Notification(models.Model):
    """The last email sent about a trigger, so an owner gets at most one per trigger per hour."""

    trigger_uuid = models.UUIDField(primary_key=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()
    subject = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.trigger_uuid} at {self.sent_at.isoformat()}"
