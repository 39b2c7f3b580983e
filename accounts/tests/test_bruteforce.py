"""Brute-force protection (django-axes) on the login page and the token endpoint.

The LOGIN_FAILURE_LIMIT-th failure for an account, or from one client address across
any accounts, engages the lock and is itself answered with the lock message; further
attempts are refused (even with the right password) until LOGIN_COOLOFF_SECONDS have
passed since the last attempt.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils.timezone import now
from rest_framework.test import APIClient

from accounts.models import User
from conftest import PASSWORD

TOKEN = "/api/v1/auth/token"
LOGIN = "/auth/login"
LOCKED_MESSAGE = "Too many failed sign-in attempts"
ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"


@pytest.fixture
def limit(settings) -> int:
    return settings.AXES_FAILURE_LIMIT


@pytest.fixture
def cooloff(settings) -> timedelta:
    return settings.AXES_COOLOFF_TIME


def api_sign_in(email: str, password: str, address: str) -> object:
    return APIClient().post(TOKEN, {"email": email, "password": password}, format="json", REMOTE_ADDR=address)


def page_sign_in(email: str, password: str, address: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)
    return client, response


def assert_api_locked(response: object) -> None:
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.json()["detail"]
    assert int(response["Retry-After"]) > 0
    assert "access" not in response.json()


def assert_page_locked(client: Client, response: object) -> None:
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session


# --- The token endpoint ------------------------------------------------------------------------


def test_the_api_locks_an_account_after_the_limit_even_for_the_right_password(owner: User, limit: int) -> None:
    for _ in range(limit - 1):
        assert api_sign_in("owner@example.com", "wrong-guess-1234", ATTACKER).status_code == 401
    assert_api_locked(api_sign_in("owner@example.com", "wrong-guess-1234", ATTACKER))

    # From another address and in another letter case: the account itself is locked.
    assert_api_locked(api_sign_in("Owner@Example.com", PASSWORD, ELSEWHERE))


def test_the_api_allows_attempts_below_the_limit(owner: User, limit: int) -> None:
    for _ in range(limit - 1):
        assert api_sign_in(owner.email, "wrong-guess-1234", ATTACKER).status_code == 401

    assert api_sign_in(owner.email, PASSWORD, ATTACKER).status_code == 200


def test_a_successful_sign_in_resets_the_failure_count(owner: User, limit: int) -> None:
    for _ in range(limit - 1):
        api_sign_in(owner.email, "wrong-guess-1234", ATTACKER)
    assert api_sign_in(owner.email, PASSWORD, ATTACKER).status_code == 200

    for _ in range(limit - 1):
        api_sign_in(owner.email, "wrong-guess-1234", ATTACKER)
    assert api_sign_in(owner.email, PASSWORD, ATTACKER).status_code == 200


def test_the_api_locks_a_client_address_that_fails_across_different_accounts(owner: User, limit: int) -> None:
    for number in range(limit - 1):
        assert api_sign_in(f"guess{number}@example.com", "wrong-guess-1234", ATTACKER).status_code == 401
    assert_api_locked(api_sign_in("last-guess@example.com", "wrong-guess-1234", ATTACKER))

    # The owner never failed, but this address did.
    assert_api_locked(api_sign_in(owner.email, PASSWORD, ATTACKER))
    # The owner can still sign in from elsewhere.
    assert api_sign_in(owner.email, PASSWORD, ELSEWHERE).status_code == 200


def test_the_api_lock_still_holds_just_before_the_cool_off_ends(owner: User, limit: int, cooloff: timedelta) -> None:
    with time_machine.travel(now(), tick=False) as traveller:
        for _ in range(limit):
            api_sign_in(owner.email, "wrong-guess-1234", ATTACKER)

        traveller.shift(cooloff - timedelta(seconds=5))
        assert_api_locked(api_sign_in(owner.email, PASSWORD, ELSEWHERE))


def test_the_api_lock_releases_after_the_cool_off(owner: User, limit: int, cooloff: timedelta) -> None:
    with time_machine.travel(now(), tick=False) as traveller:
        for _ in range(limit):
            api_sign_in(owner.email, "wrong-guess-1234", ATTACKER)

        traveller.shift(cooloff + timedelta(seconds=1))
        response = api_sign_in(owner.email, PASSWORD, ATTACKER)

    assert response.status_code == 200
    assert "access" in response.json()


def test_an_attempt_during_the_lock_starts_the_cool_off_again(owner: User, limit: int, cooloff: timedelta) -> None:
    # django-axes' default (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT): an attacker who
    # keeps guessing stays locked out; Retry-After (the whole cool-off) is therefore exact.
    with time_machine.travel(now(), tick=False) as traveller:
        for _ in range(limit):
            api_sign_in(owner.email, "wrong-guess-1234", ATTACKER)
        traveller.shift(cooloff - timedelta(seconds=5))
        assert_api_locked(api_sign_in(owner.email, PASSWORD, ATTACKER))

        traveller.shift(timedelta(seconds=10))
        assert_api_locked(api_sign_in(owner.email, PASSWORD, ATTACKER))

        traveller.shift(cooloff + timedelta(seconds=1))
        assert api_sign_in(owner.email, PASSWORD, ATTACKER).status_code == 200


def test_the_lock_on_the_api_also_holds_on_the_login_page(owner: User, limit: int) -> None:
    for _ in range(limit):
        api_sign_in(owner.email, "wrong-guess-1234", ATTACKER)

    assert_page_locked(*page_sign_in(owner.email, PASSWORD, ELSEWHERE))


# --- The login page ---------------------------------------------------------------------------------


def test_the_login_page_locks_an_account_after_the_limit_even_for_the_right_password(owner: User, limit: int) -> None:
    for _ in range(limit - 1):
        _client, response = page_sign_in(owner.email, "wrong-guess-1234", ATTACKER)
        assert response.status_code == 200
        assert "do not match an account" in response.content.decode()
    assert_page_locked(*page_sign_in(owner.email, "wrong-guess-1234", ATTACKER))

    assert_page_locked(*page_sign_in(owner.email, PASSWORD, ELSEWHERE))


def test_the_login_page_locks_a_client_address_that_fails_across_different_accounts(owner: User, limit: int) -> None:
    for number in range(limit):
        page_sign_in(f"guess{number}@example.com", "wrong-guess-1234", ATTACKER)

    assert_page_locked(*page_sign_in(owner.email, PASSWORD, ATTACKER))
    _client, response = page_sign_in(owner.email, PASSWORD, ELSEWHERE)
    assert response.status_code == 302


def test_the_login_page_lock_releases_after_the_cool_off(owner: User, limit: int, cooloff: timedelta) -> None:
    with time_machine.travel(now(), tick=False) as traveller:
        for _ in range(limit):
            page_sign_in(owner.email, "wrong-guess-1234", ATTACKER)

        traveller.shift(cooloff + timedelta(seconds=1))
        client, response = page_sign_in(owner.email, PASSWORD, ATTACKER)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_the_lock_on_the_login_page_also_holds_on_the_api(owner: User, limit: int) -> None:
    for _ in range(limit):
        page_sign_in(owner.email, "wrong-guess-1234", ATTACKER)

    assert_api_locked(api_sign_in(owner.email, PASSWORD, ELSEWHERE))


def test_the_defaults_are_five_failures_and_fifteen_minutes(settings) -> None:
    # LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_SECONDS; the README documents these defaults.
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


def test_the_lock_per_address_ignores_a_client_sent_forwarded_header_when_no_proxy_is_trusted(rf, settings) -> None:
    from accounts.security import client_address

    request = rf.post("/auth/login", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    assert client_address(request) == "203.0.113.9"


def test_behind_one_trusted_proxy_the_lock_per_address_uses_the_forwarded_client(rf, settings) -> None:
    from accounts.security import client_address

    request = rf.post("/auth/login", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_address(request) == "203.0.113.7"
