"""Sign-up through the JSON API and the register page, including every bad input."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User

REGISTER = "/api/v1/auth/register"
GOOD_PASSWORD = "quartz-lantern-meadow-41"

# Each of Django's validators, with the message it gives.
WEAK_PASSWORDS = [
    pytest.param("Xq7!z", "This password is too short", id="too-short"),
    pytest.param("sunshine", "This password is too common", id="common"),
    pytest.param("83749261047", "This password is entirely numeric", id="numeric"),
    pytest.param("margaret.hamilton", "too similar to the email address", id="similar-to-email"),
]


@pytest.mark.django_db
def test_it_registers_through_the_api_and_returns_a_working_token_pair(anonymous: APIClient) -> None:
    response = anonymous.post(REGISTER, {"email": "New.Person@Example.com", "password": GOOD_PASSWORD}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == "new.person@example.com"
    assert body["user"]["timezone"] == "Asia/Kolkata"
    assert set(body) == {"user", "access", "refresh"}
    user = User.objects.get()
    assert user.email == "new.person@example.com"
    assert user.check_password(GOOD_PASSWORD)
    refreshed = anonymous.post("/api/v1/auth/token/refresh", {"refresh": body["refresh"]}, format="json")
    assert refreshed.status_code == 200


@pytest.mark.django_db
@pytest.mark.urls("accounts.tests.probe_urls")
def test_the_access_token_from_registration_authenticates_api_calls(anonymous: APIClient) -> None:
    body = anonymous.post(REGISTER, {"email": "ada@example.com", "password": GOOD_PASSWORD}, format="json").json()

    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    response = anonymous.get("/api/v1/probe")

    assert response.status_code == 200
    assert response.json() == {"email": "ada@example.com"}


@pytest.mark.django_db
def test_it_accepts_a_time_zone_at_sign_up(anonymous: APIClient) -> None:
    response = anonymous.post(
        REGISTER, {"email": "ada@example.com", "password": GOOD_PASSWORD, "timezone": "Europe/London"}, format="json"
    )

    assert response.status_code == 201
    assert User.objects.get().timezone == "Europe/London"


@pytest.mark.django_db
def test_a_password_with_surrounding_spaces_is_kept_whole_for_the_page_and_the_token_api(
    anonymous: APIClient,
) -> None:
    password = f"  {GOOD_PASSWORD}  "
    registered = anonymous.post(REGISTER, {"email": "spaced@example.com", "password": password}, format="json")
    assert registered.status_code == 201
    page = Client().post("/auth/login", {"username": "spaced@example.com", "password": password})
    assert page.status_code == 302
    token = anonymous.post("/api/v1/auth/token", {"email": "spaced@example.com", "password": password}, format="json")
    assert token.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("password", "message"), WEAK_PASSWORDS)
def test_the_api_refuses_a_weak_password_naming_the_validator(
    anonymous: APIClient, password: str, message: str
) -> None:
    response = anonymous.post(REGISTER, {"email": "margaret.hamilton@example.com", "password": password}, format="json")

    assert response.status_code == 400
    assert any(message in text for text in response.json()["password"])
    assert not User.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_an_email_taken_in_another_letter_case(anonymous: APIClient, owner: User) -> None:
    response = anonymous.post(REGISTER, {"email": "OWNER@Example.COM", "password": GOOD_PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json()["email"] == ["An account with this email already exists."]
    assert User.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        pytest.param({"password": GOOD_PASSWORD}, "email", "This field is required.", id="missing-email"),
        pytest.param({"email": "ada@example.com"}, "password", "This field is required.", id="missing-password"),
        pytest.param(
            {"email": "not-an-email", "password": GOOD_PASSWORD},
            "email",
            "Enter a valid email address.",
            id="bad-email",
        ),
        pytest.param(
            {"email": "ada@example.com", "password": GOOD_PASSWORD, "timezone": "Mars/Olympus"},
            "timezone",
            "not an IANA time zone name",
            id="bad-timezone",
        ),
        pytest.param(
            {"email": "ada@example.com", "password": GOOD_PASSWORD, "is_staff": True},
            "is_staff",
            "Unknown field.",
            id="unknown-field",
        ),
        pytest.param(
            {"email": ["ada@example.com"], "password": GOOD_PASSWORD},
            "email",
            "Enter a valid email address.",
            id="email-list",
        ),
    ],
)
def test_the_api_names_the_field_of_bad_input_and_creates_nobody(
    anonymous: APIClient, payload: dict, field: str, message: str
) -> None:
    response = anonymous.post(REGISTER, payload, format="json")

    assert response.status_code == 400
    assert any(message in text for text in response.json()[field])
    assert not User.objects.exists()


@pytest.mark.django_db
def test_the_api_names_both_missing_fields_of_an_empty_object(anonymous: APIClient) -> None:
    response = anonymous.post(REGISTER, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {"email": ["This field is required."], "password": ["This field is required."]}


@pytest.mark.django_db
def test_the_api_answers_400_to_malformed_json(anonymous: APIClient) -> None:
    response = anonymous.post(REGISTER, '{"email": "ada@example.com", "password": ', content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_the_api_answers_400_to_a_json_body_that_is_not_an_object(anonymous: APIClient) -> None:
    response = anonymous.post(REGISTER, ["ada@example.com", GOOD_PASSWORD], format="json")

    assert response.status_code == 400
    assert "Expected a dictionary" in response.json()["non_field_errors"][0]
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]
)
def test_the_api_answers_415_to_a_body_that_is_not_json(anonymous: APIClient, content_type: str) -> None:
    response = anonymous.post(REGISTER, "email=ada%40example.com&password=x", content_type=content_type)

    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]
    assert not User.objects.exists()


# --- The register page ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_register_page_shows_the_form(client) -> None:
    response = client.get("/auth/register")

    assert response.status_code == 200
    assert b'name="email"' in response.content
    assert b'name="password_confirm"' in response.content


@pytest.mark.django_db
def test_registering_on_the_page_signs_the_new_user_in(client) -> None:
    response = client.post(
        "/auth/register", {"email": "Ada@Example.com", "password": GOOD_PASSWORD, "password_confirm": GOOD_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get()
    assert user.email == "ada@example.com"
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(("password", "message"), WEAK_PASSWORDS)
def test_the_register_page_refuses_a_weak_password_and_keeps_the_email(client, password: str, message: str) -> None:
    response = client.post(
        "/auth/register",
        {"email": "margaret.hamilton@example.com", "password": password, "password_confirm": password},
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert b'value="margaret.hamilton@example.com"' in response.content
    assert not User.objects.exists()


@pytest.mark.django_db
def test_the_register_page_refuses_an_email_taken_in_another_letter_case(client, owner: User) -> None:
    response = client.post(
        "/auth/register", {"email": "Owner@EXAMPLE.com", "password": GOOD_PASSWORD, "password_confirm": GOOD_PASSWORD}
    )

    assert response.status_code == 400
    assert "An account with this email already exists." in response.content.decode()
    assert b'value="Owner@EXAMPLE.com"' in response.content
    assert User.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "message"),
    [
        pytest.param(
            {"email": "", "password": GOOD_PASSWORD, "password_confirm": GOOD_PASSWORD}, "This field is required."
        ),
        pytest.param(
            {"email": "not-an-email", "password": GOOD_PASSWORD, "password_confirm": GOOD_PASSWORD},
            "Enter a valid email address.",
        ),
        pytest.param(
            {"email": "ada@example.com", "password": GOOD_PASSWORD, "password_confirm": GOOD_PASSWORD + "x"},
            "The two passwords differ.",
        ),
        pytest.param({"email": "ada@example.com", "password": "", "password_confirm": ""}, "This field is required."),
    ],
)
def test_the_register_page_shows_a_form_error_and_creates_nobody(client, form: dict, message: str) -> None:
    response = client.post("/auth/register", form)

    assert response.status_code == 400
    assert message in response.content.decode()
    if form["email"]:
        assert f'value="{form["email"]}"'.encode() in response.content
    assert not User.objects.exists()
    assert "_auth_user_id" not in client.session
