"""Deleting one hour of events: today's batched delete against dropping an hourly partition.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigwise \\
        python -m bench.partition_drop [--events 10000000] [--hours 10]

In a database of its own (``<database>_partition``, created afresh and migrated), the
experiment writes ``--events`` events with one ``INSERT … SELECT generate_series`` into the
real ``eventlogs_eventlog`` table, spread evenly over ``--hours`` whole hours, and copies
them into ``eventlog_by_hour``: the same columns, range-partitioned by ``fired_at`` with
one partition an hour, the primary key and unique indexes widened by ``fired_at`` (a
partitioned table's unique indexes must hold its partition key). Then it removes the
oldest hour three ways:

1. ``eventlogs_delete`` (what ``manage.py delete_event_logs`` and the scheduler's job run),
   batches of ``LIFECYCLE_BATCH_SIZE``, then the ``VACUUM`` that makes the space reusable;
2. ``ALTER TABLE … DETACH PARTITION`` and ``DROP TABLE`` of the oldest partition;
3. ``DETACH PARTITION … CONCURRENTLY`` and ``DROP TABLE`` of the next one.

For each: the wall time; the WAL written (``pg_current_wal_lsn()`` before and after; the
server is shared, so the WAL the rest of the server wrote in an idle window of the same
length just before is reported beside it); the locks the session took (``pg_locks``,
sampled every 5 ms, with how long each was seen); and two probes running throughout, one
inserting an event a transaction into the newest hour and one reading an owner's first
page, whose latencies show whether either was blocked. Figures go to
``bench-results/partition-<time>.json`` and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.stack import ROOT

PARTITIONED = "eventlog_by_hour"
PASSWORD = "partition-Pa55word-not-for-production"  # noqa: S105
# Locks held by one session, read by another: relation locks with the relation's name.
_LOCKS = """
    SELECT coalesce(c.relname, l.locktype), l.mode, l.granted
    FROM pg_locks AS l LEFT JOIN pg_class AS c ON c.oid = l.relation
    WHERE l.pid = %s AND l.locktype IN ('relation', 'object')
