"""The closed input serializers: the schema says what the API enforces."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_the_schema_closes_the_bodies_the_api_closes(client: Client) -> None:
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    for name in ("TriggerInputRequest", "PatchedTriggerInputRequest", "RegisterInputRequest", "ApiKeyInputRequest"):
        assert schemas[name]["additionalProperties"] is False, name
