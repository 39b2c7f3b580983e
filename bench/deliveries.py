"""The delivery scenarios of issue 13 (docs/design/delivery.md), against the fast
receiver of :mod:`bench.receiver` on 127.0.0.1.

- drain: deliveries due at once (seeded in bulk in the shape the enqueue writes), one
  ``rundeliveries`` process, time until the receiver has them all;
- latency: events fired through ``trigger_fire`` (the API's service, in this process) at a
  steady rate, fire-to-received per event;
- fire rate: the API fire load of ``make bench`` on triggers without, then with, a target
  (the worker running);
- retries: a receiver that fails each delivery's first two attempts, with a short
  ``DELIVERY_RETRY_SCHEDULE``; is the third attempt inside the jitter window?
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from bench.receiver import FastReceiver
from bench.scenarios import Context, Row, _load_row_text, _percentile, _save, owner_with_token
from bench.scenarios import fire as fire_load
from bench.stack import PYTHON

RETRY_SCHEDULE = (0.0, 1.0, 2.0)


def _worker(context: Context, name: str, **extra: str) -> Any:
    return context.processes._start(
        name,
        [PYTHON, "manage.py", "rundeliveries"],
        {"DELIVERY_ALLOW_PRIVATE_TARGETS": "true", "LOG_LEVEL": "WARNING", **extra},
    )


def _cpu_seconds(pid: int) -> float:
    """CPU of the process and of the worker copies it started (``DELIVERY_PROCESSES``)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()  # noqa: SIM115
    except OSError:
        children = []
    return own + sum(_cpu_seconds(int(child)) for child in children)


def _processes() -> int:
    return int(os.environ.get("DELIVERY_PROCESSES", "1"))


def _trigger_with_target(owner: Any, url: str, name: str) -> Any:
    from deliveries.models import Target
    from deliveries.services import signing_secret_for
    from triggers.services import trigger_create

    trigger = trigger_create(owner=owner, values={"name": name, "type": "api", "api_payload": {"bench": True}})
    # Written directly: the web's check refuses 127.0.0.1, which only the bench's worker is allowed.
    Target.objects.create(trigger=trigger, url=url, timeout_seconds=10)
    signing_secret_for(owner_id=owner.pk)
    trigger.has_target = True
    return trigger


def _seed_due(owner: Any, trigger: Any, count: int) -> None:
    from django.utils.timezone import now

    from deliveries.services import deliveries_enqueue_for_events
    from eventlogs.models import EventLog

    at = now()
    for start in range(0, count, 5000):
        events = EventLog.objects.bulk_create(
            EventLog(
                owner=owner,
                trigger=trigger,
                trigger_uuid=trigger.id,
                trigger_name=trigger.name,
                trigger_type="api",
                source="api",
                payload={"n": number},
                fired_at=at,
            )
            for number in range(start, min(start + 5000, count))
        )
        deliveries_enqueue_for_events(event_ids=[event.id for event in events])


