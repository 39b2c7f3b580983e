"""``make bench`` / ``make bench-quick``: start the stack, run every scenario, print one table.

    python -m bench [--quick] [--only fire,reads] [--port 8077] [--strict]

Steps: a fresh database of the benchmark's own (see :mod:`bench.stack`), migrations,
gunicorn from ``gunicorn.conf.py`` with production settings, the scheduler
(``manage.py runscheduler``), then the scenarios in :data:`ORDER`. The scheduler is
stopped before the read scenario, so its own periodic archive and delete jobs cannot
touch the history it measures; the steady scenario starts it again and measures them. Raw figures go to
``bench-results/<time>/`` (one JSON file per scenario, the logs, ``table.md``).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench.sizes import FULL, QUICK
from bench.stack import ROOT, Database, Processes, prepare_database, production_environment

ORDER = ["fire", "pgbench", "one_time", "interval", "reads", "steady", "deliveries", "scale", "burst"]
NEEDS_SCHEDULER = {"one_time", "interval"}
SETTINGS_SHOWN = [
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "max_connections",
    "synchronous_commit",
    "fsync",
    "wal_level",
    "max_wal_size",
    "max_parallel_workers_per_gather",
    "random_page_cost",
    "jit",
]


def machine_description(database: Database, environment: dict[str, str]) -> list[str]:
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    with database.connect() as connection:
        settings = {
            name: connection.execute(f"SHOW {name}").fetchone()[0]  # names from the constant list above
            for name in SETTINGS_SHOWN
        }
    gunicorn = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
            "print(c['workers'], c['threads'], c['worker_class'])",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return [
        f"nproc {os.cpu_count()} ({cpu_model}), memory {memory_kb / 1024 / 1024:.1f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        f"PostgreSQL {database.server_version} ({'embedded pgserver' if database.embedded else 'DATABASE_URL server'}, "
        f"database {database.name}): " + ", ".join(f"{name}={value}" for name, value in settings.items()),
        f"gunicorn: {gunicorn[0] if gunicorn else '?'} workers x {gunicorn[1] if gunicorn else '?'} threads "
        f"({gunicorn[2] if gunicorn else '?'}); cache: {'Redis' if environment.get('REDIS_URL') else 'database'}",
    ]


def render(rows: list, *, markdown: bool) -> str:
    def verdict(met: bool | None) -> str:
        return "—" if met is None else ("met" if met else "MISSED")

    header = ["figure", "target", "measured", "met?"]
    body = [[row.figure, row.target, row.measured, verdict(row.met)] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "| --- | --- | --- | --- |"]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(cells[index]) for cells in [header, *body]) for index in range(4)]
    rule = "+-" + "-+-".join("-" * width for width in widths) + "-+"
    lines = [rule, "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |", rule]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |" for cells in body]
    lines.append(rule)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size (make bench-quick)")
    parser.add_argument("--only", default="", help=f"comma-separated scenarios among {', '.join(ORDER)}")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8077")))
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    options = parser.parse_args(argv)
    chosen = [name for name in ORDER if not options.only or name in options.only.split(",")]
    sizes = QUICK if options.quick else FULL

    stamp = time.strftime("%Y%m%d-%H%M%S")  # local time, for a folder name a person reads
    results_dir = ROOT / "bench-results" / f"{stamp}{'-quick' if options.quick else ''}"
    results_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    print(f"Sigwise benchmark ({'quick' if options.quick else 'full'}); results in {results_dir}", flush=True)
    database = prepare_database()
    environment = production_environment(database, port=options.port)
    # This process seeds through the product's services: same settings as the servers.
    os.environ.update({key: environment[key] for key in environment if key not in os.environ or key.isupper()})
    processes = Processes(environment=environment, log_dir=results_dir, port=options.port)

    import django

    django.setup()

    from bench.deliveries import scenario_deliveries
    from bench.scale import scenario_burst, scenario_scale
    from bench.scenarios import SCENARIOS, Context, Row

    SCENARIOS["deliveries"] = scenario_deliveries
    SCENARIOS["scale"] = scenario_scale
    SCENARIOS["burst"] = scenario_burst

    rows: list[Row] = []
    failed = False
    try:
        print("• migrating", flush=True)
        processes.manage("migrate", "--noinput")
        processes.manage("createcachetable")
        machine = machine_description(database, environment)
        print("• starting gunicorn and the scheduler", flush=True)
        processes.start_web()
        if NEEDS_SCHEDULER & set(chosen):
            processes.start_scheduler()
        context = Context(sizes=sizes, database=database, processes=processes, results_dir=results_dir)
        for name in chosen:
            if (
                name not in NEEDS_SCHEDULER
                and "scheduler" in processes.running
                and ORDER.index(name) > ORDER.index("interval")
            ):
                processes.stop("scheduler")
            print(f"• {name}", flush=True)
            scenario_started = time.monotonic()
            try:
                new_rows = SCENARIOS[name](context)
            except Exception:  # one broken scenario must not hide the others' figures
                failed = True
                traceback.print_exc()
                new_rows = [Row(name, "", "FAILED: see the trace above", False)]
            for row in new_rows:
                print(f"    {row.figure}: {row.measured}", flush=True)
            print(f"    ({time.monotonic() - scenario_started:.1f} s)", flush=True)
            rows.extend(new_rows)
    finally:
        processes.stop_all()

    table = render(rows, markdown=False)
    print()
    print("\n".join(machine))
    print(table)
    total = time.monotonic() - started
    print(f"Total {total:.0f} s. Raw figures: {results_dir}")
    (results_dir / "table.md").write_text(
        "\n".join(f"- {line}" for line in machine)
        + "\n\n"
        + render(rows, markdown=True)
        + f"\n\nTotal {total:.0f} s.\n"
    )
    if failed:
        return 2
    if options.strict and any(row.met is False for row in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
