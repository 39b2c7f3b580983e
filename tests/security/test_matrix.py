"""The security matrix, run over every route in the URL conf.

Routes come from ``tests.security.routes.all_routes()`` (the resolver, walked recursively),
so an endpoint added tomorrow is refused to anonymous callers, CSRF-checked, token-checked
and owner-checked here without anyone remembering to add it. Only the explicit public
allow-list in ``routes.PUBLIC_PATHS`` is exempt.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.db.models import F
from django.http import HttpResponse
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils.timezone import now
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from accounts.tokens import refresh_token_for
from eventlogs.models import EventLog
from tests.security.conftest import OwnedObjects
from tests.security.routes import ALL_METHODS, PUBLIC_PATHS, UNSAFE_METHODS, Route, all_routes
from tests.support import PASSWORD, contains_any
from triggers.models import Trigger

ROUTES = all_routes()
PRIVATE = [route for route in ROUTES if not route.is_public]
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def methods_of(route: Route) -> tuple[str, ...]:
    return route.declared_methods or ALL_METHODS


def route_methods(routes: list[Route], methods: tuple[str, ...] = ALL_METHODS) -> list[Any]:
    return [
        pytest.param(route, method, id=f"{method} {route.template}")
        for route in routes
        for method in methods_of(route)
        if method in methods
    ]


PRIVATE_API = [route for route in PRIVATE if route.is_api]
PRIVATE_PAGES = [route for route in PRIVATE if not route.is_api]
WITH_OBJECT = [route for route in PRIVATE if route.parameters]
LISTINGS = [route for route in PRIVATE if not route.parameters and "GET" in methods_of(route)]

# A request each unsafe endpoint accepts, keyed by (route name, method): the matrix sends
# it so that a missing check shows up as a success, not as a validation error. The status
# is what the owner gets. An endpoint without an entry is still tested (not 403, not 5xx).
ACCEPTED = {
    ("api-trigger-list", "POST"): ({"name": "made-in-matrix", "type": "api"}, 201),
    ("api-trigger-detail", "PUT"): ({"name": "replaced-in-matrix", "type": "api"}, 200),
    ("api-trigger-detail", "PATCH"): ({"name": "patched-in-matrix"}, 200),
    ("api-trigger-detail", "DELETE"): (None, 204),
    ("api-trigger-fire", "POST"): ({"mark": "fired-in-matrix"}, 201),
    ("api-trigger-test", "POST"): (None, 201),
    ("api-redeliver-failed", "POST"): (None, 202),
    ("api-signing-secret-rotate", "POST"): (None, 201),
    ("trigger-new", "POST"): ({"name": "made-in-matrix", "type": "api", "enabled": "on"}, 302),
    ("trigger-edit", "POST"): ({"name": "edited-in-matrix", "type": "api", "enabled": "on"}, 302),
    ("trigger-delete", "POST"): ({}, 302),
    ("trigger-fire", "POST"): ({"payload": '{"mark": "fired-in-matrix"}'}, 302),
    ("trigger-test", "POST"): ({}, 302),
    ("trigger-pause", "POST"): ({}, 302),
    ("trigger-resume", "POST"): ({}, 302),
    ("api-password", "POST"): ({"current_password": PASSWORD, "new_password": "matrix-Changed-passphrase-61"}, 204),
    ("api-logout-everywhere", "POST"): (None, 204),
    (
        "password-change",
        "POST",
    ): (
        {
            "old_password": PASSWORD,
            "new_password1": "matrix-Changed-passphrase-61",
            "new_password2": "matrix-Changed-passphrase-61",
        },
        302,
    ),
    ("logout-everywhere", "POST"): ({}, 302),
    ("api-keys", "POST"): ({"name": "made-in-matrix", "scope": "fire"}, 201),
    ("api-key-detail", "DELETE"): (None, 204),
    ("api-me", "DELETE"): ({"password": PASSWORD}, 204),
    ("settings", "POST"): ({"action": "create_key", "name": "made-in-matrix", "scope": "fire"}, 200),
    ("delete-account", "POST"): ({"confirmation": "owner@example.com", "password": PASSWORD}, 302),
    ("trigger-target-test", "POST"): ({}, 302),
    ("trigger-redeliver-failed", "POST"): ({}, 302),
    ("signing-secret-rotate", "POST"): ({}, 200),
}


def session_client(user: User, *, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send(
    client: Client,
    route: Route,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    csrf_token: str | None = None,
) -> HttpResponse:
    """Send ``method`` to ``path`` the way a real client of that route would: JSON for the
    API, a urlencoded form for pages; with the body the route accepts when one is known."""
    body, _ = ACCEPTED.get((route.name, method), (None, None))
    headers = dict(headers or {})
    if csrf_token is not None:
        headers["X-CSRFToken"] = csrf_token
    if route.is_api:
        data = json.dumps(body) if body is not None and method != "GET" else ""
        return client.generic(method, path, data, content_type="application/json", headers=headers)
    if method == "GET":
        return client.get(path, headers=headers)
    form = dict(body or {})
    if csrf_token is not None:
        form["csrfmiddlewaretoken"] = csrf_token
    if method == "POST":
        return client.post(path, form, headers=headers)
    return client.generic(method, path, headers=headers)


def password_hash_marks(user: User) -> list[str]:
    """The user's stored hash and its algorithm prefix (``pbkdf2_sha256$`` in production; the
    tests' fast hasher otherwise), plus the production prefix itself."""
    user.refresh_from_db()
    return [user.password, user.password.split("$", 1)[0] + "$", "pbkdf2_"]


