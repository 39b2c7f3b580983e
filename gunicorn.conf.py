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
