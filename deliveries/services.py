"""Writes of the deliveries app: targets, signing secrets, enqueueing and replaying deliveries.

``triggers`` calls :func:`delivery_enqueue` and :func:`deliveries_enqueue_for_events` inside
the transaction that writes the event, so an event whose trigger has a target is never
committed without its delivery.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils.timezone import now

from deliveries.models import ROTATION_OVERLAP, Attempt, Delivery, SigningSecret, Target, new_secret
from deliveries.targets import target_validate
from eventlogs.models import EventLog

# The delivery workers LISTEN here; sent inside the enqueueing transaction, so it arrives
# only once the delivery is committed.
DELIVERIES_CHANNEL = "sigwise_deliveries"

_DELIVERY = Delivery._meta.db_table
_TARGET = Target._meta.db_table
_EVENT = EventLog._meta.db_table

_ENQUEUE_ONE = f"""
    WITH enqueued AS (
        INSERT INTO {_DELIVERY}
            (event_id, owner_id, trigger_uuid, state, attempt_count, cycle_start, next_attempt_at,
             last_status, created_at, updated_at)
        SELECT %(event_id)s, %(owner_id)s, target.trigger_id, 'pending', 0, 0, %(due)s, '', %(at)s, %(at)s
        FROM {_TARGET} AS target
        WHERE target.trigger_id = %(trigger_id)s
        RETURNING 1
    )
    SELECT pg_notify('{DELIVERIES_CHANNEL}', '') FROM enqueued
"""  # noqa: S608 (table names come from the models, values are parameters)

_ENQUEUE_MANY = f"""
    WITH enqueued AS (
        INSERT INTO {_DELIVERY}
            (event_id, owner_id, trigger_uuid, state, attempt_count, cycle_start, next_attempt_at,
             last_status, created_at, updated_at)
        SELECT event.id, event.owner_id, event.trigger_uuid, 'pending', 0, 0, %(due)s, '', %(at)s, %(at)s
        FROM {_EVENT} AS event
        JOIN {_TARGET} AS target ON target.trigger_id = event.trigger_id
        WHERE event.id = ANY(%(event_ids)s::uuid[])
        RETURNING 1
    )
    SELECT pg_notify('{DELIVERIES_CHANNEL}', '') FROM (SELECT 1 FROM enqueued LIMIT 1) AS any_enqueued
"""  # noqa: S608


def first_delay() -> timedelta:
    return timedelta(seconds=settings.DELIVERY_RETRY_SCHEDULE[0])


def delivery_enqueue(*, event: EventLog) -> None:
    """Create the delivery of ``event`` if its trigger has a target (one statement, nothing
    written otherwise). Call it in the transaction that inserted the event."""
    at = now()
    with connection.cursor() as cursor:
        cursor.execute(
            _ENQUEUE_ONE,
            {
                "event_id": event.id,
                "owner_id": event.owner_id,
                "trigger_id": event.trigger_uuid,
                "due": at + first_delay(),
                "at": at,
            },
        )


def deliveries_enqueue_for_events(*, event_ids: list[uuid.UUID]) -> None:
    """Create the deliveries of those of ``event_ids`` whose trigger has a target."""
    if not event_ids:
        return
    at = now()
    with connection.cursor() as cursor:
        cursor.execute(_ENQUEUE_MANY, {"event_ids": event_ids, "due": at + first_delay(), "at": at})


def _notify_workers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [DELIVERIES_CHANNEL])


# --- Targets -------------------------------------------------------------------------


def target_set(*, trigger: Any, values: dict[str, Any] | None) -> Target | None:
    """Give ``trigger`` the target ``values`` (replacing any), or remove it with None.

    Raises :class:`deliveries.targets.TargetInvalid` naming each field."""
    if values is None:
        Target.objects.filter(trigger_id=trigger.pk).delete()
        return None
    fields = target_validate(values=values)
    target, _ = Target.objects.update_or_create(trigger_id=trigger.pk, defaults=fields)
    signing_secret_for(owner_id=trigger.owner_id)
    return target


# --- Signing secrets -----------------------------------------------------------------


def signing_secret_for(*, owner_id: int) -> SigningSecret:
    """The owner's signing secret, created on first use (not yet shown: see
    :func:`signing_secret_reveal`)."""
    secret, _ = SigningSecret.objects.get_or_create(owner_id=owner_id)
    return secret


@transaction.atomic
def signing_secret_reveal(*, owner_id: int) -> SigningSecret | None:
    """The owner's secret if it was never shown, now marked shown; else None.

    Exactly one caller gets it: a concurrent caller waits for the row lock, and
    PostgreSQL then re-checks ``shown_at IS NULL`` on the row as committed."""
    secret = SigningSecret.objects.select_for_update().filter(owner_id=owner_id, shown_at__isnull=True).first()
    if secret is None:
        return None
    secret.shown_at = now()
    secret.save(update_fields=["shown_at"])
    return secret


class SigningSecretShown(Exception):
    """The owner's secret exists and was shown before; only a rotation shows a new one."""


