"""The lifecycle in steady state: what archiving, deleting and rolling up cost a running installation.

A steady event rate (``Sizes.steady_rate``, one INSERT per transaction as an API fire
writes it) goes on for ``Sizes.steady_seconds`` while the real scheduler runs the archive,
delete and rollup jobs on their normal schedules. The table starts as a steady 48 h would
leave it, scaled to fit the machine: the large customer of the read scenario (``history_logs``
over 48 h) plus, at the full rate, the three bands the jobs reach during the run: the events
turning 2 h old (archived), those turning 48 h old (deleted), and one whole closed hour
(recounted by the rollup, as every hour is once). The table is rewritten (``VACUUM FULL``)
before the load starts.

Measured: the CPU the scheduler's process and its database sessions use (an upper bound for
the lifecycle jobs: the dispatcher idles, no scheduled trigger is due), the longest
transaction of those sessions, the reads of the large customer during the load, and the
table's bytes against the same rows at fillfactor 100 right after ``VACUUM FULL``.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.loadgen import get, run_load
from bench.scenarios import (
    PASSWORD,
    Context,
    Row,
    TransactionWatch,
    _http_json,
    _ms,
    _read_row,
    _run_command,
    _save,
    owner_with_token,
)
from bench.stack import Database

SCHEDULER_APPLICATION = "sigwise-scheduler"
INSERTER_THREADS = 4
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _event_columns() -> tuple[str, str]:
    """The INSERT column list and the matching SELECT list of the bands, for the model as it is."""
    from eventlogs.models import EventLog

    columns = [field.column for field in EventLog._meta.concrete_fields]
    values = {
        "id": "gen_random_uuid()",
        "owner_id": "t.owner_id",
        "trigger_id": "t.id",
        "trigger_uuid": "t.id",
        "trigger_name": "'steady ' || t.number",
        "trigger_type": "'api'",
        "source": "'api'",
        "payload": "jsonb_build_object('order', n, 'status', 'paid', 'amount', '19.99')",
        "is_test": "false",
        "fired_at": "fired",
        "scheduled_for": "NULL",
        "archived_at": "CASE WHEN fired <= %(archive_cutoff)s THEN fired + interval '2 hours' END",
        # The column of the code before migration 0006, so the scenario can measure it too.
        "status": "CASE WHEN fired <= %(archive_cutoff)s THEN 'archived' ELSE 'active' END",
        "idempotency_key": "NULL",
        "idempotency_body_sha256": "NULL",
    }
    return ", ".join(columns), ", ".join(values[column] for column in columns)


def _seed_band(
    database: Database, triggers: list[tuple[Any, int]], *, count: int, start: datetime, end: datetime
) -> None:
    """``count`` events spread evenly over ``[start, end)``, round robin over ``triggers``,
    archived when older than 2 h (as the job would have left them)."""
    columns, values = _event_columns()
    with database.connect() as connection:
        connection.execute(
            f"""
            INSERT INTO eventlogs_eventlog ({columns})
            SELECT {values}
            FROM (SELECT n, %(start)s + (%(end)s - %(start)s) * (n - 1) / %(count)s AS fired
                  FROM generate_series(1, %(count)s) AS n) AS slots
            JOIN (SELECT id, owner_id, (row_number() OVER ()) - 1 AS number
                  FROM unnest(%(ids)s::uuid[], %(owners)s::bigint[]) AS given (id, owner_id)) AS t
              ON t.number = n %% %(trigger_count)s
            """,  # noqa: S608 (column lists from the model; values are parameters)
            {
                "start": start,
                "end": end,
                "count": count,
                "ids": [identifier for identifier, _ in triggers],
                "owners": [owner for _, owner in triggers],
                "trigger_count": len(triggers),
                "archive_cutoff": _database_now(database) - timedelta(hours=2),
            },
        )


def _fresh_token(context: Context, owner: Any) -> str:
    status, body = _http_json(
        f"{context.base_url}/api/v1/auth/token", method="POST", body={"email": owner.email, "password": PASSWORD}
    )
    if status != 200:
        raise RuntimeError(f"POST /api/v1/auth/token answered {status}: {body}")
    return body["access"]


def _database_now(database: Database) -> datetime:
    with database.connect() as connection:
        return connection.execute("SELECT now()").fetchone()[0]


def _tenants(count: int) -> list[tuple[Any, int]]:
    """``count`` customers with one API trigger each (made in bulk: nobody signs in as them)."""
    from accounts.models import User
    from triggers.models import Trigger

    users = User.objects.bulk_create(
        [User(email=f"bench-tenant-{number}@example.com", password="!") for number in range(count)]  # noqa: S106
    )
    triggers = Trigger.objects.bulk_create(
        [Trigger(owner=user, name=f"steady {number}", type=Trigger.Type.API) for number, user in enumerate(users)]
    )
    return [(trigger.id, trigger.owner_id) for trigger in triggers]


class Inserter:
    """``rate`` events a second, one INSERT per autocommit transaction (as an API fire), with
    ``fired_at`` the database's clock, spread over a few connections so commit latency does
    not cap the rate."""

    def __init__(self, database: Database, triggers: list[tuple[Any, int]], rate: float) -> None:
        self.database = database
        self.triggers = triggers
        self.rate = rate
        self.inserted = 0
        self.behind = 0.0  # the most seconds any connection fell behind its schedule
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(number,), daemon=True) for number in range(INSERTER_THREADS)
        ]

    def start(self) -> None:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()

    def stop(self) -> float:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.inserted / (time.monotonic() - self.started)

    def _run(self, number: int) -> None:
        columns, values = _event_columns()
        statement = f"""
            INSERT INTO eventlogs_eventlog ({columns})
            SELECT {values} FROM (SELECT %(n)s AS n, statement_timestamp() AS fired) AS slots,
                 (SELECT %(id)s::uuid AS id, %(owner)s::bigint AS owner_id, %(number)s AS number) AS t
        """  # noqa: S608
        interval = INSERTER_THREADS / self.rate
        own = self.triggers[number::INSERTER_THREADS]
        with self.database.connect() as connection:
            connection.execute("SET application_name = 'sigwise-bench-steady-load'")
            due = self.started
            count = 0
            while not self._stop.is_set():
                identifier, owner = own[count % len(own)]
                connection.execute(
                    statement,
                    {"n": count, "id": identifier, "owner": owner, "number": count % 100, "archive_cutoff": None},
                    prepare=True,
                )
                count += 1
                due += interval
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                elif -pause > self.behind:
                    self.behind = -pause
                with self._lock:
                    self.inserted += 1


class CpuWatch:
    """CPU seconds of one process and of the database sessions of one application name,
    read from /proc every 20 ms (a session that ends loses at most its last 20 ms)."""

    def __init__(self, database: Database, application: str, pid: int) -> None:
        self.database = database
        self.application = application
        self.pid = pid
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuWatch:
        self.started = time.monotonic()
        self._sample([self.pid], baseline=True)
        with self.database.connect() as connection:
            self._sample(self._sessions(connection), baseline=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.elapsed = time.monotonic() - self.started

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first.get(pid, 0.0) for pid in self.last)

    def _sessions(self, connection: psycopg.Connection) -> list[int]:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [self.application]
        ).fetchall()
        return [row[0] for row in rows]

    def _sample(self, pids: list[int], *, baseline: bool = False) -> None:
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used = (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND  # utime + stime
            if baseline:
                self.first[pid] = used
            self.last[pid] = used

    def _run(self) -> None:
        with self.database.connect() as connection:
            while not self._stop.is_set():
                self._sample([self.pid, *self._sessions(connection)])
                time.sleep(0.02)


def _storage(database: Database) -> dict[str, int]:
    """The event-log table's bytes (heap with its TOAST and maps, plus indexes) and those of
    the same rows copied into a fillfactor-100 table and rewritten by ``VACUUM FULL``."""
    size = "SELECT pg_table_size(%(table)s::regclass), pg_indexes_size(%(table)s::regclass)"
    with database.connect() as connection:
        heap, indexes = connection.execute(size, {"table": "eventlogs_eventlog"}).fetchone()
        connection.execute("DROP TABLE IF EXISTS bench_steady_compact")
        connection.execute(
            "CREATE TABLE bench_steady_compact (LIKE eventlogs_eventlog INCLUDING ALL) WITH (fillfactor = 100)"
        )
        connection.execute("INSERT INTO bench_steady_compact SELECT * FROM eventlogs_eventlog")
        connection.execute("VACUUM FULL bench_steady_compact")
        compact_heap, compact_indexes = connection.execute(size, {"table": "bench_steady_compact"}).fetchone()
        rows = connection.execute("SELECT count(*) FROM bench_steady_compact").fetchone()[0]
        connection.execute("DROP TABLE bench_steady_compact")
    return {
        "rows": rows,
        "heap_bytes": heap,
        "index_bytes": indexes,
        "compact_heap_bytes": compact_heap,
        "compact_index_bytes": compact_indexes,
    }


def scenario_steady(context: Context) -> list[Row]:
    from triggers.models import Trigger

    sizes = context.sizes
    database = context.database
    rate, seconds = sizes.steady_rate, sizes.steady_seconds
    owner, token = owner_with_token(context, "history")
    if not Trigger.objects.filter(owner=owner).exists():  # run alone (--only steady): the reads' customer
        history = Trigger.objects.bulk_create(
            [
                Trigger(owner=owner, name=f"bench history {n}", type=Trigger.Type.API)
                for n in range(sizes.history_triggers)
            ]
        )
        now = _database_now(database)
        _seed_band(
            database,
            [(trigger.id, owner.pk) for trigger in history],
            count=sizes.history_logs,
            start=now - timedelta(hours=47, minutes=58),
            end=now,
        )
    tenants = _tenants(sizes.steady_tenants)
    started = time.perf_counter()
    now = _database_now(database)
    # One whole closed hour at the full rate (a tenth of it in the quick run), older than the
    # events that come of age during the run, which the scheduler's rollup job recounts.
    counted_hour = (now - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    _seed_band(
        database, tenants, count=sizes.steady_hour_events, start=counted_hour, end=counted_hour + timedelta(hours=1)
    )
    # The catch-up a scheduler does once after a restore: archive what is past 2 h, count the hours.
    _run_command(context, "archive_event_logs")
    _run_command(context, "rollup_event_logs")
    # Last, so that the run starts as they come of age: the events that turn 2 h old during
    # the run (archived) and those that turn 48 h old (deleted), with a minute's margin.
    now = _database_now(database)
    margin = timedelta(seconds=seconds + 60)
    for age in (timedelta(hours=2), timedelta(hours=48)):
        _seed_band(database, tenants, count=int(rate * margin.total_seconds()), start=now - age, end=now - age + margin)
    with database.connect() as connection:
        # What the bulk seeding and the catch-up's rewrite leave is not what a running table
        # carries: start from the table rewritten, so the storage figure is the run's own.
        connection.execute("VACUUM FULL ANALYZE eventlogs_eventlog")
        # Those bands were backfills that moved the rollup's mark back 48 h: put it where the
        # catch-up left it, less the hour the run recounts.
        connection.execute("UPDATE eventlogs_lifecyclemarks SET rolled_up_through = %s WHERE id = 1", [counted_hour])
        population = connection.execute("SELECT count(*) FROM eventlogs_eventlog").fetchone()[0]
    with database.connect() as connection:
        at_start = connection.execute(
            "SELECT pg_table_size('eventlogs_eventlog'), pg_indexes_size('eventlogs_eventlog')"
        ).fetchone()
    print(f"  seeded a steady population of {population:,} events in {time.perf_counter() - started:.1f} s", flush=True)

    context.processes.start_scheduler()
    scheduler = context.processes.running["scheduler"]
    inserter = Inserter(database, tenants, rate)
    reads = []
    with (
        TransactionWatch(database, SCHEDULER_APPLICATION) as longest,
        CpuWatch(database, SCHEDULER_APPLICATION, scheduler.pid) as cpu,
    ):
        inserter.start()
        # The reads of the large customer, under the load, at the end of the run, with a
        # token of their own (the one from the start has expired by then).
        read_seconds = sizes.read_seconds
        time.sleep(max(0.0, seconds - 2 * read_seconds - 2))
        token = _fresh_token(context, owner)
        for path, target, label in (
            ("/api/v1/event_logs?status=all", 0.020, "event-log list, first page"),
            ("/api/v1/event_logs/aggregated", 0.100, "aggregated"),
        ):
            result = run_load(
                context.base_url, get(path, token), clients=sizes.read_clients, duration=read_seconds, warmup=0.5
            )
            reads.append(_read_row(f"steady: {label}, {sizes.history_logs:,} logs, under the load", target, result))
        time.sleep(max(0.0, seconds - (time.monotonic() - inserter.started)))
        achieved = inserter.stop()
    context.processes.stop("scheduler")
    storage = _storage(database)
    share = cpu.seconds / cpu.elapsed
    ratio = (storage["heap_bytes"] + storage["index_bytes"]) / (
        storage["compact_heap_bytes"] + storage["compact_index_bytes"]
    )
    details: dict[str, Any] = {
        "rate_asked": rate,
        "rate_achieved": round(achieved, 1),
        "inserter_most_behind_s": round(inserter.behind, 3),
        "seconds": round(cpu.elapsed, 1),
        "population_at_start": population,
        "scheduler_cpu_s": round(cpu.seconds, 2),
        "scheduler_cpu_share": round(share, 4),
        "longest_transaction_s": round(longest.longest, 3),
        "longest_transaction_statement": longest.longest_query,
        "transactions_seen": len(longest.transactions),
        "storage": storage,
        "storage_at_start": at_start,
        "storage_ratio": round(ratio, 3),
        "reads": [row.details for row in reads],
    }
    _save(context, "steady", details)
    mib = 1024 * 1024
    return [
        Row(
            f"steady: {achieved:,.0f} events/s for {cpu.elapsed:.0f} s, lifecycle jobs CPU",
            "≤ 5 % of one core",
            f"{share:.2%} of one core ({cpu.seconds:.1f} s of CPU, scheduler process and its sessions)",
            share <= 0.05,
            details,
        ),
        Row(
            "steady: longest lifecycle transaction",
            "≤ 1 s",
            f"{_ms(longest.longest)} ({len(longest.transactions):,} transactions seen)",
            longest.longest <= 1,
        ),
        Row(
            f"steady: table + indexes, {storage['rows']:,} rows",
            "≤ 1.3 x fillfactor 100 after VACUUM FULL",
            f"{ratio:.2f} x ({(storage['heap_bytes'] + storage['index_bytes']) / mib:,.0f} MiB against "
            f"{(storage['compact_heap_bytes'] + storage['compact_index_bytes']) / mib:,.0f} MiB; heap "
            f"{storage['heap_bytes'] / mib:,.0f} / {storage['compact_heap_bytes'] / mib:,.0f}, indexes "
            f"{storage['index_bytes'] / mib:,.0f} / {storage['compact_index_bytes'] / mib:,.0f})",
            ratio <= 1.3,
        ),
        *reads,
    ]
