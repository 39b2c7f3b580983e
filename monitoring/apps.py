from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # Before any metric is created: it selects multi-process storage (core/metrics.py).
        import core.metrics  # noqa: F401
