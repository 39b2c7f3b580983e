"""Shared fixtures: an owner, a second user who must never see the owner's data, an
authenticated API client and a signed-in browser for each, an operator, and a frozen clock.
The factories they use are in ``tests/support.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.support import NOW, PASSWORD, bearer_client, signed_in


def pytest_configure() -> None:
    """PBKDF2's deliberate slowness would dominate the suite's time; no test checks which
    algorithm hashed a password, only that the stored hash never leaks."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user(email="owner@example.com", password=PASSWORD)


@pytest.fixture
def other_user(db) -> User:
    return User.objects.create_user(email="intruder@example.com", password=PASSWORD)


@pytest.fixture
def anonymous() -> APIClient:
    """An API client without credentials."""
    return APIClient()


@pytest.fixture
def api(owner: User) -> APIClient:
    """The owner's API client, authenticated with a real access token."""
    return bearer_client(owner)


@pytest.fixture
def other_api(other_user: User) -> APIClient:
    return bearer_client(other_user)


@pytest.fixture
def browser(owner: User) -> Client:
    """The owner's browser, signed in."""
    return signed_in(owner)


@pytest.fixture
def other_browser(other_user: User) -> Client:
    return signed_in(other_user)


@pytest.fixture
def operator(db: None) -> Client:
    """A superuser's browser, signed in to the admin."""
    user = User.objects.create_superuser(email="operator@example.com", password=None)
    return signed_in(user)


@pytest.fixture
def frozen_clock() -> Iterator[time_machine.Traveller]:
    """The clock stopped at ``tests.support.NOW``; a test moves it with ``shift`` or ``move_to``."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


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
