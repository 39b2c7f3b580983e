"""Settings come from the environment and fail loudly on values they cannot use."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from sigwise.env import env_bool, env_int, env_list, env_rate, env_str, env_timezone

BASE_DIR = Path(__file__).resolve().parents[2]

# --- The helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("", False),
    ],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("SIGWISE_TEST_FLAG", raw)

    assert env_bool("SIGWISE_TEST_FLAG", not expected) is expected


def test_env_bool_uses_the_default_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGWISE_TEST_FLAG", raising=False)

    assert env_bool("SIGWISE_TEST_FLAG", True) is True


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "enabled"])
def test_env_bool_refuses_anything_else(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("SIGWISE_TEST_FLAG", raw)

    with pytest.raises(ImproperlyConfigured, match="SIGWISE_TEST_FLAG must be one of true/false"):
        env_bool("SIGWISE_TEST_FLAG", False)


def test_env_int_reads_a_whole_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGWISE_TEST_NUMBER", "42")

    assert env_int("SIGWISE_TEST_NUMBER", 7, minimum=1) == 42


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_env_int_uses_the_default_when_unset_or_blank(monkeypatch: pytest.MonkeyPatch, raw: str | None) -> None:
    if raw is None:
        monkeypatch.delenv("SIGWISE_TEST_NUMBER", raising=False)
    else:
        monkeypatch.setenv("SIGWISE_TEST_NUMBER", raw)

    assert env_int("SIGWISE_TEST_NUMBER", 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "15m", "0x10"])
def test_env_int_refuses_what_is_not_a_whole_number(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("SIGWISE_TEST_NUMBER", raw)

    with pytest.raises(ImproperlyConfigured, match="SIGWISE_TEST_NUMBER must be a whole number"):
        env_int("SIGWISE_TEST_NUMBER", 7)


def test_env_int_refuses_a_number_below_its_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGWISE_TEST_NUMBER", "0")

    with pytest.raises(ImproperlyConfigured, match="SIGWISE_TEST_NUMBER must be at least 1, not 0"):
        env_int("SIGWISE_TEST_NUMBER", 7, minimum=1)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGWISE_TEST_LIST", " a.example.com, ,b.example.com,")

    assert env_list("SIGWISE_TEST_LIST", ["default"]) == ["a.example.com", "b.example.com"]


def test_env_list_and_env_str_use_their_defaults_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGWISE_TEST_LIST", raising=False)

    assert env_list("SIGWISE_TEST_LIST", ["default"]) == ["default"]
    assert env_str("SIGWISE_TEST_LIST", "fallback") == "fallback"


def test_env_timezone_accepts_an_iana_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGWISE_TEST_ZONE", "Europe/Berlin")

    assert env_timezone("SIGWISE_TEST_ZONE", "UTC") == "Europe/Berlin"


@pytest.mark.parametrize("raw", ["IST", "Asia/Bangalore", "", "../etc/passwd"])
def test_env_timezone_refuses_what_is_not_an_iana_name(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("SIGWISE_TEST_ZONE", raw)

    with pytest.raises(ImproperlyConfigured, match="SIGWISE_TEST_ZONE must be an IANA time zone name"):
        env_timezone("SIGWISE_TEST_ZONE", "UTC")


def test_the_project_keeps_time_in_utc_and_shows_india_time_by_default(settings) -> None:
    assert settings.TIME_ZONE == "UTC"
    assert settings.USE_TZ is True
    assert settings.DEFAULT_USER_TIMEZONE == "Asia/Kolkata"


# --- The whole settings module, in a fresh process -------------------------------------------


def production_env(**overrides: str) -> dict[str, str]:
    """The current environment with production-like settings.

    DATABASE_URL points at a port where nothing listens: checking settings must not
    need a database (and must not start the embedded one).
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "SECURE_"))}
    env.update(
        DATABASE_URL="postgres://postgres@127.0.0.1:1/sigwise_settings_check",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_ALLOWED_HOSTS="sigwise.example.com",
    )
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def manage(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_deploy_check_passes_with_production_like_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def without(env: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in env.items() if key != name}


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("django-insecure-sigwise-development-only-never-use-in-production", id="development"),
        pytest.param("short-but-random-Qx7", id="too-short"),
    ],
)
def test_with_debug_off_the_app_refuses_to_start_without_a_real_secret(secret: str | None) -> None:
    env = production_env()
    env = without(env, "DJANGO_SECRET_KEY") if secret is None else {**env, "DJANGO_SECRET_KEY": secret}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set to a random value" in result.stderr


