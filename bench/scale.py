"""Several copies on one PostgreSQL (issue 17): the scale-out drill and the dispatch burst.

- ``scale``: two gunicorn servers behind HAProxy, two schedulers and two delivery workers.
  A steady API fire load (each request with its own ``Idempotency-Key``, on triggers with a
  webhook target) and ``scale_triggers`` one-time triggers due evenly over
  ``scale_window_seconds``; a quarter of the way in, one process of each kind is killed with
  SIGKILL and started again ``scale_down_seconds`` later. Checked afterwards: every slot
  fired exactly once; every request answered 2xx has exactly one event (its key's); the
  requests that failed were all in flight at the kill (from the SIGKILL until the killed
  processes are gone), and sent again with their key each ends with exactly one event;
  every event reached the receiver (at least once: a delivery whose worker died is sent
  again when its lease ends).
- ``burst``: ``burst_triggers`` one-time triggers due in the same second, written with one
  ``INSERT … SELECT`` copying a trigger made by ``trigger_create``; the time until the last
  one fired and the lateness, with one scheduler and then with two.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.receiver import FastReceiver
from bench.scenarios import Context, Row, _fire_key, _percentile, _save, owner_with_token
from bench.stack import PYTHON, ROOT, Processes

HAPROXY_CONFIG = """\
global
    maxconn 4096
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A request that could not reach a server (refused, reset before it was sent) goes to the
    # other one; a request already sent is never sent again, so a fire is not repeated here.
    retries 3
    retry-on conn-failure
    option redispatch
    # A kept-alive server connection of a killed server fails only when the next request is
    # written to it, too late to retry safely; a connection per request fails at connect.
    http-reuse never
frontend sigwise
    bind 127.0.0.1:{port}
    default_backend web
