"""The delivery worker: claims due deliveries, sends them, records each attempt.

One asyncio loop per ``manage.py rundeliveries`` process; several processes may run.
The design and its trade-offs are in docs/design/delivery.md; in short:

- **Claim** (:data:`_CLAIM`): one statement picks, for each owner with due deliveries in
  turn, at most ``per_owner`` of their oldest due rows (``FOR UPDATE SKIP LOCKED``, so
  workers never wait for each other), and marks them ``delivering`` with a lease: their
  ``next_attempt_at`` becomes the lease's end. A worker killed mid-attempt leaves rows
  that become due again when the lease ends, and are sent again with the same
  ``webhook-id`` (at least once).
- **Send** with one httpx transport per target host (keep-alive; httpcore's pool scans
  all its connections on every request, so one pool per host keeps that scan short) on
  :class:`deliveries.network.PublicOnlyTransport`, at most ``concurrency`` requests in
  all and ``per_host`` per target host. A delivery claimed for a host at its limit waits
  in that host's short queue, and the host's triggers are left out of claims until the queue
  is empty, so a hanging host ties up only its own slots and a fast one is not claimed
  and handed back over and over. A queued delivery whose lease could end before its
  attempt does is handed back instead of sent.
- **Record** (:data:`_RECORD`): results are written in batches (a finished attempt waits
  ``RECORD_GATHER_SECONDS`` for others), one statement updating the deliveries and
  inserting their attempts, fenced on the lease value so a worker
  whose lease expired cannot overwrite the attempt of the worker that took over.
- **Wake** on ``LISTEN sigwise_deliveries`` (sent by every enqueue), on a freed slot
  while more is due, after results that schedule a retry, or at the earliest
  ``next_attempt_at``, with a poll of at most ``max_sleep`` seconds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import functools
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from django.conf import settings
from django.db import connection
from django.utils.timezone import now

from core.metrics import DELIVERIES, DELIVERY_LATENCY
from deliveries.models import Attempt, Delivery, SigningSecret, Target
from deliveries.network import AddressRefused, PublicOnlyTransport
from deliveries.services import DELIVERIES_CHANNEL
from deliveries.signing import FIRED, event_data, sign_request
from eventlogs.models import EventLog

logger = logging.getLogger(__name__)

RESPONSE_READ_LIMIT = 64 * 1024
RESPONSE_KEEP = 1024
RETRY_AFTER_LIMIT = 3600
RETRIED_STATUSES = frozenset({408, 425, 429})
# A delivery handed back because its host was at its limit is due again this much later.
HOST_BUSY_DELAY = timedelta(milliseconds=500)
# A host's queue holds this many deliveries per slot: deep enough that a fast host's
# claims are not mostly handed back, short enough that a retry falling due behind it
# waits for a few attempts only.
QUEUE_PER_SLOT = 2
# A queued delivery starts only if its lease outlasts its timeout by this much.
LEASE_SAFETY_SECONDS = 2

_DELIVERY = Delivery._meta.db_table
_ATTEMPT = Attempt._meta.db_table
_EVENT = EventLog._meta.db_table
_TARGET = Target._meta.db_table
_SECRET = SigningSecret._meta.db_table
_OPEN = "('pending', 'delivering', 'retrying')"

# Round-robin over owners: a recursive skip scan finds each owner with due deliveries once
# (the ``delivery_due_by_owner`` index) and takes at most ``per_owner`` of each, so one
# owner's flood cannot fill a claim while another owner waits. The visit starts after the
# owner the previous claim reached (``after``) and wraps, so when more owners are due than
# one claim holds, the owners with the highest ids are not always the ones left over.
_CLAIM = f"""
    WITH RECURSIVE owners AS (
        (SELECT owner_id FROM {_DELIVERY}
         WHERE state IN {_OPEN} AND next_attempt_at <= %(now)s ORDER BY owner_id LIMIT 1)
        UNION ALL
        SELECT (SELECT d.owner_id FROM {_DELIVERY} AS d
                WHERE d.state IN {_OPEN} AND d.next_attempt_at <= %(now)s AND d.owner_id > owners.owner_id
                ORDER BY d.owner_id LIMIT 1)
        FROM owners WHERE owners.owner_id IS NOT NULL
    ),
    rotated AS (
        SELECT owner_id FROM owners WHERE owner_id IS NOT NULL ORDER BY owner_id <= %(after)s, owner_id
    ),
    picked AS (
        SELECT due.event_id, due.trigger_uuid, due.owner_id
        FROM rotated AS owners CROSS JOIN LATERAL (
            SELECT d.event_id, d.trigger_uuid, d.owner_id FROM {_DELIVERY} AS d
            WHERE d.owner_id = owners.owner_id AND d.state IN {_OPEN} AND d.next_attempt_at <= %(now)s
              AND NOT d.trigger_uuid = ANY(%(busy)s::uuid[])
            ORDER BY d.next_attempt_at
            LIMIT %(per_owner)s
            FOR UPDATE SKIP LOCKED
        ) AS due
        LIMIT %(limit)s
    )
    UPDATE {_DELIVERY} AS delivery
    SET state = 'delivering',
        next_attempt_at = date_trunc('milliseconds', %(now)s::timestamptz)
            + make_interval(secs => 2 * COALESCE(target.timeout_seconds, 30) + %(lease_margin)s),
        updated_at = %(now)s
    FROM picked
    LEFT JOIN {_EVENT} AS event ON event.id = picked.event_id
    LEFT JOIN {_TARGET} AS target ON target.trigger_id = picked.trigger_uuid
    LEFT JOIN {_SECRET} AS secret ON secret.owner_id = picked.owner_id
    WHERE delivery.event_id = picked.event_id
    RETURNING delivery.event_id, delivery.trigger_uuid, delivery.next_attempt_at, delivery.attempt_count,
              delivery.cycle_start,
              event.id, event.trigger_uuid, event.trigger_name, event.source, event.fired_at,
              event.scheduled_for, event.payload,
              target.url, target.headers, target.timeout_seconds,
              secret.secret, secret.previous_secret, secret.previous_expires_at, delivery.owner_id
