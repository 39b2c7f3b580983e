"""Defects the schema fuzzer found, pinned as plain examples so they stay fixed even if the
generator stops reaching them."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import PASSWORD


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/triggers/0.5/"),
        ("DELETE", "/api/v1/triggers/0.5"),
        ("POST", "/api/v1/triggers/0.5/fire/"),
        ("GET", "/api/v1/event_logs/0.5/"),
        ("GET", "/api/v1/no-such-endpoint"),
    ],
)
def test_an_unrouted_api_path_answers_a_json_404(api, method: str, path: str) -> None:
    response = api.generic(method, path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_an_unrouted_page_still_answers_djangos_html_404(client: Client, owner) -> None:
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/triggers/triggers_html", "/api/v1/event_logs/event_logs_html"])
def test_options_on_an_html_fragment_is_refused_not_a_server_error(api, path: str) -> None:
    response = api.options(path)
    assert response.status_code == 405
    assert "GET" in response["Allow"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/triggers", "/api/v1/event_logs"])
@pytest.mark.parametrize("page_size", ["null", "1.5", "ten", ""])
def test_a_malformed_page_size_is_a_400_naming_it(api, path: str, page_size: str) -> None:
    response = api.get(path, {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/triggers", "/api/v1/event_logs"])
def test_a_whole_page_size_is_still_honoured(api, path: str) -> None:
    assert api.get(path, {"page_size": "5"}).status_code == 200


@pytest.mark.django_db
def test_the_schema_closes_the_bodies_the_api_closes(client: Client) -> None:
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    for name in ("TriggerInputRequest", "PatchedTriggerInputRequest", "RegisterInputRequest"):
        assert schemas[name]["additionalProperties"] is False, name


@pytest.mark.django_db
def test_a_password_with_surrounding_spaces_works_for_the_token_api(client: Client) -> None:
    password = f"  {PASSWORD}  "
    registered = client.post(
        "/api/v1/auth/register",
        {"email": "spaced@example.com", "password": password},
        content_type="application/json",
    )
    assert registered.status_code == 201
    page = Client().post("/auth/login", {"username": "spaced@example.com", "password": password})
    assert page.status_code == 302
    token = client.post(
        "/api/v1/auth/token", {"email": "spaced@example.com", "password": password}, content_type="application/json"
    )
    assert token.status_code == 200


@pytest.mark.django_db
def test_an_expiry_with_an_offset_postgres_cannot_store_is_kept_as_its_utc_moment(api) -> None:
    """ISO 8601 allows offsets to ±23:59; PostgreSQL refuses any beyond ±15:59 (was a 500)."""
    response = api.post(
        "/api/v1/triggers",
        {"name": "far offset", "type": "api", "expires_at": "2512-04-18T14:36:01-18:01"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["expires_at"].startswith("2512-04-19T08:37:01")


@pytest.mark.django_db
def test_an_expiry_past_the_last_representable_moment_is_a_400(api) -> None:
    response = api.post(
        "/api/v1/triggers",
        {"name": "too far", "type": "api", "expires_at": "9999-12-31T23:00:00-05:00"},
        format="json",
    )
    assert response.status_code == 400
    assert "expires_at" in response.json()
