"""Keys that sign sessions and tokens: production checks both, development writes none in the source."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import stat
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import REPOSITORY, production_environment, run_manage, run_python

READ_KEYS = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.SECRET_KEY); print(settings.SIMPLE_JWT['SIGNING_KEY'])"
)
# The key the source used to carry for debug instances: anyone could forge with it.
FORMER_SOURCE_KEY = "django-insecure-sigwise-development-only-never-use-in-production"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key",
    [
        pytest.param("too-short-for-a-signing-key", id="short"),
        pytest.param("django-insecure-" + "a1b2c3d4e5" * 5, id="django-insecure"),
        pytest.param("change-me-" + "x9y8z7w6v5" * 5, id="placeholder"),
        pytest.param("ab" * 30, id="few-distinct-characters"),
    ],
)
def test_production_refuses_a_weak_jwt_signing_key(key: str) -> None:
    result = run_manage("check", environment=production_environment(JWT_SIGNING_KEY=key))

    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stderr


@pytest.mark.django_db
def test_production_accepts_a_random_jwt_signing_key() -> None:
    environment = production_environment(JWT_SIGNING_KEY="Zq8v2LkP9rT4wXy7Bn3Mc6Hd1Gf5Js0Ae-Ku8Vt2Pq7Rx4Wz9Ly3")
    result = run_manage("check", environment=environment)

    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_a_debug_instance_without_a_secret_key_makes_its_own_once_and_keeps_it(tmp_path: Path) -> None:
    environment = production_environment(
        DJANGO_DEBUG="true", DJANGO_SETTINGS_MODULE="sigwise.settings", SIGWISE_DATA_DIR=str(tmp_path)
    )
    del environment["DJANGO_SECRET_KEY"]

    first = run_python(READ_KEYS, environment=environment)
    second = run_python(READ_KEYS, environment=environment)

    assert first.returncode == 0, first.stderr
    secret_key, signing_key = first.stdout.split()
    assert (secret_key, signing_key) == tuple(second.stdout.split())  # kept across restarts
    assert secret_key == signing_key
    assert len(secret_key) >= 50
    assert secret_key != FORMER_SOURCE_KEY
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Another installation gets another key.
    other = tmp_path / "other"
    environment["SIGWISE_DATA_DIR"] = str(other)
    assert run_python(READ_KEYS, environment=environment).stdout.split()[0] != secret_key


def test_no_signing_key_is_written_in_the_settings() -> None:
    source = (REPOSITORY / "sigwise" / "settings.py").read_text()
    assert "django-insecure" not in source


def test_the_data_folder_is_git_ignored() -> None:
    assert ".data/" in (REPOSITORY / ".gitignore").read_text().split()


def _run_script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("sigwise_bin_run", str(REPOSITORY / "bin" / "run"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("debug", "host", "warned"),
    [
        ("true", "0.0.0.0", True),  # noqa: S104 (the host under test, not a binding)
        ("true", "192.168.1.20", True),
        ("true", "sigwise.example.com", True),
        ("true", "::", True),
        ("true", "127.0.0.1", False),
        ("true", "localhost", False),
        ("true", "[::1]", False),
        ("false", "0.0.0.0", False),  # noqa: S104
    ],
)
def test_make_run_warns_loudly_when_debug_is_on_and_the_host_is_not_loopback(
    monkeypatch: pytest.MonkeyPatch, debug: str, host: str, warned: bool
) -> None:
    monkeypatch.setenv("DJANGO_DEBUG", debug)
    warning = _run_script().exposure_warning(host)

    assert (warning is not None) is warned
    if warned:
        assert "DEBUG IS ON" in warning
        assert host in warning


def test_make_db_stop_looks_in_sigwise_data_dir(tmp_path: Path) -> None:
    # A data folder whose server "runs" (a stale pid file): db-stop must look there, and
    # try to stop it, rather than report on the default .data/.
    (tmp_path / "pgdata").mkdir()
    (tmp_path / "pgdata" / "postmaster.pid").write_text("999999\n")
    environment = {**os.environ, "SIGWISE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        ["make", "-s", "db-stop"], cwd=REPOSITORY, env=environment, capture_output=True, text=True, check=False
    )
    assert "was not running" not in result.stdout
    assert result.returncode != 0  # pg_ctl finds no such server: the folder given was the one used

    (tmp_path / "pgdata" / "postmaster.pid").unlink()
    result = subprocess.run(
        ["make", "-s", "db-stop"], cwd=REPOSITORY, env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Embedded PostgreSQL was not running." in result.stdout
