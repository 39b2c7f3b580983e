"""The Prometheus metrics Sigwise's own code records (docs/operations.md lists them all).

Every process records into prometheus-client's default registry. With
``PROMETHEUS_MULTIPROC_DIR`` set, each process writes its values to memory-mapped files
in that directory and ``/metrics`` adds up every process's files: gunicorn's workers, the
scheduler and the delivery workers. A process is named by host and pid in those files,
so processes in several containers can share one directory without two of them writing
the same file. The gauges that are a database read (backlog, due triggers, rollup lag)
are not here: ``monitoring.collectors`` reads them once per scrape.

Recording a value is a lock and a write to mapped memory, under a microsecond; the hot
paths bind their label values once, at import.
"""

from __future__ import annotations

import os
import socket

from prometheus_client import Counter, Histogram, values

MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


# Read once: prometheus-client asks for the identifier on every increment (to notice a fork).
_HOST = socket.gethostname().replace("_", "-") or "host"


def process_identifier(pid: int | None = None) -> str:
    """This process's name in the multi-process files: host and pid (no ``_``, which the
    reader splits file names on)."""
    return f"{_HOST}-{pid if pid is not None else os.getpid()}"


if os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE):
    # Every metric created after this line uses it; this module is imported when the apps
    # load (monitoring's AppConfig), before any metric exists.
    values.ValueClass = values.MultiProcessValue(process_identifier)


# Seconds: from a few milliseconds (the dispatcher's normal lateness) to an hour behind.
LATENESS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

# The usual HTTP metrics, kept to two series per view: django-prometheus records about a
# dozen values a request, several times this middleware's cost on the fire path.
HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests answered, by method, view and status code.", ["method", "view", "status"]
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the first middleware to the response, by method and view.",
    ["method", "view"],
    buckets=DURATION_BUCKETS,
)

FIRINGS = Counter("sigwise_firings", "Events written by firing a trigger, by source.", ["source"])
SCHEDULED_FIRINGS = FIRINGS.labels(source="scheduled")
API_FIRINGS = FIRINGS.labels(source="api")
TEST_FIRINGS = FIRINGS.labels(source="test")

DISPATCH_LATENESS = Histogram(
    "sigwise_dispatch_lateness_seconds",
    "How late each scheduled slot fired: fired_at minus the slot.",
    buckets=LATENESS_BUCKETS,
)
DISPATCH_BATCH_DURATION = Histogram(
    "sigwise_dispatch_batch_duration_seconds",
    "Time to claim, fire and advance one batch of due triggers (one transaction).",
    buckets=DURATION_BUCKETS,
)

LIFECYCLE_PASS_DURATION = Histogram(
    "sigwise_lifecycle_pass_duration_seconds",
    "Time one pass of an event-log lifecycle job took (archive, delete, rollup).",
    ["pass"],
    buckets=DURATION_BUCKETS,
)
LIFECYCLE_ROWS = Counter(
    "sigwise_lifecycle_rows",
    "Rows the lifecycle passes changed: events archived or deleted, trigger-hours rolled up.",
    ["pass"],
)

DELIVERIES = Counter(
    "sigwise_deliveries",
    "Delivery attempts recorded, by outcome (delivered, retrying, failed, rejected).",
    ["outcome"],
)
DELIVERY_LATENCY = Histogram(
    "sigwise_delivery_latency_seconds",
    "From the event's firing to its delivery's successful attempt.",
    buckets=LATENESS_BUCKETS,
)