backend web
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}
"""


# --- processes -----------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


def _kill_hard(processes: Processes, name: str) -> None:
    """SIGKILL a process and its children (a gunicorn master and its workers), as a lost
    host, and return once every one of them is gone."""
    process = processes.running.pop(name)
    # The master first: killed after its workers, it would start new ones, which would
    # accept connections on the inherited socket until they noticed it gone.
    pids = [process.pid, *_children(process.pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()
    # Until the last of them has exited, the kernel still completes connections on the
    # listening socket, so requests sent in that moment are lost too: the kill lasts until then.
    while not all(_gone(pid) for pid in pids):
        time.sleep(0.005)


def _wait_healthy(url: str, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer /healthz within {seconds:g} s")


def _start_web(processes: Processes, name: str, port: int) -> None:
    # Two workers each: two servers of three would put eight Python processes on two cores.
    processes._start(
        name,
        [PYTHON, "-m", "gunicorn", "sigwise.wsgi", "--config", str(ROOT / "gunicorn.conf.py")],
        {"PORT": str(port), "WEB_CONCURRENCY": "2"},
    )
    _wait_healthy(f"http://127.0.0.1:{port}")


def _start_scheduler(processes: Processes, name: str) -> None:
    processes._start(
        name,
        [PYTHON, str(ROOT / "manage.py"), "runscheduler"],
        {"PGAPPNAME": "sigwise-scheduler", "LOG_LEVEL": "WARNING"},
    )


def _wait_ready(context: Context, *, schedulers: int, workers: list[str]) -> None:
    """Wait until ``schedulers`` dispatchers LISTEN and each worker has said it delivers:
    started on a loaded host, the processes take tens of seconds to import and connect."""
    deadline = time.monotonic() + 180
    with context.database.connect() as connection:
        while time.monotonic() < deadline:
            listening = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %%'"
            ).fetchone()[0]
            logs = [(context.results_dir / f"{name}.log").read_text(errors="replace") for name in workers]
            delivering = sum(log.count("Delivering (") for log in logs)
            if listening >= schedulers and delivering >= len(workers):
                return
            time.sleep(0.2)
    raise RuntimeError("the schedulers and delivery workers were not ready within 180 s")


def _start_worker(processes: Processes, name: str) -> None:
    # A short lease (twice the target's 10 s timeout + 3 s) so that the killed worker's
    # deliveries are sent again within the drill.
    processes._start(
        name,
        [PYTHON, str(ROOT / "manage.py"), "rundeliveries"],
        {"DELIVERY_ALLOW_PRIVATE_TARGETS": "true", "DELIVERY_LEASE_MARGIN_SECONDS": "3", "LOG_LEVEL": "WARNING"},
    )


# --- the fire load ---------------------------------------------------------------------------


@dataclass
class Fire:
    key: str
    trigger_id: str
    sent: float  # time.time()
    done: float = 0.0
    status: int = 0  # 0: no answer (the error says why)
    error: str = ""


class FireLoad:
    """``rate`` fires a second, open loop, spread over ``threads`` keep-alive connections to
    ``port``; every request carries a fresh Idempotency-Key and is recorded."""

    def __init__(self, *, port: int, token: str, trigger_ids: list[str], rate: float, threads: int = 8) -> None:
        self.port, self.token, self.trigger_ids, self.rate, self.threads = port, token, trigger_ids, rate, threads
        self.fires: list[Fire] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        self.begin = time.time()
        self._workers = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(20)

    def send(self, connection: http.client.HTTPConnection | None, fire: Fire) -> http.client.HTTPConnection | None:
        """Send one fire (reconnecting if needed); returns the connection to reuse, or None."""
        body = json.dumps({"drill": fire.key}).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": fire.key,
        }
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            connection.request("POST", f"/api/v1/triggers/{fire.trigger_id}/fire", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            fire.status = response.status
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            fire.error = type(error).__name__
            if connection is not None:
                connection.close()
            connection = None
        fire.done = time.time()
        return connection

    def _run(self, number: int) -> None:
        connection = None
        step = self.threads / self.rate
        sent = 0
        while not self._stop.is_set():
            due = self.begin + (number + sent * self.threads) / self.rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(min(pause, step))
                continue
            fire = Fire(
                key=str(uuid.uuid4()), trigger_id=self.trigger_ids[sent % len(self.trigger_ids)], sent=time.time()
            )
            with self._lock:
                self.fires.append(fire)
            connection = self.send(connection, fire)
            sent += 1
        if connection is not None:
            connection.close()


# --- checks ----------------------------------------------------------------------------------


def _database_now(context: Context) -> float:
    with context.database.connect() as connection:
        return connection.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()[0]


def _slots(context: Context, trigger_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[float, float]]]:
    """Each one-time trigger's events as (slot, lateness), in epoch seconds."""
    with context.database.connect() as connection:
        rows = connection.execute(
            """
            SELECT trigger_uuid, extract(epoch FROM scheduled_for)::float8,
                   extract(epoch FROM fired_at - scheduled_for)::float8
            FROM eventlogs_eventlog WHERE trigger_uuid = ANY(%s) AND scheduled_for IS NOT NULL
            """,
            [trigger_ids],
        ).fetchall()
    found: dict[uuid.UUID, list[tuple[float, float]]] = {trigger_id: [] for trigger_id in trigger_ids}
    for trigger_id, slot, lateness in rows:
        found[trigger_id].append((slot, lateness))
    return found


def _events_by_key(context: Context, keys: list[str]) -> dict[str, list[tuple[str, float]]]:
    with context.database.connect() as connection:
        rows = connection.execute(
            """
            SELECT idempotency_key, id::text, extract(epoch FROM fired_at)::float8
            FROM eventlogs_eventlog WHERE idempotency_key = ANY(%s)
            """,
            [keys],
        ).fetchall()
    found: dict[str, list[tuple[str, float]]] = {}
    for key, event_id, fired_at in rows:
        found.setdefault(key, []).append((event_id, fired_at))
    return found


def _phase_table(phases: list[tuple[str, float, float]], columns: dict[str, Any]) -> list[str]:
    lines = ["| phase | " + " | ".join(columns) + " |", "| --- " * (len(columns) + 1) + "|"]
    for name, begin, end in phases:
        lines.append(f"| {name} ({end - begin:.0f} s) | " + " | ".join(f(begin, end) for f in columns.values()) + " |")
    return lines