def assert_refused_with_a_reason(response: HttpResponse, status: int) -> None:
    """The status, and a body that says why: JSON ``detail`` (an HTML fragment route answers in HTML)."""
    assert response.status_code == status, response.content[:300]
    if response["Content-Type"].startswith("application/json"):
        assert response.json()["detail"]
    else:
        assert response["Content-Type"].startswith("text/html")
        assert response.content.strip()


def test_the_matrix_sees_every_product_route() -> None:
    templates = {route.template for route in ROUTES}
    expected = {
        "/",
        "/events/",
        "/triggers/",
        "/triggers/new",
        "/triggers/{trigger_id}/",
        "/triggers/{trigger_id}/fire",
        "/api/v1/triggers",
        "/api/v1/triggers/{pk}",
        "/api/v1/triggers/{pk}/fire",
        "/api/v1/triggers/{pk}/test",
        "/api/v1/triggers/triggers_html",
        "/api/v1/event_logs",
        "/api/v1/event_logs/aggregated",
        "/api/v1/event_logs/event_logs_html",
        "/auth/password",
        "/auth/logout-everywhere",
        "/api/v1/auth/password",
        "/api/v1/auth/logout-everywhere",
        "/api/v1/event_logs/{pk}",
        "/api/v1/event_logs/{pk}/attempts",
        "/api/v1/event_logs/{pk}/redeliver",
        "/api/v1/triggers/{pk}/redeliver-failed",
        "/api/v1/triggers/{pk}/target/test",
        "/api/v1/signing-secret",
        "/api/v1/signing-secret/rotate",
        "/events/{event_id}/",
        "/events/{event_id}/redeliver",
        "/triggers/{trigger_id}/target/test",
        "/triggers/{trigger_id}/redeliver-failed",
        "/signing-secret/rotate",
    }
    assert expected <= templates, expected - templates
    # Each entry of the public allow-list still names a route; a stale entry could hide a new one.
    for label, pattern in PUBLIC_PATHS.items():
        assert any(route.is_public and re.search(pattern, route.template) for route in ROUTES), label


# --- Anonymous callers --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), route_methods(PRIVATE))
def test_every_private_route_refuses_an_anonymous_caller(client: Client, route: Route, method: str) -> None:
    response = send(client, route, method, route.path(str(uuid.uuid4())))
    if route.is_api:
        assert_refused_with_a_reason(response, 401)
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(settings.LOGIN_URL)


# --- Bearer tokens --------------------------------------------------------------------------


def _claims(user: User) -> dict[str, Any]:
    return dict(AccessToken.for_user(user).payload)


