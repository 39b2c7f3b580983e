"""Firing scheduled triggers: exactly once per slot, promptly, beside other schedulers.

:func:`triggers_dispatch_due` is the whole firing rule (DESIGN.md "Firing: exactly once
per slot"). In one transaction it claims due triggers with ``SELECT … FOR UPDATE SKIP
LOCKED``, inserts one event per claimed slot and advances ``next_fire_at``. Because the
event and the advance commit together, a crash (even ``kill -9``) between two batches
loses nothing and repeats nothing, and ``SKIP LOCKED`` lets several schedulers share
the work without waiting for each other. The unique ``(trigger, scheduled_for)``
constraint is the last guard: a slot that somehow is already recorded is skipped
(``ON CONFLICT DO NOTHING``) instead of aborting the batch and wedging the loop.

:class:`TriggerDispatcher` is the loop the scheduler process runs in a thread of its
own: it sleeps until the earliest ``next_fire_at`` and is woken early by ``LISTEN
sigwise_triggers_changed`` (sent by every trigger write in ``triggers.services``), with
a short poll as a safety net, so edits apply without a restart and a slot fires within
a few milliseconds of its time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.db import Error as DjangoDatabaseError
from django.db import connection, connections, transaction
from django.db.models import DateTimeField, Func

from core.metrics import DISPATCH_BATCH_DURATION, DISPATCH_LATENESS, SCHEDULED_FIRINGS
from deliveries.hooks import deliveries_enqueue_for_events, notify_disabled_triggers
from eventlogs.services import eventlogs_record_scheduled
from triggers.models import Trigger
from triggers.schedules import ONCE
from triggers.services import TRIGGERS_CHANGED_CHANNEL, trigger_schedule

logger = logging.getLogger(__name__)

# Both libraries' errors: Django wraps errors raised through its cursors, while the
# LISTEN connection is used through psycopg directly.
DATABASE_ERRORS = (DjangoDatabaseError, psycopg.Error)

_REASON_MAX_LENGTH = Trigger._meta.get_field("disabled_reason").max_length


@dataclass(frozen=True)
class Dispatched:
    """What happened to one claimed trigger: fired (``event_id`` set), finished, or disabled."""

    trigger_id: uuid.UUID
    slot: datetime
    fired_at: datetime
    event_id: uuid.UUID | None
    next_fire_at: datetime | None
    disabled_reason: str = ""
    expired: bool = False

    @property
    def fired(self) -> bool:
        return self.event_id is not None

    @property
    def lateness(self) -> timedelta:
        return self.fired_at - self.slot


@dataclass
class _Plan:
    trigger_id: uuid.UUID
    slot: datetime
    fire: bool
    next_fire_at: datetime | None
    enabled: bool = True
    disabled_reason: str = ""
    expired: bool = False


# One statement advances the whole batch; updated_at is left alone because it records
# the owner's last edit, not the scheduler's bookkeeping.
_ADVANCE_TRIGGERS = f"""
    UPDATE {Trigger._meta.db_table} AS t
    SET next_fire_at = planned.next_fire_at,
        enabled = planned.enabled,
        disabled_reason = planned.disabled_reason,
        last_fired_at = CASE WHEN planned.fired THEN %(fired_at)s ELSE t.last_fired_at END,
        scheduled_fire_count = t.scheduled_fire_count + CASE WHEN planned.fired THEN 1 ELSE 0 END
    FROM unnest(%(ids)s::uuid[], %(next_fire_at)s::timestamptz[], %(enabled)s::boolean[],
                %(reasons)s::text[], %(fired)s::boolean[])
         AS planned(id, next_fire_at, enabled, disabled_reason, fired)
    WHERE t.id = planned.id