"""  # noqa: S608 (table names come from the models, values are parameters)

# Fenced on the lease: only a row still ``delivering`` under this worker's lease is updated,
# and only an updated row gets its attempt row.
_RECORD = f"""
    WITH result AS (
        SELECT * FROM unnest(
            %(ids)s::uuid[], %(leases)s::timestamptz[], %(states)s::text[], %(next)s::timestamptz[],
            %(statuses)s::text[], %(started)s::timestamptz[], %(durations)s::int[], %(codes)s::int[],
            %(errors)s::text[], %(bodies)s::text[]
        ) AS r(event_id, lease, state, next_attempt_at, last_status, started_at, duration_ms, status_code,
               error, response_body)
    ),
    updated AS (
        UPDATE {_DELIVERY} AS delivery
        SET state = result.state, next_attempt_at = result.next_attempt_at, last_status = result.last_status,
            attempt_count = delivery.attempt_count + 1, updated_at = %(at)s
        FROM result
        WHERE delivery.event_id = result.event_id AND delivery.state = 'delivering'
          AND delivery.next_attempt_at = result.lease
        RETURNING delivery.event_id, delivery.attempt_count, delivery.owner_id, delivery.trigger_uuid
    )
    INSERT INTO {_ATTEMPT} (delivery_id, number, started_at, duration_ms, status_code, error, response_body, outcome)
    SELECT updated.event_id, updated.attempt_count, result.started_at, result.duration_ms, result.status_code,
           result.error, result.response_body, result.state
    FROM updated JOIN result ON result.event_id = updated.event_id
    RETURNING delivery_id, outcome
"""  # noqa: S608

# A delivery handed back untried (its host was busy): due again shortly, no attempt counted.
_RELEASE = f"""
    UPDATE {_DELIVERY} AS delivery
    SET state = CASE WHEN delivery.attempt_count = delivery.cycle_start THEN 'pending' ELSE 'retrying' END,
        next_attempt_at = %(due)s, updated_at = %(at)s
    FROM unnest(%(ids)s::uuid[], %(leases)s::timestamptz[]) AS released(event_id, lease)
    WHERE delivery.event_id = released.event_id AND delivery.state = 'delivering'
      AND delivery.next_attempt_at = released.lease
"""  # noqa: S608

RETENTION_EVERY_SECONDS = 600
# A finished attempt waits this long for others to finish before its result is written, so
# that a busy worker records many attempts per statement.
RECORD_GATHER_SECONDS = 0.02


def _delete_old_deliveries() -> int:
    from django.db import close_old_connections

    from deliveries.services import deliveries_delete_old

    close_old_connections()
    try:
        return deliveries_delete_old()
    finally:
        close_old_connections()


# The earliest delivery a claim could take: busy hosts' triggers are left out, as in the claim.
_NEXT_DUE = f"""
    SELECT min(next_attempt_at) FROM {_DELIVERY}
    WHERE state IN {_OPEN} AND NOT trigger_uuid = ANY(%(busy)s::uuid[])
