"""CPU per API fire inside the Django process, without the network (docs/benchmarks.md, "Profiling").

Calls the WSGI application itself, the way gunicorn does, with production settings
(``DJANGO_DEBUG=false``) and the benchmark's request (JSON body, Bearer token), against
the database ``DATABASE_URL`` names (migrated; the script adds a user and a trigger):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigwise_fire \\
        .venv/bin/python -m bench.fire_cpu --requests 3000 [--profile fire.prof]

It prints the process CPU time per request (``time.process_time``), which includes the
psycopg client's work but not PostgreSQL's. Run it a few times: the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import secrets
import sys
import time
from typing import Any


def _production_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigwise.settings")
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(64))
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        os.environ[name] = "false"
    os.environ["SECURE_HSTS_SECONDS"] = "0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--profile", help="write a cProfile of the measured requests to this file")
    parser.add_argument("--top", type=int, default=0, help="print the top N functions (CPU time)")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key for --top (cumulative, tottime)")
    arguments = parser.parse_args(argv)

    _production_environment()
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from triggers.services import trigger_create

    user, _ = User.objects.get_or_create(email="fire-cpu@example.com")
    trigger = trigger_create(owner=user, values={"name": "fire cpu", "type": "api", "api_payload": {"a": 1}})
    token = str(AccessToken.for_user(user))
    application = get_wsgi_application()
    body = json.dumps({"order": 1234, "status": "paid", "amount": "19.99"}).encode()
    path = f"/api/v1/triggers/{trigger.id}/fire"
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def fire() -> None:
        environ = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8091",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8091",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "HTTP_ACCEPT": "application/json",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        response = application(environ, start_response)
        b"".join(response)
        response.close()

    for _ in range(arguments.warmup):
        fire()
    statuses.clear()
    profiler = cProfile.Profile(time.process_time) if arguments.profile or arguments.top else None
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    # Through itertools.starmap, so that `valgrind --tool=callgrind --collect-atstart=no
    # --toggle-collect=starmap_next` counts the instructions of exactly these requests.
    for _ in itertools.starmap(fire, itertools.repeat((), arguments.requests)):
        pass
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    print(
        f"{arguments.requests} fires: CPU {cpu / arguments.requests * 1e3:.3f} ms/request, "
        f"wall {wall / arguments.requests * 1e3:.3f} ms/request, statuses {statuses}"
    )
    if profiler:
        if arguments.profile:
            profiler.dump_stats(arguments.profile)
        if arguments.top:
            import pstats

            pstats.Stats(profiler).sort_stats(arguments.sort).print_stats(arguments.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