"""  # noqa: S608


# While a due trigger's row is held by another transaction (an edit, an open admin
# transaction, another scheduler), the dispatcher retries its claim at most this often.
LOCKED_ROW_RETRY_SECONDS = 0.25


class StatementTimestamp(Func):
    """PostgreSQL's ``statement_timestamp()``: stable within the statement, so the claim's
    ``next_fire_at <= …`` can still use the ``trigger_due`` index (``clock_timestamp()`` is
    volatile and could not)."""

    template = "statement_timestamp()"
    output_field = DateTimeField()


def triggers_dispatch_due(*, at: datetime | None = None, batch_size: int | None = None) -> list[Dispatched]:
    """Fire up to ``batch_size`` triggers due in one transaction.

    PostgreSQL's clock decides what is due and stamps ``fired_at``, so every scheduler
    host agrees on "now" whatever its own clock says: a host whose clock runs fast
    neither fires early nor wins every slot, and lateness is measured on one clock.
    ``at`` replaces that clock for both (tests move time with it).

    Returns one :class:`Dispatched` per claimed trigger, oldest slot first; a result
    shorter than ``batch_size`` means nothing else was due and unclaimed. Rows another
    scheduler (or an edit) holds are skipped, not waited for.
    """
    batch_size = batch_size or settings.SCHEDULER_DISPATCH_BATCH_SIZE
    with transaction.atomic():
        claimed = list(
            # A deactivated owner's triggers wait, due, until the owner is active again; only
            # the trigger rows are locked, never the owners'.
            Trigger.objects.select_for_update(skip_locked=True, of=("self",))
            .annotate(database_now=StatementTimestamp())
            .filter(
                enabled=True,
                next_fire_at__lte=at if at is not None else StatementTimestamp(),
                owner__is_active=True,
            )
            .order_by("next_fire_at")
            .only(
                "id",
                "schedule_kind",
                "run_at",
                "interval_seconds",
                "start_at",
                "cron_expression",
                "cron_timezone",
                "expires_at",
                "next_fire_at",
            )[:batch_size]
        )
        if not claimed:
            return []
        fired_at = at if at is not None else claimed[0].database_now
        plans = [_plan(trigger, fired_at=fired_at) for trigger in claimed]
        event_ids = eventlogs_record_scheduled(
            slots=[(plan.trigger_id, plan.slot) for plan in plans if plan.fire], fired_at=fired_at
        )
        deliveries_enqueue_for_events(event_ids=list(event_ids.values()))
        _advance(plans, event_ids, fired_at=fired_at)
    return [
        Dispatched(
            trigger_id=plan.trigger_id,
            slot=plan.slot,
            fired_at=fired_at,
            event_id=event_ids.get(plan.trigger_id),
            next_fire_at=plan.next_fire_at,
            disabled_reason=plan.disabled_reason,
            expired=plan.expired,
        )
        for plan in plans
    ]


class ClockTimestamp(Func):
    template = "clock_timestamp()"
    output_field = DateTimeField()


def triggers_seconds_until_due(*, longest: float) -> float:
    """How long the dispatcher may sleep: until the earliest slot it could claim, at most ``longest``.

    Measured on PostgreSQL's clock, the one that decides due-ness. A due trigger whose
    row another transaction holds is not claimable now: waiting for it would spin, so
    it is retried every :data:`LOCKED_ROW_RETRY_SECONDS` (a NOTIFY from the edit that
    holds it wakes the dispatcher sooner).
    """
    scheduled = Trigger.objects.filter(enabled=True, next_fire_at__isnull=False, owner__is_active=True).order_by(
        "next_fire_at"
    )
    earliest = scheduled.annotate(database_now=ClockTimestamp()).values_list("next_fire_at", "database_now").first()
    if earliest is None:
        return longest
    next_due, database_now = earliest
    if next_due > database_now:
        return min((next_due - database_now).total_seconds(), longest)
    with transaction.atomic():
        claimable = (
            scheduled.select_for_update(skip_locked=True, of=("self",))
            .annotate(database_now=ClockTimestamp())
            .values_list("next_fire_at", "database_now")
            .first()
        )
    if claimable is not None and claimable[0] <= claimable[1]:
        return 0.0
    claimable_in = (claimable[0] - claimable[1]).total_seconds() if claimable is not None else longest
    return min(claimable_in, LOCKED_ROW_RETRY_SECONDS, longest)


def dispatch_pending(
    *, at: datetime | None = None, batch_size: int | None = None, should_stop: Callable[[], bool] | None = None
) -> int:
    """Fire everything due now (or at ``at``), batch after batch, logging each outcome; return the number fired."""
    batch_size = batch_size or settings.SCHEDULER_DISPATCH_BATCH_SIZE
    fired = 0
    while True:
        started = time.perf_counter()
        outcomes = triggers_dispatch_due(at=at, batch_size=batch_size)
        if outcomes:
            # Only batches that claimed something: the empty polls would drown them.
            DISPATCH_BATCH_DURATION.observe(time.perf_counter() - started)
        for outcome in outcomes:
            _log(outcome)
        notify_disabled_triggers(
            disabled=[(each.trigger_id, each.disabled_reason) for each in outcomes if each.disabled_reason]
        )
        batch_fired = sum(outcome.fired for outcome in outcomes)
        if batch_fired:
            SCHEDULED_FIRINGS.inc(batch_fired)
        fired += batch_fired
        if len(outcomes) < batch_size or (should_stop is not None and should_stop()):
            return fired


def _plan(trigger: Trigger, *, fired_at: datetime) -> _Plan:
    """Decide one claimed slot: fire it or not, and what comes next.

    A slot at or after ``expires_at`` is not fired (an expired trigger never fires). A
    slot missed while no scheduler ran is fired once, late; ``next_fire_after`` then
    skips the rest of the missed period (one catch-up event, then the normal cadence).
    """
    slot = trigger.next_fire_at
    expires_at = trigger.expires_at
    if expires_at is not None and slot >= expires_at:
        return _Plan(trigger.id, slot, fire=False, next_fire_at=None, expired=True)
    try:
        schedule = trigger_schedule(trigger)
        if schedule is None:
            raise ValueError("a scheduled trigger has no schedule")
        upcoming = schedule.next_fire_after(slot, now=fired_at)
    except Exception as error:  # any failure of stored data must stop this trigger, not the loop
        logger.warning("Trigger %s has a schedule that cannot be computed", trigger.id, exc_info=True)
        reason = f"Stopped by the scheduler: its schedule cannot be computed ({error}). Edit the schedule to resume."
        return _Plan(trigger.id, slot, fire=False, next_fire_at=None, enabled=False, disabled_reason=_cut(reason))
    if upcoming is None:
        if schedule.kind == ONCE:
            return _Plan(trigger.id, slot, fire=True, next_fire_at=None)
        # A recurring schedule with no time left (say a cron for 30 February): fire the
        # slot it did have, then stop it with a reason the owner can read.
        reason = "Stopped by the scheduler: its schedule has no future firing time. Edit the schedule to resume."
        return _Plan(trigger.id, slot, fire=True, next_fire_at=None, enabled=False, disabled_reason=reason)
    if expires_at is not None and upcoming >= expires_at:
        upcoming = None
    return _Plan(trigger.id, slot, fire=True, next_fire_at=upcoming)


def _advance(plans: list[_Plan], event_ids: dict[uuid.UUID, uuid.UUID], *, fired_at: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _ADVANCE_TRIGGERS,
            {
                "fired_at": fired_at,
                "ids": [plan.trigger_id for plan in plans],
                "next_fire_at": [plan.next_fire_at for plan in plans],
                "enabled": [plan.enabled for plan in plans],
                "reasons": [plan.disabled_reason for plan in plans],
                "fired": [plan.trigger_id in event_ids for plan in plans],
            },
        )


def _cut(reason: str) -> str:
    return reason if len(reason) <= _REASON_MAX_LENGTH else reason[: _REASON_MAX_LENGTH - 1] + "…"


def _log(outcome: Dispatched) -> None:
    slot = outcome.slot.isoformat()
    if outcome.fired:
        lateness = outcome.lateness / timedelta(seconds=1)
        DISPATCH_LATENESS.observe(lateness)
        logger.info(
            "Fired trigger %s for slot %s (%.1f ms late); next %s",
            outcome.trigger_id,
            slot,
            lateness * 1000,
            outcome.next_fire_at.isoformat() if outcome.next_fire_at else "none",
            extra={"trigger_id": str(outcome.trigger_id), "slot": slot, "lateness_seconds": round(lateness, 6)},
        )
    elif outcome.expired:
        logger.info("Trigger %s has expired; slot %s not fired", outcome.trigger_id, slot)
    elif not outcome.disabled_reason:
        logger.warning("Trigger %s: slot %s was already recorded; skipped", outcome.trigger_id, slot)
    if outcome.disabled_reason:
        logger.warning("Disabled trigger %s at slot %s: %s", outcome.trigger_id, slot, outcome.disabled_reason)


class TriggerDispatcher:
    """The dispatch loop: fire what is due, then sleep until the next slot or a change.

    It runs in a thread of the scheduler process. Its own autocommit connection
    LISTENs for trigger changes; LISTEN is issued before the next slot is read, so a
    change committed after that read always wakes it. A poll of at most
    ``max_sleep_seconds`` covers writes that bypass ``triggers.services``. Database
    errors (a restart, ``pg_terminate_backend``) close both connections, back off
    briefly and retry: the transactional claim means no slot is lost or repeated.
    """

    def __init__(self, *, batch_size: int | None = None, max_sleep_seconds: float | None = None) -> None:
        self.batch_size = batch_size or settings.SCHEDULER_DISPATCH_BATCH_SIZE
        self.max_sleep_seconds = max_sleep_seconds or settings.SCHEDULER_MAX_SLEEP_SECONDS
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        self._listener = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="dispatcher", daemon=True)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, *, timeout: float | None = None) -> None:
        """Ask the loop to stop after its current transaction, and wait for it."""
        self._stopping.set()
        os.write(self._wake_write, b"x")
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        backoff = 0.1
        logger.info(
            "Dispatcher started (batch size %s, poll at most every %s s)", self.batch_size, self.max_sleep_seconds
        )
        try:
            while not self._stopping.is_set():
                try:
                    self._listen()
                    dispatch_pending(batch_size=self.batch_size, should_stop=self._stopping.is_set)
                    if self._stopping.is_set():
                        break
                    self._sleep(triggers_seconds_until_due(longest=self.max_sleep_seconds))
                    backoff = 0.1
                except DATABASE_ERRORS as error:
                    logger.warning("Database unavailable (%s); retrying in %.1f s", str(error).strip(), backoff)
                    self._disconnect()
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                except Exception:
                    logger.exception("Dispatch failed; retrying in %.1f s", backoff)
                    self._disconnect()
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            self._disconnect()
            logger.info("Dispatcher stopped")

    def _listen(self) -> None:
        if self._listener is not None:
            return
        # A second connection from the same settings (and application_name); Django's
        # connections are autocommit, which LISTEN needs to take effect at once.
        listener = connections.create_connection(connection.alias)
        listener.connect()
        listener.connection.execute(f"LISTEN {TRIGGERS_CHANGED_CHANNEL}")
        self._listener = listener
        logger.info("Dispatcher listening on %s", TRIGGERS_CHANGED_CHANNEL)

    def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        raw = self._listener.connection
        readable, _, _ = select.select([raw.fileno(), self._wake_read], [], [], seconds)
        if self._wake_read in readable:
            os.read(self._wake_read, 64)
        if raw.fileno() in readable:
            # Drain every queued notification: a burst of edits costs one wake-up.
            for _ in raw.notifies(timeout=0):
                pass

    def _disconnect(self) -> None:
        for wrapper in (self._listener, connection):
            if wrapper is None:
                continue
            # Closing a connection the server already dropped may fail; a new one is opened on the next attempt.
            with contextlib.suppress(*DATABASE_ERRORS):
                wrapper.close()
        self._listener = None
