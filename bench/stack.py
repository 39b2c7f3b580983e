"""The system under test: a PostgreSQL database of the benchmark's own, gunicorn, the scheduler.

The benchmark never writes into the database a developer works in. With
``DATABASE_URL`` it creates ``<name>_bench`` on the same server; without it, it
starts the embedded PostgreSQL (``pgserver``, data in ``.data/``, as ``make run``
does) and creates ``sigwise_bench`` there. The database is dropped and created
afresh at every run so runs are comparable.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Database:
    url: str  # DATABASE_URL for every process of the benchmark
    name: str
    conninfo: dict[str, str]  # libpq keywords (host, port, user, dbname) for psycopg and pgbench
    server_version: str = ""
    embedded: bool = False

    def connect(self, *, dbname: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        params = {**self.conninfo, "dbname": dbname or self.name}
        return psycopg.connect(**params, autocommit=autocommit)


def prepare_database() -> Database:
    """Create (afresh) the benchmark's database and return how to reach it."""
    given = os.environ.get("DATABASE_URL", "").strip()
    if given:
        parts = urlsplit(given)
        base_name = parts.path.lstrip("/") or "postgres"
        name = f"{base_name}_bench"
        conninfo = {
            "host": parts.hostname or "127.0.0.1",
            "port": str(parts.port or 5432),
            "user": parts.username or "postgres",
        }
        if parts.password:
            conninfo["password"] = parts.password
        url = urlunsplit(parts._replace(path=f"/{name}"))
        embedded = False
    else:
        import pgserver

        data_dir = Path(os.environ.get("SIGWISE_DATA_DIR", str(ROOT / ".data")))
        data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(data_dir / "pgdata", cleanup_mode=None)
        socket_dir = str(server.get_postmaster_info().socket_dir)
        name = "sigwise_bench"
        conninfo = {"host": socket_dir, "user": "postgres"}
        url = f"postgresql://postgres@{quote(socket_dir, safe='')}/{name}"
        embedded = True
    database = Database(url=url, name=name, conninfo=conninfo, embedded=embedded)
    with database.connect(dbname="postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        database.server_version = admin.execute("SHOW server_version").fetchone()[0]
    return database


def production_environment(database: Database, *, port: int) -> dict[str, str]:
    """The environment of every process: production settings, plain HTTP on loopback."""
    environment = dict(os.environ)
    environment.update(
        {
            "DATABASE_URL": database.url,
            "DJANGO_SETTINGS_MODULE": "sigwise.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            # Plain HTTP on 127.0.0.1: no TLS redirect, no secure-only cookies, no HSTS.
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            # One line per request to a pipe would cost the server CPU the benchmark measures.
            "GUNICORN_ACCESS_LOG": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environment


@dataclass
class Processes:
    environment: dict[str, str]
    log_dir: Path
    port: int
    running: dict[str, subprocess.Popen] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *arguments: str) -> subprocess.CompletedProcess:
        completed = subprocess.run(  # noqa: S603
            [PYTHON, str(ROOT / "manage.py"), *arguments],
            cwd=ROOT,
            env=self.environment,
            check=False,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(arguments)} failed:\n{completed.stdout}{completed.stderr}")
        return completed

    def _start(self, name: str, command: list[str], extra: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(log)
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env={**self.environment, **(extra or {})}, stdout=log, stderr=subprocess.STDOUT
        )
        self.running[name] = process
        return process

    def start_web(self) -> None:
        self._start(
            "web",
            [PYTHON, "-m", "gunicorn", "sigwise.wsgi", "--config", str(ROOT / "gunicorn.conf.py")],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.running["web"].poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_dir / 'web.log'}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within 60 s; see {self.log_dir / 'web.log'}")

    def start_scheduler(self) -> None:
        self._start("scheduler", [PYTHON, str(ROOT / "manage.py"), "runscheduler"], {"PGAPPNAME": "sigwise-scheduler"})
        time.sleep(1.0)
        if self.running["scheduler"].poll() is not None:
            raise RuntimeError(f"the scheduler exited; see {self.log_dir / 'scheduler.log'}")

    def stop(self, name: str) -> None:
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)
        for log in self._logs:
            log.close()


def pgbench_binary() -> str:
    """pgbench from the embedded PostgreSQL package (always installed), else the machine's."""
    try:
        import pgserver._commands as commands

        candidate = Path(commands.POSTGRES_BIN_PATH) / "pgbench"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("pgbench")
    if found:
        return found
    raise RuntimeError("pgbench not found (neither in the pgserver package nor on PATH)")
