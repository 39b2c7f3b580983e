"""How big each scenario is: the issue's sizes for ``make bench``, a tenth for ``make bench-quick``."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Sizes:
    fire_seconds: float = 20.0
    fire_warmup_seconds: float = 2.0
    read_seconds: float = 10.0
    read_clients: int = 2  # one per core: these are latency figures, not throughput ones
    history_logs: int = 1_000_000  # the large customer's event logs in the last 48 h (reads, steady)
    history_triggers: int = 100  # the owner's triggers those logs belong to
    one_time_triggers: int = 500
    one_time_window_seconds: float = 10.0
    interval_triggers: int = 10_000
    interval_seconds: int = 60
    interval_run_seconds: float = 180.0
    pgbench_seconds: float = 15.0
    pgbench_clients: int = 32
    steady_rate: float = 500.0  # events a second, across the installation
    steady_seconds: float = 600.0
    steady_tenants: int = 100  # customers sharing the steady load, one API trigger each
    steady_hour_events: int = 1_800_000  # the closed hour the rollup recounts: an hour at the steady rate
    delivery_drain: int = 50_000
    delivery_latency_seconds: float = 60.0
    scale_triggers: int = 1_000  # one-time triggers of the scale-out drill
    scale_window_seconds: float = 60.0  # they are due evenly over this window
    scale_fire_rate: float = 40.0  # API fires a second through HAProxy during the drill
    scale_down_seconds: float = 5.0  # how long the killed processes stay down
    burst_triggers: int = 100_000  # one-time triggers due in the same second


FULL = Sizes()

QUICK = replace(
    FULL,
    fire_seconds=2.0,
    fire_warmup_seconds=0.5,
    read_seconds=1.0,
    history_logs=100_000,
    history_triggers=10,
    one_time_triggers=50,
    one_time_window_seconds=3.0,
    interval_triggers=1_000,
    interval_run_seconds=18.0,
    pgbench_seconds=2.0,
    steady_seconds=60.0,
    steady_hour_events=180_000,
    delivery_drain=5_000,
    delivery_latency_seconds=10.0,
    scale_triggers=300,
    scale_window_seconds=60.0,
    scale_fire_rate=20.0,
    burst_triggers=10_000,
)
