"""How the API's paths resolve, whichever app serves them: both trailing-slash forms, and a
JSON 404 for anything unrouted under /api/."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.support import make_api_trigger, make_event

pytestmark = pytest.mark.django_db


def test_every_api_path_answers_in_both_trailing_slash_forms_without_a_redirect(api, owner) -> None:
    trigger = make_api_trigger(owner)
    event = make_event(owner)
    for path in (
        "/api/v1/triggers",
        f"/api/v1/triggers/{trigger.id}",
        "/api/v1/triggers/triggers_html",
        "/api/v1/event_logs",
        f"/api/v1/event_logs/{event.id}",
        "/api/v1/event_logs/aggregated",
        "/api/v1/event_logs/event_logs_html",
    ):
        assert api.get(path).status_code == 200, path
        assert api.get(path + "/").status_code == 200, path + "/"
    for path in (f"/api/v1/triggers/{trigger.id}/fire", f"/api/v1/triggers/{trigger.id}/test"):
        assert api.post(path, format="json").status_code == 201, path
        assert api.post(path + "/", format="json").status_code == 201, path + "/"
    registered = APIClient().post(
        "/api/v1/auth/register/", {"email": "ada@example.com", "password": "quartz-lantern-meadow-41"}, format="json"
    )
    assert registered.status_code == 201


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


def test_an_unrouted_page_still_answers_djangos_html_404(browser: Client) -> None:
    response = browser.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