"""  # noqa: S608


@dataclass(frozen=True)
class Outcome:
    """What one request did: a status code and a body, or an error class."""

    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""
    body: str = ""
    retry_after: float | None = None

    @property
    def last_status(self) -> str:
        return str(self.status_code) if self.status_code is not None else self.error

    def verdict(self) -> str:
        """delivered, retry or rejected (the delivery rules in docs/delivery.md)."""
        if self.status_code is None:
            return "rejected" if self.error == "AddressRefused" else "retry"
        if 200 <= self.status_code < 300:
            return "delivered"
        if self.status_code in RETRIED_STATUSES or self.status_code >= 500:
            return "retry"
        return "rejected"


@dataclass
class Claimed:
    event_id: uuid.UUID
    trigger_uuid: uuid.UUID
    lease: datetime
    attempt_in_cycle: int  # 1 for the first attempt of this cycle
    data: dict[str, Any] | None
    url: str | None
    headers: dict[str, str]
    timeout: int
    secrets: list[str]
    fired_at: datetime | None = None  # None when the event is gone
    host: str = field(init=False)

    def __post_init__(self) -> None:
        self.host = host_of(self.url or "")


@functools.lru_cache(maxsize=4096)
def host_of(url: str) -> str:
    """The scheme, host and port a URL connects to: the key of the per-host limits."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"


def retry_schedule() -> list[float]:
    return list(settings.DELIVERY_RETRY_SCHEDULE)


def next_attempt(*, attempt_in_cycle: int, outcome: Outcome, at: datetime) -> tuple[str, datetime | None]:
    """The delivery's state after its ``attempt_in_cycle``-th attempt of this cycle, and
    when to try next: the schedule's next delay with ±20 % jitter, or the receiver's
    ``Retry-After`` (at most an hour) when that is later."""
    verdict = outcome.verdict()
    if verdict == "delivered":
        return Delivery.State.DELIVERED, None
    if verdict == "rejected":
        return Delivery.State.REJECTED, None
    schedule = retry_schedule()
    if attempt_in_cycle >= len(schedule):
        return Delivery.State.FAILED, None
    delay = schedule[attempt_in_cycle] * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not a secret)
    if outcome.retry_after is not None:
        delay = max(delay, min(outcome.retry_after, RETRY_AFTER_LIMIT))
    return Delivery.State.RETRYING, at + timedelta(seconds=delay)


def parse_retry_after(value: str | None, *, at: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max((moment - at).total_seconds(), 0.0)


def new_transport(*, concurrency: int) -> httpx.AsyncHTTPTransport:
    """A keep-alive pool of at most ``concurrency`` connections, to public addresses only.

    Requests go to the transport itself, not through an ``httpx.AsyncClient``: a delivery
    needs none of the client's cookies, redirects, auth or default headers, which cost CPU
    on every request (docs/design/delivery.md, "The worker").
    """
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=30)
    return PublicOnlyTransport(limits=limits)


async def send(
    transport: httpx.AsyncBaseTransport, *, url: str, body: bytes, headers: dict[str, str], timeout: float
) -> Outcome:
    """POST once, redirects not followed; the whole exchange, body included, is bounded by
    ``timeout``; at most 64 KiB of the response is read, the first 1 KiB kept."""
    started_at = now()
    start = time.monotonic()
    status_code = None
    error = ""
    kept = b""
    retry_after = None
    try:
        async with asyncio.timeout(timeout):
            request = httpx.Request(
                "POST", url, content=body, headers=headers, extensions={"timeout": httpx.Timeout(timeout).as_dict()}
            )
            response = await transport.handle_async_request(request)
            try:
                status_code = response.status_code
                retry_after = parse_retry_after(response.headers.get("retry-after"), at=started_at)
                read = 0
                async for chunk in response.aiter_raw():
                    if len(kept) < RESPONSE_KEEP:
                        kept += chunk[: RESPONSE_KEEP - len(kept)]
                    read += len(chunk)
                    if read >= RESPONSE_READ_LIMIT:
                        break
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        error = "Timeout"
    except AddressRefused:
        error = "AddressRefused"
    except (httpx.HTTPError, OSError) as failed:
        error = type(failed).__name__
    duration_ms = int((time.monotonic() - start) * 1000)
    return Outcome(
        started_at=started_at,
        duration_ms=duration_ms,
        status_code=status_code,
        error=error if status_code is None else "",
        body=kept.decode("utf-8", errors="replace"),
        retry_after=retry_after,
    )


