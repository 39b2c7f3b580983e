"""gunicorn settings for Sigwise (read by `make run`, the Docker image and `make bench`).

Sync workers, one per core plus one by default: every request does a few short
PostgreSQL round-trips and no long I/O, so processes (not threads) use both cores
without contending on the GIL. Override with WEB_CONCURRENCY / GUNICORN_THREADS.
"""

from __future__ import annotations

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# Keep each worker's memory in check on a long-running deployment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = 1000