def scenario_scale(context: Context) -> list[Row]:
    haproxy = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if haproxy is None:
        message = "skipped: HAProxy is not installed (Debian: apt-get install haproxy)"
        print(f"    {message}", flush=True)
        return [Row("scale-out drill", "—", message, None)]

    from django.db import transaction
    from django.utils.timezone import now

    from deliveries.models import Target
    from deliveries.services import signing_secret_for
    from triggers.models import Trigger
    from triggers.services import trigger_create, trigger_validate

    sizes = context.sizes
    processes = context.processes
    base = processes.port
    ports = {"web-a": base + 1, "web-b": base + 2}
    proxy_port = base + 3
    servers = "\n".join(f"    server {name} 127.0.0.1:{port} check" for name, port in ports.items())
    config = context.results_dir / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=proxy_port, servers=servers))

    owner, token = owner_with_token(context, "scale")
    key = _fire_key(context, token)
    receiver = FastReceiver().start()
    api_triggers = []
    for number in range(8):
        trigger = trigger_create(owner=owner, values={"name": f"drill api {number}", "type": "api"})
        # Written directly: the web's check refuses 127.0.0.1, which only the bench's workers may reach.
        Target.objects.create(trigger=trigger, url=receiver.url, timeout_seconds=10)
        api_triggers.append(str(trigger.id))
    signing_secret_for(owner_id=owner.pk)

    started_processes = ["web-a", "web-b", "scheduler-a", "scheduler-b", "deliveries-a", "deliveries-b", "haproxy"]
    try:
        for name, port in ports.items():
            _start_web(processes, name, port)
        processes._start("haproxy", [haproxy, "-f", str(config), "-db"])
        _wait_healthy(f"http://127.0.0.1:{proxy_port}")
        for name in ("scheduler-a", "scheduler-b"):
            _start_scheduler(processes, name)
        for name in ("deliveries-a", "deliveries-b"):
            _start_worker(processes, name)
        _wait_ready(context, schedulers=2, workers=["deliveries-a", "deliveries-b"])

        count, window = sizes.scale_triggers, sizes.scale_window_seconds
        lead = 10.0  # the load runs this long before the first slot
        load = FireLoad(port=proxy_port, token=key, trigger_ids=api_triggers, rate=sizes.scale_fire_rate)
        # The one-time triggers: validated by the product, bulk-inserted, one NOTIFY; an
        # owner of their own, so that the API triggers stay within TRIGGER_MAX_PER_USER.
        once_owner, _once_token = owner_with_token(context, "scale-once")
        begins = now() + timedelta(seconds=lead + 5)
        once = []
        for number in range(count):
            run_at = begins + timedelta(seconds=window * number / count)
            fields = trigger_validate(
                owner=once_owner,
                values={"name": f"drill once {number}", "type": "scheduled", "schedule_details": {"run_at": run_at}},
            )
            once.append(Trigger(owner=once_owner, next_fire_at=run_at, **fields))
        with transaction.atomic():
            Trigger.objects.bulk_create(once, batch_size=1000)
            from bench.scenarios import _notify_scheduler

            _notify_scheduler()
        once_ids = [trigger.id for trigger in once]
        if now() >= begins - timedelta(seconds=lead):
            raise RuntimeError("creating the one-time triggers took longer than planned")
        time.sleep(max(0.0, (begins - now()).total_seconds() - lead))

        load.start()
        start = begins.timestamp()
        end = start + window
        kill_at = start + window / 4
        time.sleep(max(0.0, kill_at - time.time()))
        killed = time.time()
        for name in ("web-a", "scheduler-a", "deliveries-a"):
            _kill_hard(processes, name)
        gone = time.time()
        print(
            f"    killed web-a, scheduler-a, deliveries-a at +{killed - start:.2f} s, gone by +{gone - start:.2f} s",
            flush=True,
        )
        time.sleep(sizes.scale_down_seconds)
        restarting = time.time()
        _start_scheduler(processes, "scheduler-a")
        _start_worker(processes, "deliveries-a")
        _start_web(processes, "web-a", ports["web-a"])
        # The restarted worker's log holds its first start's line too.
        _wait_ready(context, schedulers=2, workers=["deliveries-a", "deliveries-a", "deliveries-b"])
        restarted = time.time()
        print(f"    restarted them by +{restarted - start:.1f} s", flush=True)
        # The load goes on past the last slot if the restart took long, so that "after" is measured.
        end = max(end, restarted + window / 4)
        time.sleep(max(0.0, end - time.time()) + 2.0)
        load.stop()
        stopped = time.time()

        # Failed requests, sent again with their key: each must end with exactly one event.
        failed = [fire for fire in load.fires if not 200 <= fire.status < 300]
        retried = []
        for fire in failed:
            again = Fire(key=fire.key, trigger_id=fire.trigger_id, sent=time.time())
            load.send(None, again)
            retried.append(again)
        # Deliveries of the killed worker come back when their lease ends.
        accepted = [fire for fire in load.fires if 200 <= fire.status < 300]
        everything = [fire.key for fire in load.fires]
        events = _events_by_key(context, everything)
        expected_ids = {event_id for entries in events.values() for event_id, _ in entries}
        deadline = time.time() + 90
        while time.time() < deadline and not expected_ids <= {webhook for webhook, _ in receiver.arrivals}:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        for name in started_processes:
            processes.stop(name)
        receiver.stop()

    # --- checks
    slots = _slots(context, once_ids)
    missed = sum(1 for entries in slots.values() if not entries)
    duplicated = sum(len(entries) - 1 for entries in slots.values() if len(entries) > 1)
    accepted_without_one_event = sum(1 for fire in accepted if len(events.get(fire.key, [])) != 1)
    not_in_flight = [fire for fire in failed if not (fire.sent <= gone and fire.done >= killed)]
    retried_ok = sum(1 for fire in retried if 200 <= fire.status < 300)
    after_retry = _events_by_key(context, [fire.key for fire in failed])
    failed_not_one = sum(1 for fire in failed if len(after_retry.get(fire.key, [])) != 1)
    arrivals: dict[str, list[float]] = {}
    for webhook_id, arrived in receiver.arrivals:
        arrivals.setdefault(webhook_id, []).append(arrived)
    fired_at = {event_id: at for entries in _events_by_key(context, everything).values() for event_id, at in entries}
    undelivered = sum(1 for event_id in fired_at if event_id not in arrivals)
    with context.database.connect() as connection:
        delivery_states = dict(
            connection.execute(
                "SELECT state, count(*) FROM deliveries_delivery WHERE event_id = ANY(%s::uuid[]) GROUP BY state",
                [list(fired_at)],
            ).fetchall()
        )
    redelivered = sum(len(arrivals[event_id]) - 1 for event_id in fired_at if len(arrivals.get(event_id, [])) > 1)

    # --- the table: before the kill, while one of each was down or starting, after
    phases = [("before", start, killed), ("during", killed, restarted), ("after", restarted, end)]

    def api_rate(begin: float, finish: float) -> str:
        done = [fire for fire in accepted if begin <= fire.done < finish]
        return f"{len(done) / (finish - begin):,.1f}/s"

    def api_latency(begin: float, finish: float) -> str:
        values = [fire.done - fire.sent for fire in accepted if begin <= fire.sent < finish]
        return f"{_percentile(values, 0.5) * 1000:,.0f} / {_percentile(values, 0.99) * 1000:,.0f} ms"

    def api_failures(begin: float, finish: float) -> str:
        return str(sum(1 for fire in failed if begin <= fire.sent < finish))

    def slot_figures(begin: float, finish: float) -> str:
        values = [lateness for entries in slots.values() for slot, lateness in entries if begin <= slot < finish]
        if not values:
            return "0 fired"
        return (
            f"{len(values) / (finish - begin):,.1f}/s; {_percentile(values, 0.5) * 1000:,.0f} / "
            f"{_percentile(values, 0.99) * 1000:,.0f} / {max(values) * 1000:,.0f} ms"
        )

    def delivery_figures(begin: float, finish: float) -> str:
        values = [min(arrivals[e]) - at for e, at in fired_at.items() if begin <= at < finish and e in arrivals]
        if not values:
            return "—"
        return f"{_percentile(values, 0.5) * 1000:,.0f} / {_percentile(values, 0.99) * 1000:,.0f} ms"

    table = _phase_table(
        phases,
        {
            "API fires answered 2xx": api_rate,
            "fire latency p50 / p99": api_latency,
            "failed fires": api_failures,
            "scheduled slots: rate; lateness p50 / p99 / max": slot_figures,
            "fire-to-delivered p50 / p99": delivery_figures,
        },
    )
    print("\n".join(f"    {line}" for line in table), flush=True)
    details = {
        "fires": len(load.fires),
        "accepted": len(accepted),
        "failed": len(failed),
        "failed_statuses": sorted({(fire.status, fire.error) for fire in failed}),
        "failed_not_in_flight_at_kill": len(not_in_flight),
        "retried_2xx": retried_ok,
        "failed_keys_not_one_event_after_retry": failed_not_one,
        "accepted_without_exactly_one_event": accepted_without_one_event,
        "slots": count,
        "missed": missed,
        "duplicated": duplicated,
        "events_with_target": len(fired_at),
        "undelivered": undelivered,
        "delivery_states": delivery_states,
        "redelivered": redelivered,
        "failures": [
            {"sent_s": fire.sent - start, "done_s": fire.done - start, "status": fire.status, "error": fire.error}
            for fire in failed
        ],
        "killed_at_s": killed - start,
        "gone_at_s": gone - start,
        "down_s": restarting - killed,
        "restarted_at_s": restarted - start,
        "load_seconds": stopped - load.begin,
        "table": table,
    }
    _save(context, "scale", details)
    (context.results_dir / "scale.md").write_text("\n".join(table) + "\n")
    exactly_once = missed == 0 and duplicated == 0 and accepted_without_one_event == 0
    failures_ok = not not_in_flight and failed_not_one == 0
    return [
        Row(
            f"scale-out drill: {count:,} one-time triggers over {window:g} s, kill -9 mid-run",
            "every slot exactly once, every 2xx fire one event",
            f"{missed} missed, {duplicated} duplicate of {count:,} slots; {len(accepted):,} fires answered 2xx, "
            f"{accepted_without_one_event} without exactly one event",
            exactly_once,
            details,
        ),
        Row(
            "scale-out drill: failed fires",
            "only those in flight at the kill (SIGKILL until the processes are gone)",
            f"{len(failed)} failed ({len(not_in_flight)} not in flight at the kill); sent again with their key: "
            f"{retried_ok} answered 2xx, {failed_not_one} keys without exactly one event",
            failures_ok,
        ),
        Row(
            "scale-out drill: deliveries",
            "every event delivered (at least once)",
            f"{len(fired_at) - undelivered:,} of {len(fired_at):,} delivered, {redelivered} sent twice",
            undelivered == 0,
        ),
    ]