def connection_kwargs() -> dict[str, Any]:
    """Django's own connection parameters, for the worker's psycopg connections."""
    params = dict(connection.get_connection_params())
    for unused in ("cursor_factory", "context"):
        params.pop(unused, None)
    return {**params, "autocommit": True}


def _count_outcomes(
    results: list[tuple[Claimed, str, Any, Outcome]], written: list[tuple[uuid.UUID, str]], *, at: datetime
) -> None:
    """Count the recorded attempts by outcome, and time each delivered one from its firing."""
    fired_at = {claimed.event_id: claimed.fired_at for claimed, *_ in results}
    for delivery_id, outcome in written:
        DELIVERIES.labels(outcome=outcome).inc()
        if outcome == Delivery.State.DELIVERED and (fired := fired_at.get(delivery_id)) is not None:
            DELIVERY_LATENCY.observe(max((at - fired).total_seconds(), 0.0))


class DeliveryWorker:
    """One process's delivery loop (see the module docstring)."""

    def __init__(
        self,
        *,
        concurrency: int | None = None,
        per_host: int | None = None,
        per_owner: int | None = None,
        max_sleep: float = 1.0,
    ) -> None:
        self.concurrency = concurrency or settings.DELIVERY_CONCURRENCY
        self.per_host = per_host or settings.DELIVERY_MAX_PER_HOST
        self.per_owner = per_owner or settings.DELIVERY_CLAIM_PER_OWNER
        self._claimed_up_to = 0
        self.max_sleep = max_sleep
        self.lease_margin = settings.DELIVERY_LEASE_MARGIN_SECONDS
        self.stopping = asyncio.Event()
        self.attempted = 0
        self._in_flight: set[asyncio.Task[None]] = set()
        self._per_host: dict[str, int] = {}
        # Claimed deliveries waiting for a slot of their host (QUEUE_PER_SLOT times per_host each),
        # and the triggers seen per host, left out of claims while that host has a queue.
        self._waiting: dict[str, collections.deque[Claimed]] = {}
        # True while more may be due than the last claim took: a freed slot then wakes a claim.
        self._backlog = False
        self._host_triggers: dict[str, set[uuid.UUID]] = {}
        self._transports: dict[str, httpx.AsyncHTTPTransport] = {}
        self._results: list[tuple[Claimed, str, datetime | None, Outcome]] = []
        self._released: list[Claimed] = []
        self._wake = asyncio.Event()
        self._flush = asyncio.Event()
        self._flushed = asyncio.Event()

    async def run(self) -> None:
        kwargs = connection_kwargs()
        async with (
            await psycopg.AsyncConnection.connect(**kwargs) as claims,
            await psycopg.AsyncConnection.connect(**kwargs) as records,
            await psycopg.AsyncConnection.connect(**kwargs) as listener,
        ):
            await listener.execute(f"LISTEN {DELIVERIES_CHANNEL}")
            tasks = [
                asyncio.create_task(self._listen(listener)),
                asyncio.create_task(self._write_results(records)),
                asyncio.create_task(self._retention()),
            ]
            try:
                await self._claim_loop(claims)
            finally:
                if self._in_flight:
                    await asyncio.wait(self._in_flight)
                self._flush.set()
                await self._drain_results(records)
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                for transport in self._transports.values():
                    await transport.aclose()

    def stop(self) -> None:
        self.stopping.set()
        self._wake.set()

    async def _retention(self) -> None:
        """Delete deliveries past the event retention now and then (any worker may; the
        batches are idempotent)."""
        while True:
            await asyncio.sleep(RETENTION_EVERY_SECONDS)
            try:
                deleted = await asyncio.to_thread(_delete_old_deliveries)
            except Exception:  # retention must never stop delivering
                logger.exception("Deleting old deliveries failed; trying again later")
                continue
            if deleted:
                logger.info("Deleted %s deliveries past retention", deleted)

    async def _listen(self, listener: psycopg.AsyncConnection) -> None:
        async for _ in listener.notifies():
            self._wake.set()

    async def _claim_loop(self, claims: psycopg.AsyncConnection) -> None:
        while not self.stopping.is_set():
            # Queued deliveries do not count: their hosts' triggers are left out of the claim.
            free = self.concurrency - len(self._in_flight)
            # Cleared before the claim: a NOTIFY or a finished attempt during it wakes the sleep below.
            self._wake.clear()
            if free <= 0:
                self._backlog = True
                await self._sleep(claims, full=True)
                continue
            busy = self._busy_triggers()
            batch = await self._claim(claims, limit=free, busy=busy)
            for claimed in batch:
                self._start(claimed)
            self._backlog = len(batch) == free or bool(busy)
            if len(batch) < free:
                await self._sleep(claims, full=False, busy=busy)

    async def _sleep(self, claims: psycopg.AsyncConnection, *, full: bool, busy: list[uuid.UUID] | None = None) -> None:
        """Wait for a wake-up, at most ``max_sleep``; unless ``full``, no longer than until
        the earliest delivery a claim could take (busy hosts' rows wait for a freed slot)."""
        timeout = self.max_sleep
        if not full:
            cursor = await claims.execute(_NEXT_DUE, {"busy": busy or []})
            (due,) = await cursor.fetchone()
            if due is not None:
                timeout = min(max((due - now()).total_seconds(), 0.0), self.max_sleep)
        if timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _claim(self, claims: psycopg.AsyncConnection, *, limit: int, busy: list[uuid.UUID]) -> list[Claimed]:
        at = now()
        cursor = await claims.execute(
            _CLAIM,
            {
                "now": at,
                "per_owner": self.per_owner,
                "limit": limit,
                "lease_margin": self.lease_margin,
                "busy": busy,
                "after": self._claimed_up_to,
            },
        )
        rows = await cursor.fetchall()
        owners = [row[-1] for row in rows]
        # The owner this claim reached in its wrapped order; the next claim starts after it.
        self._claimed_up_to = max(owners, key=lambda owner: (owner <= self._claimed_up_to, owner)) if owners else 0
        return [self._claimed(row[:-1], at=at) for row in rows]

    def _claimed(self, row: tuple[Any, ...], *, at: datetime) -> Claimed:
        (event_id, trigger_uuid_claimed, lease, attempt_count, cycle_start, found_id, trigger_uuid, trigger_name,
         source, fired_at, scheduled_for, payload, url, headers, timeout, secret, previous,
         previous_expires) = row  # fmt: skip
        data = None
        if found_id is not None:
            data = event_data(
                event_id=event_id,
                trigger_id=trigger_uuid,
                trigger_name=trigger_name,
                source=source,
                fired_at=fired_at,
                scheduled_for=scheduled_for,
                payload=payload,
            )
        secrets = [secret] if secret else []
        if previous and previous_expires is not None and previous_expires > at:
            secrets.append(previous)
        return Claimed(
            event_id=event_id,
            trigger_uuid=trigger_uuid_claimed,
            lease=lease,
            attempt_in_cycle=attempt_count - cycle_start + 1,
            data=data,
            url=url,
            headers=headers or {},
            timeout=timeout or 10,
            secrets=secrets,
            fired_at=fired_at,
        )

    def _busy_triggers(self) -> list[uuid.UUID]:
        return [trigger_uuid for host in self._waiting for trigger_uuid in self._host_triggers.get(host, ())]

    def _transport_for(self, host: str) -> httpx.AsyncHTTPTransport:
        transport = self._transports.get(host)
        if transport is None:
            transport = self._transports[host] = new_transport(concurrency=self.per_host)
        return transport

    def _start(self, claimed: Claimed) -> None:
        """Send now if the host has a free slot, else queue behind it, else (the queue is
        full) hand the delivery back."""
        if claimed.url is not None and self._per_host.get(claimed.host, 0) >= self.per_host:
            self._host_triggers.setdefault(claimed.host, set()).add(claimed.trigger_uuid)
            queue = self._waiting.setdefault(claimed.host, collections.deque())
            if len(queue) < QUEUE_PER_SLOT * self.per_host:
                queue.append(claimed)
            else:
                self._release_later(claimed)
            return
        self._per_host[claimed.host] = self._per_host.get(claimed.host, 0) + 1
        task = asyncio.create_task(self._attempt(claimed, self._transport_for(claimed.host)))
        self._in_flight.add(task)
        task.add_done_callback(lambda done: self._finished(done, claimed))

    def _finished(self, task: asyncio.Task[None], claimed: Claimed) -> None:
        self._in_flight.discard(task)
        left = self._per_host.get(claimed.host, 1) - 1
        if left:
            self._per_host[claimed.host] = left
        else:
            self._per_host.pop(claimed.host, None)
        queue = self._waiting.get(claimed.host)
        freed = True
        while queue:
            waiting = queue.popleft()
            # The lease covers one wait of a timeout; a delivery that waited longer goes back.
            if (waiting.lease - now()).total_seconds() > waiting.timeout + LEASE_SAFETY_SECONDS:
                self._start(waiting)
                freed = False
                break
            self._release_later(waiting)
        if queue is not None and not queue:
            self._waiting.pop(claimed.host, None)
            self._host_triggers.pop(claimed.host, None)
        # A slot its host's queue did not take may go to a claim, if more is due.
        if freed and self._backlog:
            self._wake.set()

    def _release_later(self, claimed: Claimed) -> None:
        self._released.append(claimed)
        self._flush.set()

    async def _attempt(self, claimed: Claimed, transport: httpx.AsyncHTTPTransport) -> None:
        if claimed.data is None or claimed.url is None or not claimed.secrets:
            reason = "EventGone" if claimed.data is None else "TargetRemoved" if claimed.url is None else "NoSecret"
            outcome = Outcome(started_at=now(), duration_ms=0, error=reason)
            self._results.append((claimed, Delivery.State.FAILED, None, outcome))
        else:
            at = now()
            request = sign_request(
                message_id=str(claimed.event_id),
                message_type=FIRED,
                data=claimed.data,
                secrets=claimed.secrets,
                at=at,
                extra_headers=claimed.headers,
            )
            try:
                outcome = await send(
                    transport, url=claimed.url, body=request.body, headers=request.headers, timeout=claimed.timeout
                )
            except Exception:  # a bug in sending must cost one attempt, not the worker
                logger.exception("Delivery %s: sending failed", claimed.event_id)
                outcome = Outcome(started_at=at, duration_ms=0, error="InternalError")
            state, next_at = next_attempt(attempt_in_cycle=claimed.attempt_in_cycle, outcome=outcome, at=now())
            self._results.append((claimed, state, next_at, outcome))
        self.attempted += 1
        self._flush.set()

    async def _write_results(self, records: psycopg.AsyncConnection) -> None:
        while True:
            await self._flush.wait()
            # Results that finish meanwhile join the batch: one statement for many attempts.
            await asyncio.sleep(RECORD_GATHER_SECONDS)
            self._flush.clear()
            await self._write_batch(records)

    async def _drain_results(self, records: psycopg.AsyncConnection) -> None:
        self._flush.clear()
        while self._results or self._released:
            await self._write_batch(records)

    async def _write_batch(self, records: psycopg.AsyncConnection) -> None:
        results, self._results = self._results, []
        released, self._released = self._released, []
        if released:
            await self._release(records, released)
        if results:
            await self._record(records, results)

    async def _release(self, records: psycopg.AsyncConnection, released: list[Claimed]) -> None:
        at = now()
        await records.execute(
            _RELEASE,
            {
                "ids": [claimed.event_id for claimed in released],
                "leases": [claimed.lease for claimed in released],
                "due": at + HOST_BUSY_DELAY,
                "at": at,
            },
        )

    async def _record(self, records: psycopg.AsyncConnection, results: list[tuple[Claimed, str, Any, Outcome]]) -> None:
        cursor = await records.execute(
            _RECORD,
            {
                "ids": [claimed.event_id for claimed, *_ in results],
                "leases": [claimed.lease for claimed, *_ in results],
                "states": [str(state) for _, state, _, _ in results],
                "next": [next_at for _, _, next_at, _ in results],
                "statuses": [outcome.last_status for *_, outcome in results],
                "started": [outcome.started_at for *_, outcome in results],
                "durations": [outcome.duration_ms for *_, outcome in results],
                "codes": [outcome.status_code for *_, outcome in results],
                "errors": [outcome.error for *_, outcome in results],
                "bodies": [outcome.body.replace("\x00", "") for *_, outcome in results],
                "at": now(),
            },
        )
        written = await cursor.fetchall()
        _count_outcomes(results, written, at=now())
        if any(state == Delivery.State.RETRYING for _, state, _, _ in results):
            self._wake.set()  # the claim loop's sleep may end before the earliest retry now
        if len(written) < len(results):
            logger.warning("%s results arrived after their lease ended; not recorded", len(results) - len(written))
        ended = [delivery_id for delivery_id, outcome in written if outcome in ("failed", "rejected")]
        if ended:
            from deliveries.notifications import notify_failed_deliveries

            await asyncio.to_thread(notify_failed_deliveries, event_ids=ended)
