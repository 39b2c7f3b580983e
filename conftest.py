"""Shared fixtures: an owner, a second user who must never see the owner's data, and an
authenticated API client for each."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user(email="owner@example.com", password=PASSWORD)


@pytest.fixture
def other_user(db) -> User:
    return User.objects.create_user(email="intruder@example.com", password=PASSWORD)


def bearer_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def api(owner: User) -> APIClient:
    """The owner's API client, authenticated with a real access token."""
    return bearer_client(owner)


@pytest.fixture
def other_api(other_user: User) -> APIClient:
    return bearer_client(other_user)


@pytest.fixture(autouse=True)
def _fresh_cache(request: pytest.FixtureRequest) -> None:
    """Throttling counters live in the shared cache; each test that reaches the database
    starts from zero. Tests without database access are left alone."""
    uses_db = request.node.get_closest_marker("django_db") is not None or {"db", "transactional_db"} & set(
        request.fixturenames
    )
    if uses_db:
        from django.core.cache import cache

        request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
        cache.clear()
