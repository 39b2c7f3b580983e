"""The scenarios of issue 5, each returning rows of the one table ``make bench`` prints.

Seeding goes through the product's own services (users, API triggers, one-time
triggers) or, for volume, bulk SQL in the shape those services write (1M event logs
with ``INSERT … SELECT generate_series``; 10,000 interval triggers validated by
``trigger_validate`` and bulk-inserted). Lateness is ``fired_at - scheduled_for`` read
from the database.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.loadgen import LoadResult, get, run_load
from bench.sizes import Sizes
from bench.stack import ROOT, Database, Processes, pgbench_binary

PASSWORD = "bench-Pa55word-not-for-production"  # noqa: S105


@dataclass
class Row:
    """One line of the table."""

    figure: str
    target: str
    measured: str
    met: bool | None  # None: no target, reported only
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    sizes: Sizes
    database: Database
    processes: Processes
    results_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)
    owners: dict[str, Any] = field(default_factory=dict)
    fire_rate_32: float | None = None

    @property
    def base_url(self) -> str:
        return self.processes.base_url


# --- helpers -------------------------------------------------------------------------


def _http_json(url: str, *, method: str = "GET", body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, -int(-fraction * len(ordered) // 1) - 1))
    return ordered[rank]


def _save(context: Context, name: str, payload: dict[str, Any]) -> None:
    (context.results_dir / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))


def owner_with_token(context: Context, label: str) -> tuple[Any, str]:
    """A bench user made by the product's sign-up service, and a token from the real endpoint."""
    from accounts.services import user_register

    if label in context.owners:
        return context.owners[label], context.tokens[label]
    email = f"bench-{label}@example.com"
    user = user_register(email=email, password=PASSWORD)
    status, body = _http_json(
        f"{context.base_url}/api/v1/auth/token", method="POST", body={"email": email, "password": PASSWORD}
    )
    if status != 200:
        raise RuntimeError(f"POST /api/v1/auth/token answered {status}: {body}")
    context.owners[label] = user
    context.tokens[label] = body["access"]
    return user, body["access"]


def _load_row_text(result: LoadResult) -> str:
    return (
        f"{result.rate:,.0f} req/s, p50 {result.percentile(0.5) * 1000:.1f} ms, "
        f"p99 {result.percentile(0.99) * 1000:.1f} ms, {result.errors} errors "
        f"({result.answered:,} of {result.sent:,} answered)"
    )


# --- API fire --------------------------------------------------------------------------


def _api_triggers(context: Context, token: str, count: int) -> list[str]:
    identifiers = []
    for number in range(count):
        status, body = _http_json(
            f"{context.base_url}/api/v1/triggers",
            method="POST",
            token=token,
            body={"name": f"bench api {number}", "type": "api", "api_payload": {"source": "bench"}},
        )
        if status != 201:
            raise RuntimeError(f"POST /api/v1/triggers answered {status}: {body}")
        identifiers.append(body["id"])
    return identifiers


def _fire_key(context: Context, token: str) -> str:
    """A new ``fire`` API key of the token's user, from the real endpoint."""
    status, body = _http_json(
        f"{context.base_url}/api/v1/api-keys", method="POST", token=token, body={"name": "bench", "scope": "fire"}
    )
    if status != 201:
        raise RuntimeError(f"POST /api/v1/api-keys answered {status}: {body}")
    return body["key"]


