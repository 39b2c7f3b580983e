"""The OpenAPI schema behind /docs, as a reader of Swagger UI meets it."""

from __future__ import annotations

import json

import pytest
from django.test import Client


@pytest.fixture
def schema(client: Client, db: None) -> dict:
    return json.loads(client.get("/api/schema?format=json").content)


def test_the_auth_routes_are_tagged_by_what_they_are_about(schema: dict) -> None:
    tags = {path: operation["tags"] for path, item in schema["paths"].items() for operation in item.values()}

    assert tags["/api/v1/auth/token/"] == ["auth"]
    assert tags["/api/v1/auth/password/"] == ["account"]
    assert all("api" not in names for names in tags.values())
    assert {tag["name"] for tag in schema["tags"]} >= {name for names in tags.values() for name in names}


def test_no_description_speaks_of_the_seed(schema: dict) -> None:
    assert "seed" not in json.dumps(schema)


def test_the_docs_link_back_to_the_app(schema: dict) -> None:
    assert schema["externalDocs"]["url"] == "/"
    assert "[Back to the app](/)" in schema["info"]["description"]
