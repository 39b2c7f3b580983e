"""The embedded PostgreSQL used when ``DATABASE_URL`` is not set.

A developer's first ``make run`` or ``make test`` needs nothing but Python: the
``pgserver`` package ships PostgreSQL binaries, and its data lives in ``.data/``.
The server is left running when a process exits (``cleanup_mode=None``) so the web
server, the scheduler and later commands all share one server and its data; every
process calls :func:`embedded_database` and ``pgserver`` starts the server only when
it is not already running (it serialises that with a file lock).
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

DATABASE_NAME = "sigwise"

# pgserver keeps its lock under platformdirs' runtime directory, which warns on every start
# when XDG_RUNTIME_DIR is unset (servers, containers) and falls back to /tmp/runtime-<uid>.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def embedded_database(data_dir: Path) -> dict[str, Any]:
    import pgserver
    import psycopg

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "pgdata", cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            # Another process (web or scheduler) may have created it a moment ago.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
    }


def stop_embedded_database(data_dir: Path) -> bool:
    """Stop the embedded server kept in ``data_dir`` (``make db-stop``); True if one was running."""
    import os

    import pgserver

    pgdata = data_dir / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    # As root, pgserver runs PostgreSQL as its own "pgserver" user; pg_ctl must run as that user too.
    pgserver.pg_ctl(["-w", "stop"], pgdata=pgdata, user="pgserver" if os.geteuid() == 0 else None)
    return True