def _tampered(owner: User, other_user: User) -> str:
    """The owner's genuine token with its user id swapped for another user's; signature kept."""
    header, payload, signature = str(AccessToken.for_user(owner)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims[settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id")] = str(other_user.pk)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _bad_token(kind: str, owner: User, other_user: User) -> str | None:
    if kind == "missing":
        return None
    if kind == "expired":
        token = AccessToken.for_user(owner)
        token.set_exp(from_time=now() - timedelta(days=1))
        return str(token)
    if kind == "tampered":
        return _tampered(owner, other_user)
    if kind == "signed with another key":
        return jwt.encode(_claims(owner), "not-the-server-key-" + "x" * 40, algorithm="HS256")
    if kind == "unsigned (alg none)":
        return jwt.encode(_claims(owner), None, algorithm="none")
    if kind == "refresh token used as access":
        return str(RefreshToken.for_user(owner))
    if kind == "malformed":
        return "not.a.jwt"
    if kind == "inactive user":
        token = str(AccessToken.for_user(other_user))
        User.objects.filter(pk=other_user.pk).update(is_active=False)
        return token
    if kind == "revoked (password changed or signed out everywhere)":
        token = str(refresh_token_for(user=owner).access_token)
        User.objects.filter(pk=owner.pk).update(token_generation=F("token_generation") + 1)
        return token
    if kind == "deleted user":
        doomed = User.objects.create_user(email="doomed@example.com", password="x-Very-long-passw0rd")
        token = str(AccessToken.for_user(doomed))
        doomed.delete()
        return token
    raise AssertionError(kind)


BAD_TOKENS = [
    "missing",
    "expired",
    "tampered",
    "signed with another key",
    "unsigned (alg none)",
    "refresh token used as access",
    "malformed",
    "inactive user",
    "deleted user",
    "revoked (password changed or signed out everywhere)",
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize(("route", "method"), route_methods(PRIVATE_API))
def test_every_api_route_refuses_a_bad_token(
    route: Route, method: str, kind: str, owner: User, other_user: User, owned: OwnedObjects
) -> None:
    token = _bad_token(kind, owner, other_user)
    before = _owner_state(owner)
    response = send(
        Client(), route, method, route.path(str(owned.api_trigger.id)), headers=bearer(token) if token else None
    )
    assert_refused_with_a_reason(response, 401)
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert _owner_state(owner) == before


# --- CSRF on session requests -----------------------------------------------------------------

CSRF_ROUTES = route_methods(PRIVATE, UNSAFE_METHODS) + route_methods(
    [route for route in ROUTES if route.template in ("/auth/login", "/auth/register", "/logout")], ("POST",)
)


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), CSRF_ROUTES)
def test_every_unsafe_session_request_without_a_csrf_token_is_refused(
    route: Route, method: str, owner: User, owned: OwnedObjects
) -> None:
    client = session_client(owner, enforce_csrf=True)
    before = _owner_state(owner)
    response = send(client, route, method, route.path(str(owned.api_trigger.id)))
    assert response.status_code == 403, response.content[:300]
    assert b"CSRF" in response.content
    assert _owner_state(owner) == before


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), CSRF_ROUTES)
def test_every_unsafe_session_request_with_a_csrf_token_is_accepted(
    route: Route, method: str, owner: User, owned: OwnedObjects
) -> None:
    client = session_client(owner, enforce_csrf=True)
    token = _get_new_csrf_string()
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    # Each object route with one of the owner's objects it serves: an API key's, or a trigger's.
    object_id = owned.api_key.id if "key_id" in route.parameters else owned.api_trigger.id
    response = send(client, route, method, route.path(str(object_id)), csrf_token=token)
    assert response.status_code != 403, response.content[:300]
    assert response.status_code < 500
    _, expected = ACCEPTED.get((route.name, method), (None, None))
    if expected is not None:
        assert response.status_code == expected, response.content[:300]
    elif route.declared_methods is None and method != "POST":
        assert response.status_code == 405  # a page takes forms (POST) only


# --- Another user's objects ----------------------------------------------------------------------


