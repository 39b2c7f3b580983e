"""Revoking tokens and sessions: atomic rotation, replay detection, password change, sign out everywhere."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from tests.support import PASSWORD, token_pair
from triggers.services import trigger_create

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/token/refresh"
PASSWORD_API = "/api/v1/auth/password"
EVERYWHERE_API = "/api/v1/auth/logout-everywhere"
PASSWORD_PAGE = "/auth/password"
EVERYWHERE_PAGE = "/auth/logout-everywhere"
NEW_PASSWORD = "saffron-glacier-orbit-93"


def refresh(token: str) -> object:
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def signed_in_browser(email: str = "owner@example.com") -> Client:
    browser = Client()
    assert browser.post("/auth/login", {"username": email, "password": PASSWORD}).status_code == 302
    return browser


def is_signed_in(browser: Client) -> bool:
    return browser.get("/triggers/").status_code == 200


def assert_revoked(pair: dict[str, str]) -> None:
    assert bearer(pair["access"]).get("/api/v1/triggers").status_code == 401
    assert refresh(pair["refresh"]).status_code == 401


# --- Rotation --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_refresh_token_sent_four_times_at_once_is_spent_exactly_once(owner: User) -> None:
    token = token_pair()["refresh"]
    start = threading.Barrier(4)
    statuses: list[int] = []

    def send() -> None:
        try:
            start.wait()
            statuses.append(refresh(token).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 401, 401, 401]


def test_reusing_a_rotated_refresh_token_revokes_its_family(owner: User) -> None:
    stolen = token_pair()
    successor = refresh(stolen["refresh"]).json()
    elsewhere = token_pair()  # another sign-in: another family

    replay = refresh(stolen["refresh"])

    assert replay.status_code == 401
    assert replay.json()["code"] == "token_not_valid"
    # The family's live token is revoked too, whoever holds it...
    assert refresh(successor["refresh"]).status_code == 401
    # ...and no other family is.
    assert refresh(elsewhere["refresh"]).status_code == 200


@pytest.mark.parametrize("how", ["deleted", "deactivated"])
def test_the_refresh_of_a_deleted_or_deactivated_user_is_401_not_500(owner: User, how: str) -> None:
    pair = token_pair()
    if how == "deleted":
        owner.delete()
    else:
        User.objects.filter(pk=owner.pk).update(is_active=False)

    response = refresh(pair["refresh"])

    assert response.status_code == 401
    assert response.json()["detail"]


# --- Password change ---------------------------------------------------------------------------------


def test_changing_the_password_through_the_api_revokes_every_earlier_token(owner: User) -> None:
    phone, laptop = token_pair(), token_pair()
    rotated = refresh(laptop["refresh"]).json()
    trigger = trigger_create(owner=owner, values={"name": "hook", "type": "api"})
    fire = f"/api/v1/triggers/{trigger.id}/fire"
    assert bearer(phone["access"]).post(fire, {}, format="json").status_code == 201

    response = bearer(phone["access"]).post(
        PASSWORD_API, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 204
    for pair in (phone, rotated):
        assert_revoked(pair)
        # The fire path, which reads the user with the trigger, refuses it too.
        assert bearer(pair["access"]).post(fire, {}, format="json").status_code == 401
    assert APIClient().post(TOKEN, {"email": owner.email, "password": PASSWORD}, format="json").status_code == 401
    fresh = token_pair(password=NEW_PASSWORD)
    assert bearer(fresh["access"]).post(fire, {}, format="json").status_code == 201
    assert refresh(fresh["refresh"]).status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"current_password": "not-my-password", "new_password": NEW_PASSWORD}, "current_password", "current"),
        ({"current_password": PASSWORD, "new_password": "short"}, "new_password", "too short"),
        ({"current_password": PASSWORD, "new_password": "password123"}, "new_password", "too common"),
        ({"current_password": PASSWORD, "new_password": "owner.example"}, "new_password", "similar"),
        ({"new_password": NEW_PASSWORD}, "current_password", "required"),
        ({"current_password": PASSWORD}, "new_password", "required"),
    ],
)
def test_the_password_api_answers_400_naming_the_field_and_changes_nothing(
    api: APIClient, owner: User, body: dict, field: str, message: str
) -> None:
    response = api.post(PASSWORD_API, body, format="json")

    assert response.status_code == 400
    assert message in " ".join(response.json()[field]).lower()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    assert owner.token_generation == 0


def test_wrong_current_passwords_count_as_failed_sign_ins(api: APIClient, owner: User, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = api.post(PASSWORD_API, {"current_password": "guess", "new_password": NEW_PASSWORD}, format="json")
        assert response.status_code == 400
    locked = api.post(PASSWORD_API, {"current_password": "guess", "new_password": NEW_PASSWORD}, format="json")

    assert locked.status_code == 429
    assert api.post(
        PASSWORD_API, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    ).status_code == (429)


def test_the_change_password_page_keeps_this_session_and_signs_out_the_rest(owner: User) -> None:
    here, there = signed_in_browser(), signed_in_browser()
    pair = token_pair()
    form = here.get(PASSWORD_PAGE)
    assert form.status_code == 200
    assert "Change password" in form.content.decode()

    response = here.post(
        PASSWORD_PAGE, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert is_signed_in(here)
    assert not is_signed_in(there)
    assert_revoked(pair)
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)


def test_the_change_password_page_refuses_a_wrong_old_password(owner: User) -> None:
    here = signed_in_browser()

    response = here.post(
        PASSWORD_PAGE, {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


# --- Sign out everywhere -----------------------------------------------------------------------------


def test_sign_out_everywhere_through_the_api_revokes_every_token_and_session(owner: User, other_user: User) -> None:
    browser = signed_in_browser()
    phone, laptop = token_pair(), token_pair()
    theirs = token_pair(email=other_user.email)

    response = bearer(phone["access"]).post(EVERYWHERE_API)

    assert response.status_code == 204
    assert_revoked(phone)
    assert_revoked(laptop)
    assert not is_signed_in(browser)
    # Another user's tokens are untouched, and the owner can sign in again.
    assert refresh(theirs["refresh"]).status_code == 200
    assert bearer(token_pair()["access"]).get("/api/v1/triggers").status_code == 200


def test_the_sign_out_everywhere_button_keeps_this_session(owner: User) -> None:
    here, there = signed_in_browser(), signed_in_browser()
    pair = token_pair()
    assert 'action="/auth/logout-everywhere"' in here.get(PASSWORD_PAGE).content.decode()

    response = here.post(EVERYWHERE_PAGE)

    assert response.status_code == 302
    assert is_signed_in(here)
    assert not is_signed_in(there)
    assert_revoked(pair)


def test_sign_out_everywhere_is_post_only(owner: User) -> None:
    here = signed_in_browser()

    assert here.get(EVERYWHERE_PAGE).status_code == 405
    assert bearer(token_pair()["access"]).get(EVERYWHERE_API).status_code == 405


def test_the_revocation_check_adds_no_query_to_an_authenticated_call(owner: User) -> None:
    client = bearer(token_pair()["access"])
    client.get("/api/v1/triggers")  # the throttle's cache row now exists
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/triggers").status_code == 200
    user_reads = [query["sql"] for query in queries.captured_queries if 'FROM "accounts_user"' in query["sql"]]
    assert len(user_reads) == 1, user_reads
