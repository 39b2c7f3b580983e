from __future__ import annotations

import pytest

from accounts.models import User


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"email": "nul\\u0000@example.com", "password": "correct-horse-9"}',
        '{"email": "a@example.com", "password": "\\ud800"}',
        '{"email": "a@example.com", "password": 1e400}',
    ],
    ids=["nested-too-deep", "nul-character", "unpaired-surrogate", "infinite-number"],
)
def test_every_json_endpoint_refuses_bodies_postgres_cannot_store_with_400(client, body: str) -> None:
    response = client.post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert User.objects.count() == 0