def _wait(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def scenario_deliveries(context: Context) -> list[Row]:
    sizes = context.sizes
    drain_count = getattr(sizes, "delivery_drain", 50_000)
    rate = 200
    seconds = getattr(sizes, "delivery_latency_seconds", 60.0)
    rows = []
    owner, _token = owner_with_token(context, "deliveries")
    receiver = FastReceiver().start()
    try:
        # Drain.
        trigger = _trigger_with_target(owner, receiver.url, "bench drain")
        _seed_due(owner, trigger, drain_count)
        started = time.time()
        worker = _worker(context, "deliveries")
        done = _wait(lambda: len(receiver.arrivals) >= drain_count, timeout=max(600.0, drain_count / 50))
        finished = max(arrival for _, arrival in receiver.arrivals)
        drained = drain_count / (finished - started)
        cpu = _cpu_seconds(worker.pid)
        details = {"deliveries": drain_count, "received": len(receiver.arrivals), "seconds": finished - started}
        details["worker_cpu_seconds"] = cpu
        details["worker_processes"] = _processes()
        _save(context, "delivery_drain", details)
        rows.append(
            Row(
                f"Delivery drain, {drain_count:,} due at once, {_processes()} worker process(es)",
                "≥ 1,000 deliveries/s",
                f"{drained:,.0f}/s ({len(receiver.arrivals):,} received; worker CPU {cpu:.1f} s, "
                f"{drain_count / cpu:,.0f} deliveries per CPU-second)",
                done and drained >= 1000,
                details,
            )
        )

        # Latency at a steady rate.
        receiver.arrivals.clear()
        from triggers.services import trigger_fire

        fired: dict[str, float] = {}
        step = 1.0 / rate
        begin = time.time()
        count = int(rate * seconds)
        for number in range(count):
            pause = begin + number * step - time.time()
            if pause > 0:
                time.sleep(pause)
            fired_at = time.time()
            event = trigger_fire(trigger=trigger, payload={"n": number}).event
            fired[str(event.id)] = fired_at
        achieved = count / (time.time() - begin)
        _wait(lambda: len(receiver.arrivals) >= count, timeout=60)
        latencies = [arrival - fired[webhook_id] for webhook_id, arrival in receiver.arrivals if webhook_id in fired]
        p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
        _save(context, "delivery_latency", {"fired": count, "received": len(latencies), "p50": p50, "p99": p99})
        rows.append(
            Row(
                f"Fire-to-received at {rate}/s for {seconds:g} s",
                "p50 ≤ 20 ms, p99 ≤ 100 ms",
                f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms ({len(latencies):,} of {count:,} received; "
                f"fired at {achieved:,.0f}/s)",
                p50 <= 0.020 and p99 <= 0.100 and len(latencies) == count,
            )
        )

        # API fire rate with and without a target (the worker keeps delivering).
        without = fire_load(context, clients=8, label="fire_8_without_target")
        from deliveries.models import Target
        from triggers.models import Trigger

        user, _ = owner_with_token(context, "fire-8")
        for each in Trigger.objects.filter(owner=user):
            Target.objects.update_or_create(trigger=each, defaults={"url": receiver.url})
        with_target = fire_load(context, clients=8, label="fire_8_with_target")
        ratio = with_target.rate / without.rate if without.rate else 0.0
        rows.append(
            Row(
                "API fire rate with a target / without (8 clients)",
                "≥ 90 %",
                f"{ratio:.0%}: {_load_row_text(with_target)} vs {without.rate:,.0f} req/s",
                ratio >= 0.9,
            )
        )
        context.processes.stop("deliveries")
    finally:
        receiver.stop()
    rows.append(_retries(context, owner))
    return rows


def _retries(context: Context, owner: Any) -> Row:
    """The third attempt of a delivery whose first two fail, against the schedule's window."""
    attempts: dict[str, list[float]] = {}
    lock = threading.Lock()

    def status_for(webhook_id: str, before: int) -> int:
        with lock:
            attempts.setdefault(webhook_id, []).append(time.time())
        return 503 if before < 2 else 200

    receiver = FastReceiver(status_for=status_for).start()
    count = 200
    try:
        trigger = _trigger_with_target(owner, receiver.url, "bench retries")
        _seed_due(owner, trigger, count)
        _worker(context, "deliveries-retries", DELIVERY_RETRY_SCHEDULE=",".join(str(s) for s in RETRY_SCHEDULE))
        _wait(lambda: sum(len(times) >= 3 for times in attempts.values()) >= count, timeout=120)
        context.processes.stop("deliveries-retries")
    finally:
        receiver.stop()
    gaps = [times[2] - times[1] for times in attempts.values() if len(times) >= 3]
    low, high = RETRY_SCHEDULE[2] * 0.8, RETRY_SCHEDULE[2] * 1.2
    inside = sum(low <= gap <= high + 0.1 for gap in gaps)  # 0.1 s for the worker's own reaction
    _save(context, "delivery_retries", {"gaps": gaps})
    return Row(
        f"Third attempt after two failures (schedule {','.join(f'{s:g}' for s in RETRY_SCHEDULE)})",
        f"in [{low:.1f}, {high:.1f}] s",
        f"{inside} of {len(gaps)} inside; gap p50 {_percentile(gaps, 0.5):.2f} s, max {max(gaps, default=0):.2f} s",
        inside == len(gaps) == count,
    )
