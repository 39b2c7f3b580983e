"""API keys: /api/v1/api-keys, Bearer sw_… authentication, scopes, revocation, last use."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import ApiKey, User
from accounts.services import api_key_create, user_change_password, user_sign_out_everywhere
from eventlogs.models import EventLog
from tests.support import PASSWORD
from triggers.models import Trigger
from triggers.services import trigger_create

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def key_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def api_trigger(owner: User, name: str = "webhook") -> Trigger:
    return trigger_create(owner=owner, values={"name": name, "type": "api", "api_payload": {"default": True}})


@pytest.fixture
def webhook(owner: User) -> Trigger:
    return api_trigger(owner)


@pytest.fixture
def other_webhook(owner: User) -> Trigger:
    return api_trigger(owner, name="other")


def new_key(user: User, scope: str = "fire", trigger: Trigger | None = None) -> str:
    return api_key_create(user=user, name="ci", scope=scope, trigger_id=trigger.id if trigger else None).raw_key


def fire(client: APIClient, trigger: Trigger, body: dict | None = None):
    return client.post(f"/api/v1/triggers/{trigger.id}/fire", body or {"n": 1}, format="json")


# --- Managing keys ---------------------------------------------------------------


def test_it_creates_a_key_shown_once_and_stores_only_its_hash(api, owner, webhook) -> None:
    response = api.post(
        "/api/v1/api-keys", {"name": "deploy", "scope": "fire", "trigger": str(webhook.id)}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    raw_key = body["key"]
    assert raw_key.startswith("sw_")
    assert len(raw_key) >= 40
    assert body["name"] == "deploy"
    assert body["scope"] == "fire"
    assert body["trigger"] == str(webhook.id)
    assert body["prefix"] == raw_key[:11]
    stored = ApiKey.objects.get()
    assert stored.digest == hashlib.sha256(raw_key.encode()).hexdigest()
    assert raw_key not in {stored.name, stored.prefix, stored.digest}
    listed = api.get("/api/v1/api-keys").json()
    assert [item["id"] for item in listed] == [body["id"]]
    assert "key" not in listed[0]
    assert raw_key not in str(listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "fire"}, "name"),
        ({"name": "x", "scope": "admin"}, "scope"),
        ({"name": "x", "scope": "fire", "trigger": "nope"}, "trigger"),
        ({"name": "x", "scope": "fire", "extra": 1}, "extra"),
    ],
)
def test_it_names_the_field_of_a_bad_key_request(api, body, field) -> None:
    response = api.post("/api/v1/api-keys", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_it_refuses_a_trigger_limit_on_another_users_trigger_or_a_full_key(api, other_user, webhook) -> None:
    theirs = api_trigger(other_user)
    response = api.post("/api/v1/api-keys", {"name": "x", "scope": "fire", "trigger": str(theirs.id)}, format="json")
    assert response.status_code == 400
    assert "trigger" in response.json()
    response = api.post("/api/v1/api-keys", {"name": "x", "scope": "full", "trigger": str(webhook.id)}, format="json")
    assert response.status_code == 400
    assert "trigger" in response.json()
    assert not ApiKey.objects.exists()


def test_revoking_a_key_answers_204_and_its_next_request_is_401(api, owner, webhook) -> None:
    raw_key = new_key(owner)
    assert fire(key_client(raw_key), webhook).status_code == 201
    key_id = ApiKey.objects.get().id
    assert api.delete(f"/api/v1/api-keys/{key_id}").status_code == 204
    assert not ApiKey.objects.exists()
    response = fire(key_client(raw_key), webhook)
    assert response.status_code == 401
    assert key_client(raw_key).post(f"/api/v1/triggers/{webhook.id}/test").status_code == 401


def test_another_users_key_id_is_404_and_stays(other_api, owner) -> None:
    new_key(owner)
    key_id = ApiKey.objects.get().id
    assert other_api.delete(f"/api/v1/api-keys/{key_id}").status_code == 404
    assert other_api.get("/api/v1/api-keys").json() == []
    assert ApiKey.objects.filter(pk=key_id).exists()


def test_keys_need_a_sign_in(client) -> None:
    assert APIClient().get("/api/v1/api-keys").status_code == 401
    assert APIClient().post("/api/v1/api-keys", {"name": "x", "scope": "fire"}, format="json").status_code == 401


# --- Authenticating with a key ---------------------------------------------------


def test_a_fire_key_fires_and_tests_and_the_event_is_the_owners(owner, webhook) -> None:
    client = key_client(new_key(owner))
    response = fire(client, webhook, {"order": 7})
    assert response.status_code == 201
    assert response.json()["payload"] == {"order": 7}
    assert client.post(f"/api/v1/triggers/{webhook.id}/test").status_code == 201
    assert set(EventLog.objects.values_list("owner_id", flat=True)) == {owner.id}


def test_a_fire_key_cannot_list_read_or_change_anything_else(owner, webhook) -> None:
    client = key_client(new_key(owner))
    assert client.get("/api/v1/triggers").status_code == 403
    assert client.get(f"/api/v1/triggers/{webhook.id}").status_code == 403
    assert client.delete(f"/api/v1/triggers/{webhook.id}").status_code == 403
    assert client.get("/api/v1/event_logs").status_code == 403
    assert Trigger.objects.filter(pk=webhook.id).exists()


def test_a_key_for_one_trigger_cannot_fire_or_test_another(owner, webhook, other_webhook) -> None:
    client = key_client(new_key(owner, trigger=webhook))
    assert fire(client, other_webhook).status_code == 403
    assert client.post(f"/api/v1/triggers/{other_webhook.id}/test").status_code == 403
    assert fire(client, webhook).status_code == 201
    assert list(EventLog.objects.values_list("trigger_uuid", flat=True)) == [webhook.id]


def test_a_key_cannot_fire_another_users_trigger(owner, other_user) -> None:
    theirs = api_trigger(other_user)
    client = key_client(new_key(owner, scope="full"))
    assert fire(client, theirs).status_code == 404
    assert client.post(f"/api/v1/triggers/{theirs.id}/test").status_code == 404
    assert not EventLog.objects.exists()


def test_a_full_key_uses_the_api_but_not_keys_password_or_sign_out(owner, webhook) -> None:
    client = key_client(new_key(owner, scope="full"))
    assert client.get("/api/v1/triggers").json()["count"] == 1
    assert client.get("/api/v1/event_logs").status_code == 200
    assert fire(client, webhook).status_code == 201
    assert client.get("/api/v1/api-keys").status_code == 403
    assert client.post("/api/v1/api-keys", {"name": "more", "scope": "full"}, format="json").status_code == 403
    refused = client.post(
        "/api/v1/auth/password", {"current_password": PASSWORD, "new_password": "another-long-phrase"}, format="json"
    )
    assert refused.status_code == 403
    assert client.post("/api/v1/auth/logout-everywhere").status_code == 403
    assert ApiKey.objects.count() == 1
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


@pytest.mark.parametrize("raw_key", ["sw_unknown", "sw_" + "a" * 43])
def test_an_unknown_key_is_401(webhook, raw_key) -> None:
    assert fire(key_client(raw_key), webhook).status_code == 401
    assert key_client(raw_key).get("/api/v1/triggers").status_code == 401


@pytest.mark.parametrize("revoke", [user_sign_out_everywhere, "password"])
def test_a_password_change_or_sign_out_everywhere_ends_every_key_at_once(owner, webhook, revoke) -> None:
    fire_client, full_client = key_client(new_key(owner)), key_client(new_key(owner, scope="full"))
    assert fire(fire_client, webhook).status_code == 201
    if revoke == "password":
        user_change_password(user=owner, new_password="another-long-phrase")
    else:
        revoke(user=owner)
    assert fire(fire_client, webhook).status_code == 401
    assert full_client.get("/api/v1/triggers").status_code == 401


def test_an_inactive_users_key_is_401(owner, webhook) -> None:
    client = key_client(new_key(owner, scope="full"))
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert fire(client, webhook).status_code == 401
    assert client.get("/api/v1/triggers").status_code == 401


@pytest.mark.parametrize("path", ["/", "/triggers/", "/events/", "/admin/"])
def test_a_key_never_signs_in_to_a_page_or_the_admin(owner, path) -> None:
    owner.is_staff = owner.is_superuser = True
    owner.save()
    response = key_client(new_key(owner, scope="full")).get(path)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_it_records_the_last_use_at_most_once_a_minute(owner, webhook) -> None:
    client = key_client(new_key(owner))
    with time_machine.travel(NOW, tick=False):
        assert fire(client, webhook).status_code == 201
    assert ApiKey.objects.get().last_used_at == NOW
    with time_machine.travel(NOW + timedelta(seconds=59), tick=False), CaptureQueriesContext(connection) as queries:
        assert fire(client, webhook).status_code == 201
    assert ApiKey.objects.get().last_used_at == NOW
    assert not [q for q in queries if q["sql"].startswith("UPDATE") and ApiKey._meta.db_table in q["sql"]]
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        assert key_client(new_key(owner, scope="full")).get("/api/v1/triggers").status_code == 200
        assert fire(client, webhook).status_code == 201
    assert ApiKey.objects.filter(scope="fire").get().last_used_at == NOW + timedelta(seconds=61)


def test_firing_with_a_key_takes_no_more_queries_than_with_a_jwt(
    api, owner, webhook, django_assert_max_num_queries
) -> None:
    client = key_client(new_key(owner))
    # Warm both paths (last use recorded, throttle windows opened), then count a steady-state fire.
    fire(api, webhook), fire(client, webhook)
    with CaptureQueriesContext(connection) as jwt_queries:
        assert fire(api, webhook).status_code == 201
    assert len(jwt_queries) >= 1
    with django_assert_max_num_queries(len(jwt_queries)):
        assert fire(client, webhook).status_code == 201
