"""The token API: obtain, refresh (rotating), logout (blacklist), and how every API call is authenticated."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils.timezone import now
from rest_framework.test import APIClient

from accounts.models import User
from tests.support import PASSWORD, token_pair

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/token/refresh"
LOGOUT = "/api/v1/auth/logout"
PROBE = "/api/v1/probe"

pytestmark = pytest.mark.urls("accounts.tests.probe_urls")


def tampered(token: str) -> str:
    """The same token with one character of its signature changed."""
    last = token[-2]
    return token[:-2] + ("A" if last != "A" else "B") + token[-1]


def test_the_right_email_and_password_give_an_access_and_a_refresh_token(anonymous: APIClient, owner: User) -> None:
    pair = token_pair(email="OWNER@example.com")

    assert set(pair) == {"access", "refresh"}
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert anonymous.get(PROBE).json() == {"email": "owner@example.com"}


@pytest.mark.parametrize(
    ("email", "password"),
    [("owner@example.com", "wrong-password-entirely"), ("nobody@example.com", PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
def test_wrong_credentials_get_401_without_saying_which_part_was_wrong(
    anonymous: APIClient, owner: User, email: str, password: str
) -> None:
    response = anonymous.post(TOKEN, {"email": email, "password": password}, format="json")

    assert response.status_code == 401
    assert response.json()["detail"] == "No active account found with the given credentials"


@pytest.mark.django_db
def test_the_token_endpoint_names_missing_fields(anonymous: APIClient) -> None:
    response = anonymous.post(TOKEN, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {"email": ["This field is required."], "password": ["This field is required."]}


@pytest.mark.django_db
def test_the_token_endpoint_answers_400_to_malformed_json(anonymous: APIClient) -> None:
    response = anonymous.post(TOKEN, '{"email": "owner@example.com"', content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_the_token_endpoint_answers_415_to_a_form_body(anonymous: APIClient, owner: User) -> None:
    response = anonymous.post(TOKEN, f"email=owner%40example.com&password={PASSWORD}", content_type="text/plain")

    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]


def test_refresh_gives_a_new_pair_and_the_used_refresh_token_is_refused_afterwards(
    anonymous: APIClient, owner: User
) -> None:
    first = token_pair()

    rotated = anonymous.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    second = rotated.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]

    # The rotated token works, exactly once.
    third = anonymous.post(REFRESH, {"refresh": second["refresh"]}, format="json")
    assert third.status_code == 200
    assert anonymous.post(REFRESH, {"refresh": second["refresh"]}, format="json").status_code == 401

    reused = anonymous.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_not_valid"


def test_logout_blacklists_the_refresh_token(anonymous: APIClient, owner: User) -> None:
    pair = token_pair()

    response = anonymous.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 200

    refused = anonymous.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_not_valid"


def test_logging_out_twice_with_the_same_refresh_token_is_refused(anonymous: APIClient, owner: User) -> None:
    pair = token_pair()
    anonymous.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

    assert anonymous.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", [REFRESH, LOGOUT])
def test_refresh_and_logout_name_the_missing_refresh_field(anonymous: APIClient, endpoint: str) -> None:
    response = anonymous.post(endpoint, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {"refresh": ["This field is required."]}


@pytest.mark.parametrize("endpoint", [REFRESH, LOGOUT])
def test_refresh_and_logout_refuse_a_tampered_or_unknown_refresh_token(
    anonymous: APIClient, owner: User, endpoint: str
) -> None:
    pair = token_pair()

    for bad in (tampered(pair["refresh"]), "not-a-token", pair["access"]):
        response = anonymous.post(endpoint, {"refresh": bad}, format="json")
        assert response.status_code == 401, bad
        assert response.json()["code"] == "token_not_valid"
    # Nothing was used up: the real refresh token still works.
    assert anonymous.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 200


# --- Authentication of every API call ----------------------------------------------------------
# Every kind of bad token on every API route (expired, forged, a refresh token, an inactive
# user's...) is in tests/security/test_matrix.py; these pin the answers' details.


@pytest.mark.django_db
def test_a_signed_out_api_call_gets_401(anonymous: APIClient) -> None:
    response = anonymous.get(PROBE)

    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_access_token_gets_401(anonymous: APIClient, owner: User) -> None:
    pair = token_pair()
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {tampered(pair['access'])}")

    response = anonymous.get(PROBE)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Token abc", "Bearer a.b.c"])
def test_an_unknown_or_malformed_authorization_header_gets_401(anonymous: APIClient, header: str) -> None:
    anonymous.credentials(HTTP_AUTHORIZATION=header)

    assert anonymous.get(PROBE).status_code == 401


def test_an_expired_access_token_gets_401(anonymous: APIClient, owner: User, settings) -> None:
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    with time_machine.travel(now(), tick=False) as traveller:
        pair = token_pair()
        anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        traveller.shift(lifetime - timedelta(seconds=1))
        assert anonymous.get(PROBE).status_code == 200

        traveller.shift(timedelta(seconds=2))
        response = anonymous.get(PROBE)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


# --- Browser calls ride the session and must carry the CSRF token ------------------------------------


def test_a_session_api_call_can_read_without_a_csrf_token(owner: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)

    assert browser.get(PROBE).status_code == 200


def test_a_session_authenticated_unsafe_api_call_without_a_csrf_token_gets_403(owner: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)

    response = browser.post(PROBE, {}, content_type="application/json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_session_authenticated_unsafe_api_call_with_the_csrf_token_is_allowed(owner: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.get("/auth/login")  # the login form sets the CSRF cookie, as in a browser
    browser.force_login(owner)
    token = browser.cookies["csrftoken"].value

    response = browser.post(PROBE, {}, content_type="application/json", headers={"X-CSRFToken": token})

    assert response.status_code == 200


def test_a_bearer_token_call_needs_no_csrf_token(owner: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    access = token_pair()["access"]

    response = browser.post(PROBE, {}, content_type="application/json", headers={"Authorization": f"Bearer {access}"})

    assert response.status_code == 200