def _owner_state(owner: User) -> list[tuple[Any, ...]]:
    triggers = Trigger.objects.filter(owner=owner).order_by("id")
    fields = ("id", "name", "type", "enabled", "api_payload", "next_fire_at", "scheduled_fire_count", "updated_at")
    rows: list[tuple[Any, ...]] = [tuple(triggers.values_list(*fields))]
    rows.append(tuple(EventLog.objects.filter(owner=owner).order_by("id").values_list("id", "payload")))
    return rows


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), route_methods(WITH_OBJECT))
def test_another_user_gets_404_for_every_operation_on_the_owners_objects(
    route: Route, method: str, owner: User, other_user: User, owned: OwnedObjects
) -> None:
    if route.is_api:
        intruder = Client(headers=bearer(str(AccessToken.for_user(other_user))))
        rightful = Client(headers=bearer(str(AccessToken.for_user(owner))))
    else:
        intruder, rightful = session_client(other_user), session_client(owner)
    before = _owner_state(owner)
    for object_id in owned.ids:
        response = send(intruder, route, method, route.path(object_id))
        assert response.status_code in (404, 405), (object_id, response.status_code, response.content[:300])
        if response.status_code == 405:
            # Not allowed for anyone: the route refuses the method, not the object.
            assert send(rightful, route, method, route.path(object_id)).status_code == 405
        assert not contains_any(response.content, owned.marks(owner)), response.content[:500]
    assert _owner_state(owner) == before


def _reach(route: Route, client: Client, object_id: str) -> int:
    """GET when the route shows something, else POST (a page button, an API action), else
    DELETE (a route that only deletes, such as revoking an API key)."""
    status = 405
    for method in ("GET", "POST", "DELETE"):
        if method in methods_of(route):
            status = send(client, route, method, route.path(object_id)).status_code
            if status != 405:
                return status
    return status


@pytest.mark.django_db
@pytest.mark.parametrize("route", [pytest.param(route, id=route.template) for route in WITH_OBJECT])
def test_the_owner_reaches_every_object_route(route: Route, owner: User, owned: OwnedObjects) -> None:
    """The control for the 404 matrix: the same routes work for the owner, so a 404 there
    means "not yours", not "broken"."""
    client = Client(headers=bearer(str(AccessToken.for_user(owner)))) if route.is_api else session_client(owner)
    statuses = {object_id: _reach(route, client, object_id) for object_id in owned.ids}
    assert any(status not in (404, 405) and status < 500 for status in statuses.values()), statuses


# --- What responses contain ----------------------------------------------------------------------


def _listing_paths(route: Route, owned: OwnedObjects) -> list[str]:
    """The route, plus its filtered views where it takes ?status= / ?trigger=."""
    path = route.path()
    paths = [path]
    if "event" in path:
        paths += [f"{path}?status=all", f"{path}?status=archived", f"{path}?status=all&trigger={owned.api_trigger.id}"]
    return paths


@pytest.mark.django_db
@pytest.mark.parametrize("route", [pytest.param(route, id=route.template) for route in LISTINGS])
def test_no_listing_shows_another_users_data_or_a_password_hash(
    route: Route, owner: User, other_user: User, owned: OwnedObjects
) -> None:
    if route.is_api:
        own_view = Client(headers=bearer(str(AccessToken.for_user(owner))))
        other_view = Client(headers=bearer(str(AccessToken.for_user(other_user))))
    else:
        own_view, other_view = session_client(owner), session_client(other_user)
    hashes = password_hash_marks(owner) + password_hash_marks(other_user)
    for path in _listing_paths(route, owned):
        theirs = other_view.get(path)
        assert theirs.status_code == 200, (path, theirs.status_code)
        # An id the caller put in the query string may be echoed back (a filter field); that is not a leak.
        leaks = [mark for mark in owned.marks(owner) if mark not in path]
        assert not contains_any(theirs.content, leaks), (path, theirs.content[:500])
        assert not contains_any(theirs.content, hashes)
        mine = own_view.get(path)
        assert mine.status_code == 200
        assert not contains_any(mine.content, hashes)
        assert other_user.email.encode() not in mine.content
    # The control: the owner does see their own data on this route.
    assert contains_any(own_view.get(_listing_paths(route, owned)[-1]).content, owned.marks(owner)), route


@pytest.mark.django_db
def test_auth_responses_never_contain_a_password_hash(client: Client, owner: User) -> None:
    registered = client.post(
        "/api/v1/auth/register",
        {"email": "new-person@example.com", "password": "a-long-and-Unusual-passphrase-42"},
        content_type="application/json",
    )
    assert registered.status_code == 201
    pair = client.post(
        "/api/v1/auth/token", {"email": owner.email, "password": PASSWORD}, content_type="application/json"
    )
    assert pair.status_code == 200
    newcomer = User.objects.get(email="new-person@example.com")
    for response in (registered, pair):
        assert not contains_any(response.content, password_hash_marks(owner) + password_hash_marks(newcomer))
        assert b"password" not in response.content


