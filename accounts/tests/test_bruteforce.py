"""Brute-force protection (django-axes) on the token API, the login page and the admin login.

Over each cool-off (LOGIN_COOLOFF_SECONDS, counted from the last recorded failure):
LOGIN_FAILURE_LIMIT failures for one account from one address lock that pair, even for
the right password; LOGIN_ADDRESS_FAILURE_LIMIT failures from one address across accounts
lock the address; LOGIN_ACCOUNT_FAILURE_LIMIT failures for one account across addresses
lock it for every address it has never signed in from. Attempts during a lock are refused
and not recorded. The lock's message and Retry-After say how long is left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.db.models import Sum
from django.db.models.functions import Length
from django.test import Client
from django.utils.timezone import now
from rest_framework.test import APIClient

from accounts.models import User
from tests.support import PASSWORD

TOKEN = "/api/v1/auth/token"
LOGIN = "/auth/login"
ADMIN_LOGIN = "/admin/login/"
LOCKED_MESSAGE = "Too many failed sign-in attempts"
ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"
WRONG = "wrong-guess-1234"


@pytest.fixture
def limit(settings) -> int:
    return settings.AXES_FAILURE_LIMIT


@pytest.fixture
def cooloff(settings) -> timedelta:
    return settings.AXES_COOLOFF_TIME


@pytest.fixture
def attacker(db) -> User:
    """The attacker's own account, freely registered."""
    return User.objects.create_user(email="mallory@example.com", password="mallory-own-passphrase-77")


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_superuser(email="root@example.com", password=PASSWORD)


def api_sign_in(email: str, password: str, address: str, **extra: str) -> object:
    return APIClient().post(TOKEN, {"email": email, "password": password}, format="json", REMOTE_ADDR=address, **extra)


def page_sign_in(email: str, password: str, address: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)
    return client, response


def admin_sign_in(email: str, password: str, address: str) -> object:
    return Client().post(ADMIN_LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


# Each door answers: signed in, wrong password, or locked.
DOORS: dict[str, Callable[[str, str, str], int]] = {
    "token api": lambda email, password, address: api_sign_in(email, password, address).status_code,
    "login page": lambda email, password, address: page_sign_in(email, password, address)[1].status_code,
    "admin login": lambda email, password, address: admin_sign_in(email, password, address).status_code,
}
SIGNED_IN = {"token api": 200, "login page": 302, "admin login": 302}
WRONG_PASSWORD = {"token api": 401, "login page": 200, "admin login": 200}


def assert_api_locked(response: object) -> None:
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.json()["detail"]
    assert int(response["Retry-After"]) > 0
    assert "access" not in response.json()


def assert_page_locked(client: Client, response: object) -> None:
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session


# --- The attacks ------------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_signing_in_to_their_own_account_does_not_clear_an_attackers_failures(
    door: str, owner: User, attacker: User, operator: User, limit: int
) -> None:
    victim = operator if door == "admin login" else owner
    statuses = []
    for _round in range(4):
        for _ in range(limit - 1):
            statuses.append(DOORS[door](victim.email, WRONG, ATTACKER))
        # A good sign-in to the attacker's own account, from the same address.
        assert api_sign_in(attacker.email, "mallory-own-passphrase-77", ATTACKER).status_code == 200

    # Only LOGIN_FAILURE_LIMIT wrong passwords were judged; every later guess was refused unjudged.
    assert statuses[: limit - 1] == [WRONG_PASSWORD[door]] * (limit - 1)
    assert statuses[limit - 1 :] == [429] * (len(statuses) - limit + 1)
    assert DOORS[door](victim.email, PASSWORD, ATTACKER) == 429


@pytest.mark.parametrize("door", DOORS)
def test_the_owner_signs_in_from_another_address_while_the_attackers_address_is_locked(
    door: str, owner: User, operator: User, limit: int
) -> None:
    victim = operator if door == "admin login" else owner
    for _ in range(limit * 3):
        DOORS[door](victim.email, WRONG, ATTACKER)
    assert DOORS[door](victim.email, PASSWORD, ATTACKER) == 429

    assert DOORS[door](victim.email, PASSWORD, ELSEWHERE) == SIGNED_IN[door]


def test_attempts_during_the_lock_do_not_extend_it(owner: User, limit: int, cooloff: timedelta) -> None:
    with time_machine.travel(now(), tick=False) as traveller:
        for _ in range(limit):
            api_sign_in(owner.email, WRONG, ATTACKER)
        # The attacker keeps trying through the lock...
        for _ in range(10):
            traveller.shift(cooloff / 12)
            assert_api_locked(api_sign_in(owner.email, WRONG, ATTACKER))

        # ...and the lock still ends one cool-off after the failure that set it.
        traveller.shift(cooloff - 10 * (cooloff / 12) + timedelta(seconds=1))
        assert api_sign_in(owner.email, PASSWORD, ATTACKER).status_code == 200