@transaction.atomic
def signing_secret_create(*, owner_id: int) -> tuple[SigningSecret, bool]:
    """Make the owner's secret and mark it shown, or reveal the one their first target
    made if it was never shown; the bool is True if made now. Raises
    :class:`SigningSecretShown` if the secret was already shown."""
    at = now()
    defaults = {"created_at": at, "shown_at": at}
    secret, created = SigningSecret.objects.get_or_create(owner_id=owner_id, defaults=defaults)
    if created:
        return secret, True
    revealed = signing_secret_reveal(owner_id=owner_id)
    if revealed is None:
        raise SigningSecretShown
    return revealed, False


@transaction.atomic
def signing_secret_rotate(*, owner_id: int) -> SigningSecret:
    """A new secret; the one it replaces keeps signing for :data:`ROTATION_OVERLAP`."""
    secret = SigningSecret.objects.select_for_update().filter(owner_id=owner_id).first()
    at = now()
    if secret is None:
        return SigningSecret.objects.create(owner_id=owner_id, created_at=at, shown_at=at)
    secret.previous_secret = secret.secret
    secret.previous_expires_at = at + ROTATION_OVERLAP
    secret.secret = new_secret()
    secret.created_at = at
    secret.shown_at = at  # in the rotation's own response
    secret.save()
    return secret


# --- Replays -------------------------------------------------------------------------


class RedeliveryRefused(Exception):
    """The delivery cannot start again now (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def delivery_redeliver(*, owner_id: int, event_id: uuid.UUID) -> Delivery:
    """Start a new cycle of the event's delivery now: the retry schedule begins again,
    with the same ``webhook-id``. Raises :class:`RedeliveryRefused` for an event without a
    delivery, one whose trigger has no target now, or one being sent at this moment."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(owner_id=owner_id, event_id=event_id).first()
        if delivery is None:
            event = EventLog.objects.filter(owner_id=owner_id, pk=event_id).only("id", "owner_id", "trigger_uuid")
            found = event.first()
            if found is None or not Target.objects.filter(trigger_id=found.trigger_uuid).exists():
                raise RedeliveryRefused("This event's trigger has no target.")
            delivery_enqueue(event=found)
            return Delivery.objects.get(pk=event_id)
        if delivery.state == Delivery.State.DELIVERING:
            raise RedeliveryRefused("This event is being delivered now; try again when the attempt ends.")
        at = now()
        delivery.state = Delivery.State.PENDING
        delivery.cycle_start = delivery.attempt_count
        delivery.next_attempt_at = at
        delivery.updated_at = at
        delivery.save(update_fields=["state", "cycle_start", "next_attempt_at", "updated_at"])
        _notify_workers()
    return delivery


@transaction.atomic
def deliveries_redeliver_failed(*, owner_id: int, trigger_id: uuid.UUID, at: datetime | None = None) -> int:
    """Start a new cycle for every failed or rejected delivery of the trigger in the
    retention period; return how many."""
    at = at or now()
    count = Delivery.objects.filter(
        owner_id=owner_id,
        trigger_uuid=trigger_id,
        state__in=[Delivery.State.FAILED, Delivery.State.REJECTED],
        created_at__gt=at - settings.EVENT_LOG_DELETE_AFTER,
    ).update(
        state=Delivery.State.PENDING,
        cycle_start=F("attempt_count"),
        next_attempt_at=at,
        updated_at=at,
    )
    if count:
        _notify_workers()
    return count


# --- Retention -----------------------------------------------------------------------


def deliveries_delete_old(*, at: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete deliveries (and their attempts) older than the event retention, in batches
    of their own transactions; return how many deliveries were deleted."""
    cutoff = (at or now()) - settings.EVENT_LOG_DELETE_AFTER
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(Delivery.objects.filter(created_at__lte=cutoff).values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            Attempt.objects.filter(delivery_id__in=ids).delete()
            deleted += Delivery.objects.filter(pk__in=ids).delete()[0]


# --- Test sends ----------------------------------------------------------------------


def target_test_send(*, trigger: Any, target: Target) -> Any:
    """Send a signed ``trigger.test`` request to ``target`` now and return its
    :class:`deliveries.engine.Outcome`; no event and no delivery are written."""
    import asyncio

    from deliveries.engine import new_transport, send
    from deliveries.signing import TEST, sign_request

    at = now()
    secret = signing_secret_for(owner_id=trigger.owner_id)
    request = sign_request(
        message_id=f"msg_{uuid.uuid4().hex}",
        message_type=TEST,
        data={"trigger_id": str(trigger.pk), "trigger_name": trigger.name, "payload": trigger.api_payload},
        secrets=secret.signing_secrets(at=at),
        at=at,
        extra_headers=target.headers,
    )

    async def once() -> Any:
        async with new_transport(concurrency=1) as transport:
            return await send(
                transport, url=target.url, body=request.body, headers=request.headers, timeout=target.timeout_seconds
            )

    return asyncio.run(once())
