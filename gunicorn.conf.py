"""gunicorn settings for Sigwise (read by `make run`, the Docker image and `make bench`).

Sync workers, one per core plus one by default (3 on the 2-core benchmark machine).
Every request is a few short PostgreSQL round trips and CPU-bound Python, so on a
small machine processes, not threads, use the cores: measured with `make bench`'s fire
scenario (32 clients, docs/benchmarks.md), sync workers served 800-825 req/s with 2 or 3
processes and fewer with more (4: 685, 5: 626, each a process competing for the same
two cores), while gthread lost to the GIL (2 x 4 threads: 568, 3 x 4: 731, 4 x 2: 704).
Sync workers close the connection after each answer; put a proxy in front of them for
slow or keep-alive clients (nginx, or the load balancer). WEB_CONCURRENCY and
GUNICORN_THREADS override the defaults (threads > 1 selects gthread).
"""

from __future__ import annotations

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread" if threads > 1 else "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# Keep each worker's memory in check on a long-running deployment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = 1000
