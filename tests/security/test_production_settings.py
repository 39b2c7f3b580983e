"""Production settings, as a deployment gets them from its environment: cookies and `check --deploy`.

Settings are read once at import, so production values are loaded in a child process with
``DJANGO_DEBUG=false``; the cookies a real response sets are then checked in-process under
exactly those values.
"""

from __future__ import annotations

import json
from http.cookies import Morsel

import pytest
from django.test import Client, override_settings

from accounts.models import User
from tests.support import PASSWORD, production_environment, run_manage, run_python

COOKIE_SETTINGS = [
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_NAME",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "CSRF_COOKIE_NAME",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
]

READ_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings; "
    f"print(json.dumps({{name: getattr(settings, name) for name in {COOKIE_SETTINGS!r}}}))"
)


@pytest.fixture(scope="module")
def production_settings(django_db_setup, django_db_blocker) -> dict[str, object]:
    with django_db_blocker.unblock():
        environment = production_environment(DJANGO_SETTINGS_MODULE="sigwise.settings")
    result = run_python(READ_SETTINGS, environment=environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_marks_production_cookies_secure_httponly_and_samesite_lax(production_settings: dict) -> None:
    assert production_settings["DEBUG"] is False
    assert production_settings["SESSION_COOKIE_SECURE"] is True
    assert production_settings["SESSION_COOKIE_HTTPONLY"] is True
    assert production_settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert production_settings["CSRF_COOKIE_SECURE"] is True
    assert production_settings["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert production_settings["SECURE_SSL_REDIRECT"] is True
    assert production_settings["SECURE_HSTS_SECONDS"] > 0


def _cookie_flags(morsel: Morsel) -> dict[str, object]:
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}


@pytest.mark.django_db
def test_a_real_sign_in_sets_cookies_with_the_production_flags(production_settings: dict) -> None:
    User.objects.create_user(email="cookie@example.com", password=PASSWORD)
    overrides = {name: production_settings[name] for name in COOKIE_SETTINGS if name != "DEBUG"}
    with override_settings(**overrides):
        client = Client(enforce_csrf_checks=True)
        # Over plain HTTP production redirects to HTTPS before any cookie is set.
        insecure = client.get("/auth/login")
        assert insecure.status_code == 301
        assert insecure["Location"].startswith("https://")

        form = client.get("/auth/login", secure=True)
        assert form.status_code == 200
        csrf_name = production_settings["CSRF_COOKIE_NAME"]
        csrf_cookie = form.cookies[csrf_name]
        assert _cookie_flags(csrf_cookie) == {
            "secure": True,
            "httponly": production_settings["CSRF_COOKIE_HTTPONLY"],
            "samesite": "Lax",
        }

        signed_in = client.post(
            "/auth/login",
            {"username": "cookie@example.com", "password": PASSWORD, "csrfmiddlewaretoken": csrf_cookie.value},
            secure=True,
            headers={"Referer": "https://testserver/auth/login"},
        )
        assert signed_in.status_code == 302, signed_in.content[:500]
        session_cookie = signed_in.cookies[production_settings["SESSION_COOKIE_NAME"]]
        assert _cookie_flags(session_cookie) == {"secure": True, "httponly": True, "samesite": "Lax"}
        header = session_cookie.OutputString()
        for attribute in ("Secure", "HttpOnly", "SameSite=Lax"):
            assert attribute in header


@pytest.mark.django_db
def test_check_deploy_is_clean_under_production_settings() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", environment=production_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
def test_production_refuses_to_start_with_the_development_secret_key() -> None:
    environment = production_environment()
    environment.pop("DJANGO_SECRET_KEY")
    result = run_manage("check", environment=environment)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
