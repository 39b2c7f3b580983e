"""gunicorn settings for Sigwise (read by `make run`, the Docker image and `make bench`).

gthread workers, one process per core plus one (3 on a 2-core machine), each with 12
threads. A sync worker reads a request's headers itself, so a few clients that open a
connection and never finish their headers (slowloris) held every worker and stopped the
app; with threads, such a client holds one thread and the others keep serving. Every
request is a few short PostgreSQL round trips and CPU-bound Python, so the processes,
not the threads, use the cores; the threads mostly wait on slow clients or the database.
What was measured (the fire rate against sync workers, the slow-client test) is in
docs/benchmarks.md. Still put a buffering proxy (nginx, the load balancer) in front on
the internet: 12 threads a worker bound how many slow clients each one absorbs.
WEB_CONCURRENCY, GUNICORN_THREADS and GUNICORN_WORKER_CLASS override the defaults.
"""

from __future__ import annotations

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "12"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread" if threads > 1 else "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# Keep each worker's memory in check on a long-running deployment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = 1000


def post_worker_init(worker: object) -> None:
    """Import the URLconf (views, DRF, the schema code) before serving, so no client's
    request pays for the import that Django would otherwise do on a worker's first request."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


def child_exit(server: object, worker: object) -> None:
    """In multi-process metrics mode, drop an exited worker's live gauges (prometheus-client
    keeps its counters, so totals never go back)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        from core.metrics import process_identifier

        multiprocess.mark_process_dead(process_identifier(worker.pid))


if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    # gunicorn's own lines (start-up, worker deaths, the access log) as JSON too, with the
    # request id the app returned.
    access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(process)d %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
                "timestamp": "time",
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