# --- the burst -------------------------------------------------------------------------------


def _burst_round(context: Context, owner: Any, *, schedulers: int, count: int) -> dict[str, Any]:
    """``count`` one-time triggers due at one instant, ``schedulers`` schedulers running."""
    from django.conf import settings
    from django.utils.timezone import now

    from bench.scenarios import _notify_scheduler
    from triggers.services import trigger_create

    processes = context.processes
    names = [f"burst-scheduler-{number}" for number in range(schedulers)]
    for name in names:
        _start_scheduler(processes, name)
    _wait_ready(context, schedulers=schedulers, workers=[])
    lead = 15.0 + count / 5000  # the inserts must commit before the instant
    due = now() + timedelta(seconds=lead)
    template = trigger_create(
        owner=owner, values={"name": "burst", "type": "scheduled", "schedule_details": {"run_at": due}}
    )
    from accounts.models import User
    from triggers.models import Trigger

    # Spread over owners of TRIGGER_MAX_PER_USER triggers each (copies of ``owner``, one
    # statement), as a burst from many customers would be.
    per_owner = settings.TRIGGER_MAX_PER_USER
    user_columns = [field.column for field in User._meta.concrete_fields if field.column != "id"]
    user_select = ", ".join(
        "'burst-' || %(round)s || '-' || n || '@example.com'" if column == "email" else f"u.{column}"
        for column in user_columns
    )
    trigger_columns = [field.column for field in Trigger._meta.concrete_fields]
    replaced = {"id": "gen_random_uuid()", "owner_id": "owners.ids[1 + n %% cardinality(owners.ids)]"}
    trigger_select = ", ".join(replaced.get(column, f"t.{column}") for column in trigger_columns)
    try:
        with context.database.connect() as connection, connection.transaction():
            owners = connection.execute(
                f"INSERT INTO {User._meta.db_table} ({', '.join(user_columns)}) "  # noqa: S608
                f"SELECT {user_select} FROM {User._meta.db_table} AS u, generate_series(1, %(owners)s) AS n "
                "WHERE u.id = %(owner)s RETURNING id",
                {"round": str(schedulers), "owners": -(-count // per_owner), "owner": owner.pk},
            ).fetchall()
            connection.execute(
                f"INSERT INTO {Trigger._meta.db_table} ({', '.join(trigger_columns)}) "  # noqa: S608
                f"SELECT {trigger_select} FROM {Trigger._meta.db_table} AS t, generate_series(2, %(count)s) AS n, "
                "(SELECT %(owners)s::bigint[] AS ids) AS owners WHERE t.id = %(template)s",
                {"count": count, "owners": [row[0] for row in owners], "template": template.id},
            )
        inserted = time.time()
        _notify_scheduler()
        if inserted >= due.timestamp():
            raise RuntimeError("inserting the burst took longer than planned: the instant has passed")
        # The last slot's commit, seen from outside on the database's clock: no trigger is
        # left at the instant (a count on the trigger_due index, cheap enough to poll).
        with context.database.connect() as connection:
            while True:
                left, moment = connection.execute(
                    "SELECT count(*), extract(epoch FROM clock_timestamp())::float8 FROM triggers_trigger "
                    "WHERE enabled AND next_fire_at = %s",
                    [due],
                ).fetchone()
                if left == 0 or moment > due.timestamp() + 600:
                    break
                time.sleep(0.05)
            seen = connection.execute(
                "SELECT count(*) FROM eventlogs_eventlog WHERE scheduled_for = %s", [due]
            ).fetchone()[0]
            lateness = [
                row[0]
                for row in connection.execute(
                    "SELECT extract(epoch FROM fired_at - scheduled_for)::float8 FROM eventlogs_eventlog "
                    "WHERE scheduled_for = %s",
                    [due],
                ).fetchall()
            ]
            duplicates = connection.execute(
                "SELECT count(*) - count(DISTINCT trigger_id) FROM eventlogs_eventlog WHERE scheduled_for = %s", [due]
            ).fetchone()[0]
            connection.execute("UPDATE triggers_trigger SET enabled = false WHERE run_at = %s", [due])
    finally:
        for name in names:
            processes.stop(name)
    return {
        "schedulers": schedulers,
        "triggers": count,
        "fired": seen,
        "duplicates": duplicates,
        "insert_lead_s": due.timestamp() - inserted,
        "last_committed_after_s": moment - due.timestamp(),
        "last_fired_at_after_s": max(lateness, default=float("nan")),
        "p50_s": _percentile(lateness, 0.5),
        "p99_s": _percentile(lateness, 0.99),
    }


def scenario_burst(context: Context) -> list[Row]:
    from django.conf import settings
    from django.utils.timezone import now

    count = context.sizes.burst_triggers
    owner, _token = owner_with_token(context, "burst")
    rows = []
    results = []
    for schedulers in (1, 2):
        measured = _burst_round(context, owner, schedulers=schedulers, count=count)
        results.append(measured)
        rows.append(
            Row(
                f"burst: {count:,} one-time triggers due in one second, {schedulers} scheduler(s)",
                "report",
                f"last committed {measured['last_committed_after_s']:.1f} s after the instant "
                f"(last fired_at +{measured['last_fired_at_after_s']:.1f} s); lateness p50 {measured['p50_s']:.1f} s, "
                f"p99 {measured['p99_s']:.1f} s; {measured['fired']:,} fired, {measured['duplicates']} duplicate "
                f"(batches of {settings.SCHEDULER_DISPATCH_BATCH_SIZE})",
                None if measured["fired"] == count and measured["duplicates"] == 0 else False,
                measured,
            )
        )
    _save(context, "burst", {"rounds": results, "at": now().isoformat()})
    return rows