def test_guessing_one_account_from_many_addresses_locks_new_addresses_but_not_the_owners(
    owner: User, limit: int, settings
) -> None:
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 3 * limit
    home = "192.0.2.10"
    assert api_sign_in(owner.email, PASSWORD, home).status_code == 200  # the owner's usual address

    # Three addresses each spend a full pair allowance: the account's count reaches its limit.
    botnet = [f"203.0.113.{number}" for number in range(20, 23)]
    for address in botnet:
        for _ in range(limit):
            api_sign_in(owner.email, WRONG, address)

    # A fourth address is held off even with the right password: guessing is capped at
    # LOGIN_ACCOUNT_FAILURE_LIMIT per cool-off however many addresses take part.
    assert_api_locked(api_sign_in(owner.email, PASSWORD, "203.0.113.99"))
    assert_page_locked(*page_sign_in(owner.email, PASSWORD, "203.0.113.98"))
    # The owner, from an address the account has signed in from, is not.
    assert api_sign_in(owner.email, PASSWORD, home).status_code == 200
    _client, response = page_sign_in(owner.email, PASSWORD, home)
    assert response.status_code == 302


def test_the_lock_records_stay_bounded_however_long_the_attacker_tries(owner: User, limit: int) -> None:
    with time_machine.travel(now(), tick=False) as traveller:
        for attempt in range(200):
            # One attempt every 10 s (inside the anonymous rate) over more than two cool-offs,
            # each with a new user agent and a bulky body.
            traveller.shift(timedelta(seconds=10))
            api_sign_in(owner.email, WRONG + "x" * 500, ATTACKER, HTTP_USER_AGENT=f"agent-{attempt}")

            stored = AccessAttempt.objects.aggregate(
                failures=Sum("failures_since_start", default=0),
                size=Sum(Length("post_data") + Length("get_data") + Length("user_agent"), default=0),
            )
            assert stored["failures"] <= limit
            assert stored["size"] <= limit * 3 * 1024


# --- The token endpoint ------------------------------------------------------------------------


def test_the_api_locks_an_account_from_an_address_after_the_limit_even_for_the_right_password(
    owner: User, limit: int
) -> None:
    for _ in range(limit - 1):
        assert api_sign_in("owner@example.com", WRONG, ATTACKER).status_code == 401
    assert_api_locked(api_sign_in("owner@example.com", WRONG, ATTACKER))

    # In another letter case it is the same account.
    assert_api_locked(api_sign_in("Owner@Example.com", PASSWORD, ATTACKER))


def test_the_api_allows_attempts_below_the_limit(owner: User, limit: int) -> None:
    for _ in range(limit - 1):
        assert api_sign_in(owner.email, WRONG, ATTACKER).status_code == 401

    assert api_sign_in(owner.email, PASSWORD, ATTACKER).status_code == 200


def test_a_successful_sign_in_resets_the_failure_count(owner: User, limit: int) -> None:
    for _ in range(limit - 1):
        api_sign_in(owner.email, WRONG, ATTACKER)
    assert api_sign_in(owner.email, PASSWORD, ATTACKER).status_code == 200

    for _ in range(limit - 1):
        api_sign_in(owner.email, WRONG, ATTACKER)
    assert api_sign_in(owner.email, PASSWORD, ATTACKER).status_code == 200


def test_the_api_locks_a_client_address_that_fails_across_different_accounts(owner: User, settings) -> None:
    address_limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    for number in range(address_limit - 1):
        assert api_sign_in(f"guess{number}@example.com", WRONG, ATTACKER).status_code == 401
    assert_api_locked(api_sign_in("last-guess@example.com", WRONG, ATTACKER))

    # The owner never failed, but this address did.
    assert_api_locked(api_sign_in(owner.email, PASSWORD, ATTACKER))
    # The owner can still sign in from elsewhere.
    assert api_sign_in(owner.email, PASSWORD, ELSEWHERE).status_code == 200


def test_the_api_lock_still_holds_just_before_the_cool_off_ends(owner: User, limit: int, cooloff: timedelta) -> None:
    with time_machine.travel(now(), tick=False) as traveller:
        for _ in range(limit):
            api_sign_in(owner.email, WRONG, ATTACKER)

        traveller.shift(cooloff - timedelta(seconds=5))
        response = api_sign_in(owner.email, PASSWORD, ATTACKER)
        assert_api_locked(response)
        # Retry-After is what is left of the lock, not a whole cool-off.
        assert int(response["Retry-After"]) <= 6


