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