def test_with_debug_on_the_development_secret_is_allowed() -> None:
    env = without(production_env(DJANGO_DEBUG="true"), "DJANGO_SECRET_KEY")

    result = manage("check", env=env)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DJANGO_DEBUG", "sometimes", "DJANGO_DEBUG must be one of true/false"),
        ("JWT_ACCESS_LIFETIME_SECONDS", "15 minutes", "JWT_ACCESS_LIFETIME_SECONDS must be a whole number"),
        ("JWT_REFRESH_LIFETIME_SECONDS", "0", "JWT_REFRESH_LIFETIME_SECONDS must be at least 1"),
        ("LOGIN_FAILURE_LIMIT", "-3", "LOGIN_FAILURE_LIMIT must be at least 1"),
        ("SIGWISE_DEFAULT_TIMEZONE", "IST", "SIGWISE_DEFAULT_TIMEZONE must be an IANA time zone name"),
        ("SESSION_COOKIE_SECURE", "maybe", "SESSION_COOKIE_SECURE must be one of true/false"),
        ("DATABASE_URL", "mysql://root@localhost/sigwise", "DATABASE_URL must point at PostgreSQL"),
        ("EVENT_LOG_DELETE_AFTER_SECONDS", "3600", "EVENT_LOG_DELETE_AFTER_SECONDS must be longer than"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of plain, json"),
        ("PROMETHEUS_MULTIPROC_DIR", "/no/such/directory", "PROMETHEUS_MULTIPROC_DIR must be an existing directory"),
        ("METRICS_TOKEN", "letmein", "METRICS_TOKEN must be a random value of at least 50 characters"),
    ],
)
def test_a_bad_setting_stops_the_app_at_start_up_with_its_name(name: str, value: str, message: str) -> None:
    result = manage("check", env=production_env(**{name: value}))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("raw", ["60/minute", "5/s", "1000/hour", "3/day"])
def test_env_rate_accepts_drf_throttle_rates(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("SIGWISE_TEST_RATE", raw)
    assert env_rate("SIGWISE_TEST_RATE", "1/minute") == raw


@pytest.mark.parametrize("raw", ["60", "sixty/minute", "60/fortnight", "60/", "-1/minute"])
def test_env_rate_refuses_what_throttling_could_not_read(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("SIGWISE_TEST_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="SIGWISE_TEST_RATE"):
        env_rate("SIGWISE_TEST_RATE", "1/minute")


# --- Prepared statements ------------------------------------------------------------------------


@pytest.mark.django_db
def test_parameters_are_bound_by_the_server_and_a_repeated_statement_is_prepared() -> None:
    from django.db import connection

    if not env_bool("DATABASE_PREPARED_STATEMENTS", True):
        pytest.skip("DATABASE_PREPARED_STATEMENTS is off in this environment")

    statement = "SELECT count(*) FROM accounts_user WHERE id > %s AND email <> %s"
    with connection.cursor() as cursor:
        for attempt in range(6):
            cursor.execute(statement, [attempt, "nobody@example.com"])
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]

    assert connection.features.uses_server_side_binding
    assert any("accounts_user WHERE id > $1 AND email <> $2" in text for text in prepared), prepared


@pytest.mark.parametrize(("raw", "expected"), [(None, "True 5"), ("false", "None None")])
def test_database_prepared_statements_switches_binding_and_preparing(raw: str | None, expected: str) -> None:
    env = production_env()
    env = without(env, "DATABASE_PREPARED_STATEMENTS") if raw is None else {**env, "DATABASE_PREPARED_STATEMENTS": raw}
    code = (
        "from django.conf import settings; options = settings.DATABASES['default'].get('OPTIONS', {}); "
        "print(options.get('server_side_binding'), options.get('prepare_threshold'))"
    )

    result = manage("shell", "-c", code, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_email_url_gives_djangos_smtp_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from sigwise.env import env_email

    monkeypatch.setenv("EMAIL_URL", "smtp://mailer%40example.com:p%2Fss@mail.example.com:587?tls=true")
    assert env_email("EMAIL_URL") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer@example.com",
        "EMAIL_HOST_PASSWORD": "p/ss",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
    }
    monkeypatch.setenv("EMAIL_URL", "smtps://relay.example.com")
    assert env_email("EMAIL_URL")["EMAIL_PORT"] == 465
    assert env_email("EMAIL_URL")["EMAIL_USE_SSL"] is True
    monkeypatch.delenv("EMAIL_URL")
    assert env_email("EMAIL_URL") == {}


@pytest.mark.parametrize(
    "value", ["http://mail.example.com", "smtp://", "smtp://host?tls=maybe", "smtp://host?tls=1&ssl=1", "smtp://h:x"]
)
def test_a_bad_email_url_stops_the_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from sigwise.env import env_email

    monkeypatch.setenv("EMAIL_URL", value)
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        env_email("EMAIL_URL")
