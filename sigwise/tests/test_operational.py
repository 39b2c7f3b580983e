from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_ping_answers_pong(client) -> None:
    response = client.get("/ping")
    assert response.status_code == 200
    assert response.json() == {"ping": "pong"}


@pytest.mark.django_db
def test_healthz_reports_ok_when_the_database_answers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_healthz_reports_503_when_the_database_cannot_be_reached(client) -> None:
    saved = dict(connection.settings_dict)
    connection.close()
    # Point the connection at a port where nothing listens: a real failed connect.
    connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_openapi_schema_and_swagger_ui_are_served(client, db) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


@pytest.mark.django_db
def test_health_endpoints_need_no_sign_in_and_no_trailing_slash(client) -> None:
    for path in ("/healthz", "/healthz/", "/ping", "/ping/"):
        assert client.get(path).status_code == 200, path


@pytest.mark.django_db
def test_health_endpoints_answer_plain_http_when_https_is_enforced(client, settings) -> None:
    # A container or load-balancer health probe speaks plain HTTP to the app itself.
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/ping").status_code == 200
    assert client.get("/auth/login").status_code == 301


@pytest.mark.django_db
def test_a_request_body_over_the_limit_is_refused_with_413_and_changes_nothing(client, settings) -> None:
    from accounts.models import User

    body = '{"email": "ada@example.com", "password": "' + "x" * settings.REQUEST_BODY_MAX_BYTES + '"}'

    response = client.post("/api/v1/auth/register", body, content_type="application/json")

    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert not User.objects.exists()