def fire(context: Context, *, clients: int, label: str, with_api_key: bool = False) -> LoadResult:
    """``clients`` closed-loop clients firing 8 API triggers of one user (round robin), with
    the user's JWT or, ``with_api_key``, a fire key of theirs."""
    _user, token = owner_with_token(context, f"fire-{clients}")
    triggers = _api_triggers(context, token, 8)
    if with_api_key:
        token = _fire_key(context, token)
    body = json.dumps({"order": 1234, "status": "paid", "amount": "19.99"}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    paths = [f"/api/v1/triggers/{identifier}/fire" for identifier in triggers]
    requests = [("POST", path, headers, body) for path in paths]
    counter = [0]

    def next_request(_client: int) -> tuple[str, str, dict[str, str], bytes]:
        counter[0] += 1
        return requests[counter[0] % len(requests)]

    # Sanity: one fire through the same path, answered 201.
    status, answer = _http_json(
        f"{context.base_url}{paths[0]}", method="POST", token=token, body={"order": 0, "status": "check"}
    )
    if status != 201:
        raise RuntimeError(f"POST {paths[0]} answered {status}: {answer}")
    result = run_load(
        context.base_url,
        next_request,
        clients=clients,
        duration=context.sizes.fire_seconds,
        warmup=context.sizes.fire_warmup_seconds,
        timeout=10.0,
    )
    _save(context, label, result.summary())
    return result


def scenario_fire(context: Context) -> list[Row]:
    rows = []
    seconds = context.sizes.fire_seconds
    result = fire(context, clients=32, label="fire_32")
    context.fire_rate_32 = result.rate
    met = result.rate >= 1400 and result.percentile(0.99) <= 0.050 and result.errors == 0
    rows.append(
        Row(
            f"API fire, 32 clients, {seconds:g} s",
            "≥ 1,400 req/s, p99 ≤ 50 ms, 0 errors",
            _load_row_text(result),
            met,
            result.summary(),
        )
    )
    jwt_rate = result.rate
    result = fire(context, clients=32, label="fire_32_api_key", with_api_key=True)
    share = result.rate / jwt_rate if jwt_rate else 0.0
    rows.append(
        Row(
            f"API fire with an API key, 32 clients, {seconds:g} s",
            "≥ 95 % of the JWT rate, 0 errors",
            f"{_load_row_text(result)}; {share:.0%} of the JWT rate",
            share >= 0.95 and result.errors == 0,
            {**result.summary(), "share_of_jwt_rate": share},
        )
    )
    result = fire(context, clients=8, label="fire_8")
    rows.append(Row(f"API fire, 8 clients, {seconds:g} s", "—", _load_row_text(result), None, result.summary()))
    result = fire(context, clients=256, label="fire_256")
    met = result.answered == result.sent and result.timeouts == 0 and result.percentile(0.99) <= 0.500
    rows.append(
        Row(
            f"API fire, 256 clients, {seconds:g} s",
            "every request answered, p99 ≤ 500 ms",
            _load_row_text(result),
            met,
            result.summary(),
        )
    )
    return rows


# --- pgbench ---------------------------------------------------------------------------

PGBENCH_TABLE = "bench_pgbench_eventlog"
PGBENCH_SCRIPT = f"""\\set n random(1, 1000000)
INSERT INTO {PGBENCH_TABLE} (id, owner_id, trigger_id, trigger_uuid, trigger_name, trigger_type, source,
  payload, is_test, fired_at, scheduled_for, archived_at, idempotency_key)
VALUES (gen_random_uuid(), 1, NULL, 'b0b0b0b0-0000-4000-8000-000000000000', 'bench api', 'api', 'api',
  jsonb_build_object('order', :n::int, 'status', 'paid'), false, now(), NULL, NULL, NULL);
"""  # noqa: S608 (a constant table name; pgbench fills :n)


def scenario_pgbench(context: Context) -> list[Row]:
    """PostgreSQL's own limit: one event-like INSERT per transaction into a copy of the
    event-log table (same columns, same indexes), 32 clients."""
    sizes = context.sizes
    with context.database.connect() as connection:
        connection.execute(f"DROP TABLE IF EXISTS {PGBENCH_TABLE}")
        connection.execute(f"CREATE TABLE {PGBENCH_TABLE} (LIKE eventlogs_eventlog INCLUDING ALL)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT)
    conninfo = context.database.conninfo
    command = [
        pgbench_binary(),
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={sizes.pgbench_clients}",
        "--jobs=2",
        f"--time={max(1, round(sizes.pgbench_seconds))}",
        f"--file={script.name}",
        f"--host={conninfo['host']}",
        f"--username={conninfo['user']}",
        context.database.name,
    ]
    if "port" in conninfo:
        command.insert(-1, f"--port={conninfo['port']}")
    environment = dict(os.environ)
    if "password" in conninfo:
        environment["PGPASSWORD"] = conninfo["password"]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)  # noqa: S603
    Path(script.name).unlink()
    with context.database.connect() as connection:
        connection.execute(f"DROP TABLE IF EXISTS {PGBENCH_TABLE}")
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", completed.stdout)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"pgbench failed ({completed.returncode}): {completed.stdout}\n{completed.stderr}")
    tps = float(match.group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", completed.stdout)
    _save(context, "pgbench", {"tps": tps, "command": command, "stdout": completed.stdout})
    share = f"; our 32-client fire rate is {context.fire_rate_32 / tps:.1%} of it" if context.fire_rate_32 else ""
    text = f"{tps:,.0f} TPS (latency avg {latency.group(1) if latency else '?'} ms){share}"
    return [Row(f"pgbench: 1 event INSERT per txn, {sizes.pgbench_clients} clients", "report the share", text, None)]


# --- scheduler: lateness -----------------------------------------------------------------


def _lateness(database: Database, trigger_ids: list[uuid.UUID], until: datetime) -> dict[str, Any]:
    """Lateness of scheduled firings (``fired_at - scheduled_for``) for slots up to ``until``,
    and the duplicate count (more than one event for one trigger and slot)."""
    with database.connect() as connection:
        rows = connection.execute(
            """
            SELECT trigger_uuid, scheduled_for, EXTRACT(EPOCH FROM fired_at - scheduled_for)::float8
            FROM eventlogs_eventlog
            WHERE trigger_uuid = ANY(%s) AND scheduled_for IS NOT NULL AND scheduled_for <= %s
            """,
            [trigger_ids, until],
        ).fetchall()
    slots: dict[tuple[uuid.UUID, datetime], int] = {}
    for trigger_id, slot, _ in rows:
        slots[(trigger_id, slot)] = slots.get((trigger_id, slot), 0) + 1
    lateness = [row[2] for row in rows]
    return {
        "events": len(rows),
        "slots": set(slots),
        "duplicates": sum(count - 1 for count in slots.values()),
        "p50": _percentile(lateness, 0.5),
        "p99": _percentile(lateness, 0.99),
        "max": max(lateness, default=float("nan")),
        "early": sum(1 for value in lateness if value < 0),
    }


def _notify_scheduler() -> None:
    from django.db import connection

    from triggers.services import TRIGGERS_CHANGED_CHANNEL

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [TRIGGERS_CHANGED_CHANNEL, "bench"])


def _disable(trigger_ids: list[uuid.UUID]) -> None:
    from triggers.models import Trigger

    Trigger.objects.filter(pk__in=trigger_ids).update(enabled=False, next_fire_at=None)
    _notify_scheduler()


def scenario_one_time(context: Context) -> list[Row]:
    """``one_time_triggers`` one-time triggers, created through ``trigger_create``, due evenly
    within ``one_time_window_seconds``."""
    from django.utils.timezone import now

    from triggers.services import trigger_create

    sizes = context.sizes
    owner, _token = owner_with_token(context, "one-time")
    count, window = sizes.one_time_triggers, sizes.one_time_window_seconds
    # Creation takes a few ms each; the first slot is after the last trigger exists.
    begins = now() + timedelta(seconds=2 + count * 0.01)
    trigger_ids = []
    for number in range(count):
        run_at = begins + timedelta(seconds=window * number / count)
        trigger = trigger_create(
            owner=owner,
            values={"name": f"bench once {number}", "type": "scheduled", "schedule_details": {"run_at": run_at}},
        )
        trigger_ids.append(trigger.id)
    if now() >= begins:
        raise RuntimeError("creating the one-time triggers took longer than planned; the first slot has passed")
    ends = begins + timedelta(seconds=window)
    time.sleep(max(0.0, (ends - now()).total_seconds()) + 3.0)  # every slot, then a grace for the last ones
    measured = _lateness(context.database, trigger_ids, ends)
    _disable(trigger_ids)
    missed = count - len(measured["slots"])
    met = measured["p50"] <= 0.005 and measured["p99"] <= 0.025 and missed == 0 and measured["duplicates"] == 0
    text = (
        f"p50 {_ms(measured['p50'])}, p99 {_ms(measured['p99'])} (max {_ms(measured['max'])}), "
        f"{missed} missed, {measured['duplicates']} duplicate of {count}"
    )
    details = {key: value for key, value in measured.items() if key != "slots"} | {"missed": missed}
    _save(context, "one_time", details)
    return [
        Row(
            f"one-time triggers, {count} due within {window:g} s",
            "p50 ≤ 5 ms, p99 ≤ 25 ms, 0 missed, 0 duplicate",
            text,
            met,
            details,
        )
    ]


def scenario_interval(context: Context) -> list[Row]:
    """``interval_triggers`` triggers every ``interval_seconds``, their start times spread evenly
    over one interval (a steady load), running for ``interval_run_seconds``.

    Each trigger's values go through ``trigger_validate`` (the product's one validation
    path); the rows are bulk-inserted, then the scheduler is told once.
    """
    from django.db import transaction
    from django.utils.timezone import now

    from triggers.models import Trigger
    from triggers.schedules import Schedule
    from triggers.services import trigger_validate

    sizes = context.sizes
    owner, _token = owner_with_token(context, "interval")
    count, every, duration = sizes.interval_triggers, sizes.interval_seconds, sizes.interval_run_seconds
    spread = min(every, duration)
    begins = now() + timedelta(seconds=5 + count * 0.0005)
    triggers = []
    for number in range(count):
        start_at = begins + timedelta(seconds=spread * number / count)
        fields = trigger_validate(
            owner=owner,
            values={
                "name": f"bench every {every}s {number}",
                "type": "scheduled",
                "schedule_details": {"interval_seconds": every, "start_at": start_at},
            },
        )
        trigger = Trigger(owner=owner, **fields)
        schedule = Schedule(kind=trigger.schedule_kind, interval_seconds=every, start_at=trigger.start_at)
        trigger.next_fire_at = schedule.first_fire_at(now=now())
        triggers.append(trigger)
    with transaction.atomic():
        Trigger.objects.bulk_create(triggers, batch_size=1000)
        _notify_scheduler()
    if now() >= begins:
        raise RuntimeError("creating the interval triggers took longer than planned; the first slot has passed")
    ends = begins + timedelta(seconds=duration)
    time.sleep(max(0.0, (ends - now()).total_seconds()) + 3.0)
    trigger_ids = [trigger.id for trigger in triggers]
    measured = _lateness(context.database, trigger_ids, ends)
    _disable(trigger_ids)
    expected = set()
    for trigger in triggers:
        slot = trigger.start_at
        while slot <= ends:
            expected.add((trigger.id, slot))
            slot += timedelta(seconds=every)
    missed = len(expected - measured["slots"])
    unexpected = len(measured["slots"] - expected)
    met = measured["p99"] <= 0.100 and missed == 0 and measured["duplicates"] == 0 and unexpected == 0
    text = (
        f"p50 {_ms(measured['p50'])}, p99 {_ms(measured['p99'])} (max {_ms(measured['max'])}), "
        f"{missed} missed, {measured['duplicates']} duplicate of {len(expected):,} slots"
    )
    details = {key: value for key, value in measured.items() if key != "slots"}
    details |= {"expected_slots": len(expected), "missed": missed, "unexpected": unexpected}
    _save(context, "interval", details)
    return [
        Row(
            f"{count:,} interval triggers ({every} s) for {duration:g} s",
            "p99 ≤ 100 ms, 0 missed, 0 duplicate",
            text,
            met,
            details,
        )
    ]


# --- reads at volume -------------------------------------------------------------------


def _seed_logs(
    database: Database, *, owner_id: int, trigger_ids: list[uuid.UUID], count: int, newest: str, span: str
) -> None:
    """``count`` event logs of ``owner_id``, spread evenly from ``newest`` back over ``span``
    (SQL intervals), round robin over ``trigger_ids``, none archived yet
    (as if the archive job had not run), in the shape ``eventlog_record`` writes."""
    with database.connect() as connection:
        connection.execute(
            """
            INSERT INTO eventlogs_eventlog (id, owner_id, trigger_id, trigger_uuid, trigger_name, trigger_type,
                source, payload, is_test, fired_at, scheduled_for, archived_at, idempotency_key)
            SELECT gen_random_uuid(), %(owner)s, t.id, t.id, 'bench history ' || t.number, 'api', 'api',
                jsonb_build_object('order', n, 'status', 'paid', 'amount', '19.99'), false,
                now() - %(newest)s::interval - (%(span)s::interval * n / %(count)s), NULL, NULL, NULL
            FROM generate_series(1, %(count)s) AS n
            JOIN (SELECT id, (row_number() OVER ()) - 1 AS number FROM unnest(%(triggers)s::uuid[]) AS id) AS t
              ON t.number = n %% %(trigger_count)s
            """,
            {
                "owner": owner_id,
                "newest": newest,
                "span": span,
                "count": count,
                "triggers": trigger_ids,
                "trigger_count": len(trigger_ids),
            },
        )
        connection.execute("VACUUM ANALYZE eventlogs_eventlog")


def _deep_cursor(next_url: str, position: datetime) -> str:
    """A cursor for the page that starts just before ``position``: DRF's CursorPagination
    encodes ``p`` (the last row's ``fired_at``) in base64; we move it deep into history."""
    query = parse_qs(urlsplit(next_url).query)
    decoded = parse_qs(base64.b64decode(query["cursor"][0]).decode("ascii"))
    decoded["p"] = [str(position)]
    decoded.pop("o", None)
    encoded = base64.b64encode(urlencode(decoded, doseq=True).encode("ascii")).decode("ascii")
    return encoded


def scenario_reads(context: Context) -> list[Row]:
    from triggers.models import Trigger

    sizes = context.sizes
    owner, token = owner_with_token(context, "history")
    # A second user with the same history, so owner scoping has rows to skip.
    intruder, _ = owner_with_token(context, "history-neighbour")
    rows = []
    ids = []
    for user, label in ((owner, "owner"), (intruder, "neighbour")):
        triggers = [
            Trigger(owner=user, name=f"bench history {number}", type=Trigger.Type.API)
            for number in range(sizes.history_triggers)
        ]
        Trigger.objects.bulk_create(triggers)
        started = time.perf_counter()
        _seed_logs(
            context.database,
            owner_id=user.pk,
            trigger_ids=[trigger.id for trigger in triggers],
            count=sizes.history_logs if label == "owner" else sizes.history_logs // 10,
            newest="1 second",
            span="47 hours 58 minutes",
        )
        ids.append(triggers)
        print(f"  seeded {label} history in {time.perf_counter() - started:.1f} s", flush=True)

    # The rollup the scheduler's job would make (the harness stopped the scheduler): the seed
    # was one backfill, so every hour of the 48 is counted afresh.
    rollup = _run_command(context, "rollup_event_logs")
    _save(context, "rollup", rollup)
    seeded = sizes.history_logs + sizes.history_logs // 10
    rows.append(
        Row(
            f"rollup of {seeded:,} logs (first pass after the seed)",
            "no transaction over 1 s",
            f"{rollup['seconds']:.1f} s, {rollup['peak_rss_mb']:.0f} MB peak, "
            f"longest transaction {_ms(rollup['longest_transaction_s'])}",
            rollup["longest_transaction_s"] <= 1,
            rollup,
        )
    )

    logs = sizes.history_logs
    first = "/api/v1/event_logs?status=all"
    status, page = _http_json(f"{context.base_url}{first}", token=token)
    if status != 200 or len(page["results"]) != 50 or not page.get("next"):
        raise RuntimeError(f"GET {first} answered {status} with {str(page)[:300]}")
    result = run_load(
        context.base_url, get(first, token), clients=sizes.read_clients, duration=sizes.read_seconds, warmup=0.5
    )
    _save(context, "list_first", result.summary())
    rows.append(_read_row(f"event-log list, first page, {logs:,} logs", 0.020, result))

    from django.utils.timezone import now

    deep_position = now() - timedelta(hours=44)
    deep = f"/api/v1/event_logs?status=all&cursor={_deep_cursor(page['next'], deep_position)}"
    status, page = _http_json(f"{context.base_url}{deep}", token=token)
    if status != 200 or len(page["results"]) != 50:
        raise RuntimeError(f"GET {deep} answered {status} with {str(page)[:300]}")
    result = run_load(
        context.base_url, get(deep, token), clients=sizes.read_clients, duration=sizes.read_seconds, warmup=0.5
    )
    _save(context, "list_deep", result.summary())
    rows.append(_read_row(f"event-log list, cursor page 44 h deep, {logs:,} logs", 0.020, result))

    aggregated = "/api/v1/event_logs/aggregated"
    # The oldest seeded logs pass 48 h while the scenario runs: the answer must lie between
    # the retained counts just before and just after it.
    retained = "SELECT count(*) FROM eventlogs_eventlog WHERE owner_id = %s AND fired_at > now() - interval '48 hours'"
    with context.database.connect() as connection:
        before = connection.execute(retained, [owner.pk]).fetchone()[0]
        status, body = _http_json(f"{context.base_url}{aggregated}", token=token)
        after = connection.execute(retained, [owner.pk]).fetchone()[0]
    total = sum(row["total"] for row in body) if status == 200 else None
    if status != 200 or total is None or not after <= total <= before:
        raise RuntimeError(f"GET {aggregated} answered {status}; total {total}, expected {after:,} to {before:,}")
    result = run_load(
        context.base_url, get(aggregated, token), clients=sizes.read_clients, duration=sizes.read_seconds, warmup=0.5
    )
    _save(context, "aggregated", result.summary())
    rows.append(_read_row(f"aggregated, {logs:,} logs in the last 48 h", 0.100, result))
    return rows


def _read_row(figure: str, p99_target: float, result: LoadResult) -> Row:
    met = result.percentile(0.99) <= p99_target and result.errors == 0
    text = (
        f"p50 {result.percentile(0.5) * 1000:.1f} ms, p99 {result.percentile(0.99) * 1000:.1f} ms, "
        f"{result.rate:,.0f} req/s, {result.errors} errors ({result.clients} clients)"
    )
    return Row(figure, f"p99 ≤ {p99_target * 1000:.0f} ms", text, met, result.summary())


# --- commands and their transactions ---------------------------------------------------


class TransactionWatch:
    """Samples pg_stat_activity every 10 ms for the transactions of one application name,
    and keeps the longest seen (a lower bound within the sampling interval) and its statement."""

    def __init__(self, database: Database, application: str) -> None:
        self.database = database
        self.application = application
        self.longest = 0.0
        self.longest_query = ""
        self.transactions: set[tuple[int, datetime]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TransactionWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with self.database.connect() as connection:
            while not self._stop.is_set():
                for pid, started, age, query in connection.execute(
                    """
                    SELECT pid, xact_start, EXTRACT(EPOCH FROM clock_timestamp() - xact_start)::float8,
                           left(regexp_replace(query, '\\s+', ' ', 'g'), 160)
                    FROM pg_stat_activity
                    WHERE application_name = %s AND xact_start IS NOT NULL AND state <> 'idle'
                    """,
                    [self.application],
                ).fetchall():
                    self.transactions.add((pid, started))
                    if age > self.longest:
                        self.longest, self.longest_query = age, query
                time.sleep(0.01)


def _run_command(context: Context, name: str, *arguments: str) -> dict[str, Any]:
    """Run a management command; its wall time, its own peak RSS (wait4) and its longest transaction."""
    application = f"sigwise-bench-{name}"
    environment = {**context.processes.environment, "PGAPPNAME": application}
    with TransactionWatch(context.database, application) as watch:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, str(ROOT / "manage.py"), name, *arguments],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        output = process.stdout.read().decode() if process.stdout else ""
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
    (context.results_dir / f"{name}.log").write_text(output)
    if process.returncode != 0:
        raise RuntimeError(f"manage.py {name} exited {process.returncode}:\n{output[-2000:]}")
    return {
        "seconds": elapsed,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux reports kilobytes
        "longest_transaction_s": watch.longest,
        "transactions_seen": len(watch.transactions),
        "output_tail": output.strip().splitlines()[-3:],
    }


SCENARIOS = {
    "fire": scenario_fire,
    "pgbench": scenario_pgbench,
    "one_time": scenario_one_time,
    "interval": scenario_interval,
    "reads": scenario_reads,
}


def _steady(context: Context) -> list[Row]:
    from bench.steady import scenario_steady

    return scenario_steady(context)


SCENARIOS["steady"] = _steady
