"""The gauges that are a database read, computed once per scrape by the process that
answers ``/metrics`` (not kept up to date by every process)."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.timezone import now
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitoring import selectors


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        at = now()
        up = selectors.database_answers()
        yield GaugeMetricFamily("sigwise_database_up", "1 when the database answered this scrape.", value=int(up))
        if not up:
            return
        due = selectors.triggers_due_backlog(at=at)
        yield GaugeMetricFamily(
            "sigwise_triggers_due", "Scheduled slots due and not yet fired (active owners).", value=due.count
        )
        yield GaugeMetricFamily(
            "sigwise_triggers_oldest_due_seconds", "How late the oldest unfired due slot is.", value=due.oldest_seconds
        )
        backlog = selectors.deliveries_backlog(at=at)
        yield GaugeMetricFamily(
            "sigwise_deliveries_backlog", "Deliveries due to be sent and not yet claimed.", value=backlog.count
        )
        yield GaugeMetricFamily(
            "sigwise_deliveries_oldest_due_seconds",
            "How long the oldest due delivery has waited.",
            value=backlog.oldest_seconds,
        )
        lag = selectors.rollup_lag_seconds(at=at)
        if lag is not None:
            yield GaugeMetricFamily(
                "sigwise_rollup_lag_seconds", "How far the hourly event counts are behind now.", value=lag
            )
        running = GaugeMetricFamily(
            "sigwise_processes_running", "Processes that beat within the last 30 s, by kind.", labels=["kind"]
        )
        silence = GaugeMetricFamily(
            "sigwise_heartbeat_age_seconds", "Seconds since the newest heartbeat of a kind.", labels=["kind"]
        )
        for kind, (count, seconds) in selectors.heartbeats_by_kind(at=at).items():
            running.add_metric([kind], count)
            if seconds is not None:
                silence.add_metric([kind], seconds)
        yield running
        yield silence
