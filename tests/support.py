"""Helpers every test module shares: the factories (a trigger, an event, a signed-in
browser) and the child-process helpers of the proof layers. Plain functions; the fixtures
built on them are in the root ``conftest.py``."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db import connection
from django.test import Client
from django.utils.timezone import now
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from eventlogs.models import EventLog
from triggers.models import Trigger
from triggers.services import trigger_create

REPOSITORY = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# Where the ``frozen_clock`` fixture stops time.
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# The password of the ``owner`` and ``other_user`` fixtures.
PASSWORD = "correct-horse-battery-staple"


def signed_in(user: User, **client_options: Any) -> Client:
    """A test browser with ``user``'s session, as after the login page."""
    client = Client(**client_options)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def bearer_client(user: User) -> APIClient:
    """An API client with a real access token of ``user``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def token_pair(email: str = "owner@example.com", password: str = PASSWORD) -> dict[str, str]:
    """An access and a refresh token from the token API, as a client signs in."""
    response = APIClient().post("/api/v1/auth/token", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def make_trigger(owner: User, **values: Any) -> Trigger:
    """A trigger made through the service, as the API and the pages make one: by default a
    scheduled one firing every minute; ``values`` are the API's fields."""
    return trigger_create(
        owner=owner,
        values={
            "name": "Heartbeat",
            "type": "scheduled",
            "schedule_details": {"interval_seconds": 60},
            "api_payload": {},
            "expires_at": None,
            "is_test": False,
            "enabled": True,
            **values,
        },
    )


def make_api_trigger(owner: User, **values: Any) -> Trigger:
    return make_trigger(owner, **{"name": "Webhook", "type": "api", "schedule_details": None, **values})


def build_event(owner: User, **fields: Any) -> EventLog:
    """An unsaved event of an API trigger, fired now; only its snapshot of the trigger is set
    (no trigger row is needed, as for a deleted trigger). ``source="test"`` makes a test event."""
    source = fields.pop("source", EventLog.Source.API)
    values: dict[str, Any] = {
        "owner": owner,
        "trigger_uuid": uuid.uuid4(),
        "trigger_name": "Webhook",
        "trigger_type": "api",
        "source": source,
        "is_test": source == EventLog.Source.TEST,
        "payload": {},
        "fired_at": now(),
        **fields,
    }
    return EventLog(**values)


def make_event(owner: User, **fields: Any) -> EventLog:
    """:func:`build_event`, saved."""
    event = build_event(owner, **fields)
    event.save()
    return event


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


def _run(command: list[str], environment: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_manage(*arguments: str, environment: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return _run([PYTHON, "manage.py", *arguments], environment, timeout)


def run_python(code: str, *, environment: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return _run([PYTHON, "-c", code], environment, timeout)


def contains_any(body: bytes | str, needles: list[str]) -> list[Any]:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return [needle for needle in needles if needle and needle.lower() in text.lower()]
