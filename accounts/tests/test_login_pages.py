"""Signing in and out through the pages, and what a signed-out visitor sees."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from tests.support import PASSWORD

LOGIN = "/auth/login"


@pytest.mark.django_db
def test_the_login_page_shows_the_form(client) -> None:
    response = client.get(LOGIN)

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content
    assert b"csrfmiddlewaretoken" in response.content


def test_signing_in_with_the_right_password_starts_a_session(client, owner: User) -> None:
    response = client.post(LOGIN, {"username": "owner@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_signing_in_ignores_the_letter_case_of_the_email(client, owner: User) -> None:
    response = client.post(LOGIN, {"username": "  Owner@EXAMPLE.com", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_signing_in_returns_to_the_page_the_visitor_asked_for(client, owner: User) -> None:
    response = client.post(f"{LOGIN}?next=/triggers/", {"username": owner.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/triggers/"


def test_signing_in_never_redirects_to_another_site(client, owner: User) -> None:
    response = client.post(LOGIN, {"username": owner.email, "password": PASSWORD, "next": "https://evil.example/"})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_shows_an_error_and_keeps_the_email(client, owner: User) -> None:
    response = client.post(LOGIN, {"username": "owner@example.com", "password": "not-the-password"})

    assert response.status_code == 200
    assert "That email and password do not match an account." in response.content.decode()
    assert b'value="owner@example.com"' in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"username": "", "password": PASSWORD}, "This field is required."),
        ({"username": "owner@example.com", "password": ""}, "This field is required."),
        ({"username": "not-an-email", "password": PASSWORD}, "Enter a valid email address."),
    ],
)
def test_the_login_page_shows_a_form_error_for_bad_input(client, form: dict, message: str) -> None:
    response = client.post(LOGIN, form)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_inactive_account_cannot_sign_in(client, owner: User) -> None:
    owner.is_active = False
    owner.save()

    response = client.post(LOGIN, {"username": owner.email, "password": PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_signed_in_visitor_is_sent_on_from_the_login_and_register_pages(client, owner: User) -> None:
    client.force_login(owner)

    assert client.get(LOGIN)["Location"] == "/"
    assert client.get("/auth/register")["Location"] == "/"


def test_logout_ends_the_session_and_redirects_to_the_login_page(client, owner: User) -> None:
    client.post(LOGIN, {"username": owner.email, "password": PASSWORD})
    assert "_auth_user_id" in client.session

    response = client.post("/logout")

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


def test_a_get_of_logout_signs_nobody_out_and_asks_instead(client, owner: User) -> None:
    # A GET can come from any page elsewhere (an image tag): it must not end the session.
    client.force_login(owner)

    response = client.get("/logout")

    assert response.status_code == 200
    assert client.session["_auth_user_id"] == str(owner.pk)
    page = response.content.decode()
    assert '<form method="post" action="/logout">' in page
    assert "csrfmiddlewaretoken" in page


def test_every_page_header_logs_out_with_a_posted_form(client, owner: User) -> None:
    client.force_login(owner)

    page = client.get("/auth/password").content.decode()

    assert '<form class="logout-form" method="post" action="/logout">' in page
    assert 'href="/logout"' not in page


@pytest.mark.urls("accounts.tests.probe_urls")
def test_after_logout_pages_need_a_new_sign_in(client, owner: User) -> None:
    client.force_login(owner)
    assert client.get("/probe/page").status_code == 200

    client.post("/logout")

    assert client.get("/probe/page").status_code == 302


@pytest.mark.django_db
@pytest.mark.urls("accounts.tests.probe_urls")
def test_a_signed_out_visitor_is_redirected_to_the_login_page_with_next(client) -> None:
    response = client.get("/probe/page?tab=archived")

    assert response.status_code == 302
    assert response["Location"] == "/auth/login?next=/probe/page%3Ftab%3Darchived"


@pytest.mark.urls("accounts.tests.probe_urls")
def test_a_signed_in_visitor_sees_the_page(client, owner: User) -> None:
    client.force_login(owner)

    response = client.get("/probe/page")

    assert response.status_code == 200
    assert response.content == b"Signed in as owner@example.com"


@pytest.mark.django_db
def test_a_login_form_posted_without_its_csrf_token_is_refused(owner: User) -> None:
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(LOGIN, {"username": owner.email, "password": PASSWORD})

    assert response.status_code == 403


def test_the_login_and_register_pages_take_emails_of_the_same_length(client, db: None) -> None:
    login = client.get("/auth/login").content.decode()
    register = client.get("/auth/register").content.decode()

    assert 'maxlength="254"' in re.search(r'<input[^>]*name="username"[^>]*>', login).group()
    assert 'maxlength="254"' in re.search(r'<input[^>]*name="email"[^>]*>', register).group()


def test_a_320_character_email_is_refused_by_the_register_page(client, db: None) -> None:
    email = "a" * 64 + "@" + "b" * 251 + ".com"

    response = client.post(
        "/auth/register", {"email": email, "password": PASSWORD, "password_confirm": PASSWORD, "timezone": "UTC"}
    )

    assert response.status_code == 400
    assert "at most 254 characters" in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.parametrize("path", ["/auth/login", "/favicon.ico"])
def test_every_page_has_an_icon_and_favicon_ico_is_served(client, db: None, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    if path == "/favicon.ico":
        assert response["Content-Type"] == "image/x-icon"
    else:
        assert '<link rel="icon" href="/static/favicon.svg"' in response.content.decode()