# --- Mass assignment ------------------------------------------------------------------------------

PROTECTED_FIELDS = {
    "owner": lambda other: other.pk,
    "owner_id": lambda other: other.pk,
    "id": lambda other: str(uuid.uuid4()),
    "scheduled_fire_count": lambda other: 999,
    "next_fire_at": lambda other: "2031-01-01T00:00:00Z",
    "last_fired_at": lambda other: "2001-01-01T00:00:00Z",
    "created_at": lambda other: "2001-01-01T00:00:00Z",
    "updated_at": lambda other: "2001-01-01T00:00:00Z",
}


def _protected_state(trigger: Trigger) -> tuple[Any, ...]:
    trigger.refresh_from_db()
    return (trigger.id, trigger.owner_id, trigger.scheduled_fire_count, trigger.next_fire_at, trigger.created_at)


@pytest.mark.django_db
@pytest.mark.parametrize("field", PROTECTED_FIELDS)
def test_creating_a_trigger_with_a_protected_field_changes_nothing(
    field: str, api, owner: User, other_user: User
) -> None:
    value = PROTECTED_FIELDS[field](other_user)
    body = {"name": "mass-assigned", "type": "scheduled", "schedule_details": {"interval_seconds": 600}, field: value}
    response = api.post("/api/v1/triggers", body, format="json")
    if response.status_code == 400:
        assert field in response.json()
        assert not Trigger.objects.filter(name="mass-assigned").exists()
        return
    assert response.status_code == 201, response.content
    created = Trigger.objects.get(name="mass-assigned")
    assert created.owner == owner
    assert created.scheduled_fire_count == 0
    assert str(created.id) != str(value)
    assert created.created_at > now() - timedelta(minutes=1)
    assert not Trigger.objects.filter(owner=other_user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("field", PROTECTED_FIELDS)
def test_editing_a_trigger_with_a_protected_field_changes_nothing(
    field: str, method: str, api, other_user: User, owned: OwnedObjects
) -> None:
    trigger = owned.scheduled_trigger
    before = _protected_state(trigger)
    body = {"name": "renamed", "type": "scheduled", "schedule_details": {"interval_seconds": 3600}}
    body[field] = PROTECTED_FIELDS[field](other_user)
    response = getattr(api, method)(f"/api/v1/triggers/{trigger.id}", body, format="json")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert field in response.json()
    assert _protected_state(trigger) == before


@pytest.mark.django_db
def test_the_trigger_forms_ignore_protected_fields(owner: User, other_user: User, owned: OwnedObjects) -> None:
    client = session_client(owner)
    extra = {field: make(other_user) for field, make in PROTECTED_FIELDS.items()}
    created = client.post("/triggers/new", {"name": "form-mass-assigned", "type": "api", "enabled": "on", **extra})
    assert created.status_code == 302
    trigger = Trigger.objects.get(name="form-mass-assigned")
    assert (trigger.owner, trigger.scheduled_fire_count) == (owner, 0)
    assert trigger.created_at > now() - timedelta(minutes=1)

    before = _protected_state(owned.api_trigger)
    edited = client.post(
        f"/triggers/{owned.api_trigger.id}/edit", {"name": "form-edited", "type": "api", "enabled": "on", **extra}
    )
    assert edited.status_code == 302
    assert _protected_state(owned.api_trigger) == before
    assert not Trigger.objects.filter(owner=other_user).exists()


@pytest.mark.django_db
def test_signing_up_cannot_grant_staff_or_superuser(client: Client) -> None:
    api = client.post(
        "/api/v1/auth/register",
        {
            "email": "climber@example.com",
            "password": "a-long-and-Unusual-passphrase-42",
            "is_staff": True,
            "is_superuser": True,
        },
        content_type="application/json",
    )
    if api.status_code == 400:
        assert "is_staff" in api.json() or "is_superuser" in api.json()
    else:
        assert api.status_code == 201
    page = Client().post(
        "/auth/register",
        {
            "email": "climber2@example.com",
            "password": "a-long-and-Unusual-passphrase-42",
            "password_confirm": "a-long-and-Unusual-passphrase-42",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )
    assert page.status_code == 302
    assert not User.objects.filter(is_staff=True).exists()
    assert not User.objects.filter(is_superuser=True).exists()
    assert User.objects.filter(email="climber2@example.com").exists()