def test_the_api_lock_releases_after_the_cool_off(owner: User, limit: int, cooloff: timedelta) -> None:
    with time_machine.travel(now(), tick=False) as traveller:
        for _ in range(limit):
            api_sign_in(owner.email, WRONG, ATTACKER)

        traveller.shift(cooloff + timedelta(seconds=1))
        response = api_sign_in(owner.email, PASSWORD, ATTACKER)

    assert response.status_code == 200
    assert "access" in response.json()


def test_the_lock_on_the_api_also_holds_on_the_login_page(owner: User, limit: int) -> None:
    for _ in range(limit):
        api_sign_in(owner.email, WRONG, ATTACKER)

    assert_page_locked(*page_sign_in(owner.email, PASSWORD, ATTACKER))


def test_a_300_character_email_is_a_400_naming_the_field_not_a_500(db) -> None:
    response = api_sign_in("a" * 288 + "@example.com", WRONG, ATTACKER)

    assert response.status_code == 400
    assert "email" in response.json()


def test_a_300_character_email_on_the_login_pages_is_a_form_error_not_a_500(db) -> None:
    _client, page = page_sign_in("a" * 288 + "@example.com", WRONG, ATTACKER)
    assert page.status_code == 200
    assert "errorlist" in page.content.decode()

    admin = admin_sign_in("a" * 288 + "@example.com", WRONG, ATTACKER)
    assert admin.status_code == 200


# --- The login page ---------------------------------------------------------------------------------


def test_the_login_page_locks_an_account_from_an_address_after_the_limit_even_for_the_right_password(
    owner: User, limit: int
) -> None:
    for _ in range(limit - 1):
        _client, response = page_sign_in(owner.email, WRONG, ATTACKER)
        assert response.status_code == 200
        assert "do not match an account" in response.content.decode()
    assert_page_locked(*page_sign_in(owner.email, WRONG, ATTACKER))

    assert_page_locked(*page_sign_in(owner.email, PASSWORD, ATTACKER))


def test_the_login_page_locks_a_client_address_that_fails_across_different_accounts(owner: User, settings) -> None:
    for number in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        page_sign_in(f"guess{number}@example.com", WRONG, ATTACKER)

    assert_page_locked(*page_sign_in(owner.email, PASSWORD, ATTACKER))
    _client, response = page_sign_in(owner.email, PASSWORD, ELSEWHERE)
    assert response.status_code == 302


def test_the_login_page_lock_releases_after_the_cool_off(owner: User, limit: int, cooloff: timedelta) -> None:
    with time_machine.travel(now(), tick=False) as traveller:
        for _ in range(limit):
            page_sign_in(owner.email, WRONG, ATTACKER)

        traveller.shift(cooloff + timedelta(seconds=1))
        client, response = page_sign_in(owner.email, PASSWORD, ATTACKER)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_the_lock_on_the_login_page_also_holds_on_the_api(owner: User, limit: int) -> None:
    for _ in range(limit):
        page_sign_in(owner.email, WRONG, ATTACKER)

    assert_api_locked(api_sign_in(owner.email, PASSWORD, ATTACKER))


def test_the_admin_login_shows_the_lock_page(operator: User, limit: int) -> None:
    for _ in range(limit):
        admin_sign_in(operator.email, WRONG, ATTACKER)

    response = admin_sign_in(operator.email, PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.content.decode()


# --- The pages' rate limit ------------------------------------------------------------------------


def test_the_login_and_register_pages_answer_429_past_the_anonymous_rate(db, settings) -> None:
    allowed = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"].split("/")[0])
    client = Client(REMOTE_ADDR=ATTACKER)
    for number in range(allowed):
        path = LOGIN if number % 2 else "/auth/register"
        assert client.get(path).status_code == 200, number

    for path in (LOGIN, "/auth/register"):
        refused = client.post(path, {"username": "owner@example.com", "password": WRONG})
        assert refused.status_code == 429
        assert refused["Content-Type"].startswith("text/html")
        assert "Too many requests" in refused.content.decode()
        assert int(refused["Retry-After"]) > 0
    # Nothing was judged: the refused attempts reached no sign-in.
    assert not AccessAttempt.objects.exists()
    # Another address is not affected.
    assert Client(REMOTE_ADDR=ELSEWHERE).get(LOGIN).status_code == 200


# --- Settings ------------------------------------------------------------------------------------------


def test_the_defaults_are_five_failures_and_fifteen_minutes(settings) -> None:
    # LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_SECONDS; docs/configuration.md documents these defaults.
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.LOGIN_ADDRESS_FAILURE_LIMIT == 20
    assert settings.LOGIN_ACCOUNT_FAILURE_LIMIT == 50


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