"""


@dataclass
class Probe:
    """One statement in a loop on its own connection; the latency of each run."""

    conninfo: str
    statement: str
    parameters: dict[str, Any]
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (started, seconds)
    errors: int = 0
    pid: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        while not self.pid:
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            self.pid = connection.info.backend_pid
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    connection.execute(self.statement, self.parameters).fetchall()
                except psycopg.Error:
                    self.errors += 1
                self.latencies.append((started, time.perf_counter() - started))
                time.sleep(0.01)

    def window(self, begin: float, end: float) -> dict[str, float]:
        """Latency figures (ms) of the runs that overlapped ``[begin, end]``."""
        values = sorted(seconds for started, seconds in self.latencies if started <= end and started + seconds >= begin)
        if not values:
            return {"runs": 0}
        return {
            "runs": len(values),
            "p50_ms": round(values[len(values) // 2] * 1000, 1),
            "p99_ms": round(values[min(len(values) - 1, int(len(values) * 0.99))] * 1000, 1),
            "max_ms": round(values[-1] * 1000, 1),
        }


class LockWatch:
    """Samples the locks of one backend every 5 ms, and the lock waits of the probes."""

    def __init__(self, conninfo: str, pid: int, probe_pids: list[int]) -> None:
        self.conninfo, self.pid, self.probe_pids = conninfo, pid, probe_pids
        self.seen: dict[tuple[str, str], list[float]] = {}  # (relation, mode) -> [first, last]
        self.probe_waits: dict[int, float] = dict.fromkeys(probe_pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = 0.005
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            while not self._stop.is_set():
                moment = time.perf_counter()
                for relation, mode, granted in connection.execute(_LOCKS, [self.pid]).fetchall():
                    key = (relation, mode if granted else f"{mode} (waiting)")
                    span = self.seen.setdefault(key, [moment, moment])
                    span[1] = moment
                for pid, waiting in connection.execute(
                    "SELECT pid, wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = ANY(%s)",
                    [self.probe_pids],
                ).fetchall():
                    if waiting:
                        self.probe_waits[pid] += interval
                time.sleep(interval)

    def summary(self) -> list[str]:
        """One line per (relation, mode): the span between first and last sighting."""
        lines = []
        for (relation, mode), (first, last) in sorted(self.seen.items(), key=lambda item: item[1][0]):
            lines.append(f"{relation}: {mode}, seen over {(last - first) * 1000:,.0f} ms")
        return lines


def _database_urls() -> tuple[str, str, str]:
    given = os.environ.get("DATABASE_URL", "").strip()
    if not given:
        raise SystemExit("set DATABASE_URL to a PostgreSQL server (the experiment creates <database>_partition)")
    parts = urlsplit(given)
    name = f"{parts.path.lstrip('/') or 'postgres'}_partition"
    url = urlunsplit(parts._replace(path=f"/{name}"))
    admin = urlunsplit(parts._replace(path="/postgres"))
    return url, admin, name


def _wal(connection: psycopg.Connection) -> str:
    return connection.execute("SELECT pg_current_wal_lsn()").fetchone()[0]


def _wal_bytes(connection: psycopg.Connection, since: str) -> int:
    return int(connection.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [since]).fetchone()[0])


def _mib(count: int) -> str:
    return f"{count / 1024 / 1024:,.1f} MiB"


def _seed(
    connection: psycopg.Connection,
    *,
    owners: list[int],
    triggers: list[str],
    events: int,
    first_hour: datetime,
    hours: int,
) -> None:
    """``events`` events in the shape ``eventlog_record`` writes, evenly over ``hours`` hours
    from ``first_hour``."""
    connection.execute("SET synchronous_commit = off")
    connection.execute("SET maintenance_work_mem = '512MB'")
    connection.execute(
        """
        INSERT INTO eventlogs_eventlog (id, owner_id, trigger_id, trigger_uuid, trigger_name, trigger_type,
            source, payload, is_test, fired_at, scheduled_for, archived_at, idempotency_key)
        SELECT gen_random_uuid(), (%(owners)s::bigint[])[1 + n %% %(owner_count)s], t, t,
            'bench history', 'api', 'api',
            jsonb_build_object('order', n, 'status', 'paid', 'amount', '19.99'), false,
            %(first_hour)s::timestamptz + make_interval(secs => (%(hours)s * 3600.0) * (n - 1) / %(events)s),
            NULL, NULL, NULL
        FROM generate_series(1, %(events)s) AS n,
             LATERAL (SELECT (%(triggers)s::uuid[])[1 + n %% %(trigger_count)s] AS t) AS chosen
        """,
        {
            "owners": owners,
            "owner_count": len(owners),
            "triggers": triggers,
            "trigger_count": len(triggers),
            "events": events,
            "hours": hours,
            "first_hour": first_hour,
        },
    )


def _build_partitioned(connection: psycopg.Connection, *, first_hour: datetime, hours: int) -> None:
    """The same columns and indexes, partitioned by hour; each unique key gains ``fired_at``."""
    connection.execute(f"DROP TABLE IF EXISTS {PARTITIONED}")
    connection.execute(
        f"CREATE TABLE {PARTITIONED} (LIKE eventlogs_eventlog INCLUDING DEFAULTS) PARTITION BY RANGE (fired_at)"
    )
    for number in range(hours + 2):  # the seeded hours, the current one and the next
        lower = first_hour + timedelta(hours=number)
        upper = lower + timedelta(hours=1)
        connection.execute(
            f"CREATE TABLE {PARTITIONED}_{number} PARTITION OF {PARTITIONED} "
            f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
        )
    connection.execute("SET synchronous_commit = off")
    connection.execute("SET maintenance_work_mem = '512MB'")
    connection.execute(f"INSERT INTO {PARTITIONED} SELECT * FROM eventlogs_eventlog")  # noqa: S608
    statements = [
        f"ALTER TABLE {PARTITIONED} ADD PRIMARY KEY (id, fired_at)",
        f"CREATE UNIQUE INDEX {PARTITIONED}_one_event_per_slot ON {PARTITIONED} "
        "(trigger_id, scheduled_for, fired_at) WHERE scheduled_for IS NOT NULL",
        f"CREATE UNIQUE INDEX {PARTITIONED}_one_event_per_key ON {PARTITIONED} "
        "(trigger_id, idempotency_key, fired_at) WHERE idempotency_key IS NOT NULL",
        f"CREATE INDEX {PARTITIONED}_owner_fired ON {PARTITIONED} (owner_id, fired_at DESC, id DESC)",
        f"CREATE INDEX {PARTITIONED}_trigger_fired ON {PARTITIONED} (trigger_uuid, fired_at DESC)",
        f"CREATE INDEX {PARTITIONED}_fired ON {PARTITIONED} (fired_at)",
        f"CREATE INDEX {PARTITIONED}_trigger ON {PARTITIONED} (trigger_id)",
        f"ALTER TABLE {PARTITIONED} ADD FOREIGN KEY (owner_id) REFERENCES accounts_user (id) "
        "DEFERRABLE INITIALLY DEFERRED",
        f"ALTER TABLE {PARTITIONED} ADD FOREIGN KEY (trigger_id) REFERENCES triggers_trigger (id) "
        "ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED",
        f"VACUUM ANALYZE {PARTITIONED}",
    ]
    for statement in statements:
        connection.execute(statement)


def _measure(
    name: str,
    conninfo: str,
    admin: psycopg.Connection,
    actor_pid: int,
    probes: list[Probe],
    action: Any,
) -> dict[str, Any]:
    """Run ``action``; its time, WAL, locks and the probes' latencies, with an idle baseline."""
    idle_start = _wal(admin)
    time.sleep(10)
    idle_wal_10s = _wal_bytes(admin, idle_start)
    begin_lsn = _wal(admin)
    begin = time.perf_counter()
    with LockWatch(conninfo, actor_pid, [probe.pid for probe in probes]) as watch:
        detail = action()
    end = time.perf_counter()
    wal = _wal_bytes(admin, begin_lsn)
    seconds = end - begin
    result = {
        "method": name,
        "seconds": round(seconds, 3),
        "wal_bytes": wal,
        "other_sessions_wal_estimate_bytes": round(idle_wal_10s * seconds / 10),
        "locks": watch.summary(),
        "probe_lock_wait_s": {str(pid): round(value, 3) for pid, value in watch.probe_waits.items()},
        "insert_probe": probes[0].window(begin, end),
        "read_probe": probes[1].window(begin, end),
        "detail": detail,
    }
    print(json.dumps(result, indent=2), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.partition_drop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--hours", type=int, default=10, help="whole hours the events are spread over")
    options = parser.parse_args(argv)

    url, admin_url, name = _database_urls()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigwise.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection as django_connection
    from django.utils.timezone import now as django_now

    from accounts.services import user_register
    from eventlogs.lifecycle import eventlogs_delete
    from triggers.models import Trigger

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    owners = [user_register(email=f"partition-{number}@example.com", password=PASSWORD) for number in range(10)]
    triggers = Trigger.objects.bulk_create(
        Trigger(owner=owners[number % 10], name=f"partition {number}", type=Trigger.Type.API) for number in range(100)
    )
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as connection:
        hour_start = connection.execute(
            "SELECT date_trunc('hour', now()) - make_interval(hours => %s)", [options.hours]
        ).fetchone()[0]
        step = time.perf_counter()
        _seed(
            connection,
            owners=[owner.pk for owner in owners],
            triggers=[str(trigger.id) for trigger in triggers],
            events=options.events,
            first_hour=hour_start,
            hours=options.hours,
        )
        connection.execute("VACUUM ANALYZE eventlogs_eventlog")
        timings["seed_plain_s"] = round(time.perf_counter() - step, 1)
        print(f"seeded {options.events:,} events in {timings['seed_plain_s']} s", flush=True)
        step = time.perf_counter()
        _build_partitioned(connection, first_hour=hour_start, hours=options.hours)
        timings["seed_partitioned_s"] = round(time.perf_counter() - step, 1)
        print(f"built {PARTITIONED} in {timings['seed_partitioned_s']} s", flush=True)
        sizes = dict(
            connection.execute(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN (%s, %s)",
                ["eventlogs_eventlog", f"{PARTITIONED}_0"],
            ).fetchall()
        )
        per_hour = connection.execute(
            "SELECT count(*) FROM eventlogs_eventlog WHERE fired_at < %s", [hour_start + timedelta(hours=1)]
        ).fetchone()[0]

    results: list[dict[str, Any]] = []
    newest_hour = hour_start + timedelta(hours=options.hours - 1, minutes=30)
    owner_id = owners[0].pk
    trigger_id = str(triggers[0].id)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for table in ("eventlogs_eventlog", PARTITIONED):
            insert = Probe(
                url,
                f"INSERT INTO {table} (id, owner_id, trigger_id, trigger_uuid, trigger_name, trigger_type, "  # noqa: S608
                "source, payload, is_test, fired_at) VALUES (gen_random_uuid(), %(owner)s, %(trigger)s, "
                "%(trigger)s, 'probe', 'api', 'api', '{}', false, %(at)s) RETURNING id",
                {"owner": owner_id, "trigger": trigger_id, "at": newest_hour},
            )
            read = Probe(
                url,
                f"SELECT id FROM {table} WHERE owner_id = %(owner)s ORDER BY fired_at DESC, id DESC LIMIT 50",  # noqa: S608
                {"owner": owner_id},
            )
            probes = [insert, read]
            for probe in probes:
                probe.start()
            try:
                if table == "eventlogs_eventlog":
                    django_connection.ensure_connection()
                    actor = django_connection.connection.info.backend_pid

                    def batched_delete() -> dict[str, Any]:
                        deleted = eventlogs_delete(
                            older_than=hour_start + timedelta(hours=1) - timedelta(microseconds=1)
                        )
                        return {"rows": deleted}

                    results.append(_measure("batched delete", url, admin, actor, probes, batched_delete))

                    def vacuum() -> dict[str, Any]:
                        with django_connection.cursor() as cursor:
                            cursor.execute("VACUUM eventlogs_eventlog")
                        return {}

                    results.append(_measure("VACUUM after it", url, admin, actor, probes, vacuum))
                else:
                    with psycopg.connect(url, autocommit=True) as actor_connection:
                        actor = actor_connection.info.backend_pid

                        def detach_and_drop(number: int, concurrently: bool) -> Any:
                            def run() -> dict[str, Any]:
                                partition = f"{PARTITIONED}_{number}"
                                rows = actor_connection.execute(f"SELECT count(*) FROM {partition}").fetchone()[0]  # noqa: S608
                                marks = [time.perf_counter()]
                                mode = " CONCURRENTLY" if concurrently else ""
                                actor_connection.execute(
                                    f"ALTER TABLE {PARTITIONED} DETACH PARTITION {partition}{mode}"
                                )
                                marks.append(time.perf_counter())
                                actor_connection.execute(f"DROP TABLE {partition}")
                                marks.append(time.perf_counter())
                                return {
                                    "rows": rows,
                                    "detach_ms": round((marks[1] - marks[0]) * 1000, 1),
                                    "drop_ms": round((marks[2] - marks[1]) * 1000, 1),
                                }

                            return run

                        results.append(
                            _measure("DETACH + DROP", url, admin, actor, probes, detach_and_drop(0, concurrently=False))
                        )
                        results.append(
                            _measure(
                                "DETACH CONCURRENTLY + DROP",
                                url,
                                admin,
                                actor,
                                probes,
                                detach_and_drop(1, concurrently=True),
                            )
                        )
            finally:
                for probe in probes:
                    probe.stop()

    report = {
        "events": options.events,
        "hours": options.hours,
        "events_in_the_hour": per_hour,
        "sizes_bytes": sizes,
        "timings": timings,
        "total_s": round(time.perf_counter() - started, 1),
        "at": django_now().isoformat(),
        "load_average": os.getloadavg(),
        "results": results,
    }
    out = ROOT / "bench-results" / f"partition-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\n{options.events:,} events over {options.hours} h; the hour removed holds {per_hour:,}")
    plain, partition = sizes.get("eventlogs_eventlog", 0), sizes.get(f"{PARTITIONED}_0", 0)
    print(f"plain table {_mib(plain)}, one partition {_mib(partition)}")
    print("| method | time | WAL (other sessions' estimate) | insert probe p99 / max | read probe p99 / max |")
    print("| --- | --- | --- | --- | --- |")
    for row in results:
        insert, read = row["insert_probe"], row["read_probe"]
        print(
            f"| {row['method']} | {row['seconds']:.2f} s | {_mib(row['wal_bytes'])} "
            f"({_mib(row['other_sessions_wal_estimate_bytes'])}) | {insert.get('p99_ms')} / {insert.get('max_ms')} ms "
            f"| {read.get('p99_ms')} / {read.get('max_ms')} ms |"
        )
    print(f"Raw figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
