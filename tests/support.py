"""Helpers shared by the proof layers (browser, fuzz, security): no fixtures, plain functions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db import connection

REPOSITORY = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def test_database_url() -> str:
    """A DATABASE_URL naming the database this test process is using (the test database).

    Built from the live connection settings, so a child process (the scheduler, ``manage.py
    check``) reads and writes the very rows the test sees. A socket directory (embedded
    PostgreSQL) is percent-encoded as the host, which dj-database-url understands.
    """
    settings = connection.settings_dict
    user = quote(settings.get("USER") or "", safe="")
    password = settings.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = quote(settings.get("HOST") or "", safe="")
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{quote(settings['NAME'], safe='')}"


test_database_url.__test__ = False  # a helper, not a test, despite its name


def production_environment(**extra: str) -> dict[str, str]:
    """The environment a production deployment runs with: DEBUG off, a real secret, a real host."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="proof-layer-" + "k" * 40 + "-not-a-development-default",
        DJANGO_ALLOWED_HOSTS="sigwise.example.com",
        DATABASE_URL=test_database_url(),
    )
    environment.update(extra)
    return environment


def run_manage(*arguments: str, environment: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "manage.py", *arguments],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_python(code: str, *, environment: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-c", code],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def contains_any(body: bytes | str, needles: list[str]) -> list[Any]:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return [needle for needle in needles if needle and needle.lower() in text.lower()]
