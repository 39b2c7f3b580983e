"""The settings page, sign-up's time zone, and deleting an account (page and API)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiKey, User
from accounts.services import api_key_create
from eventlogs.models import EventLog
from tests.support import PASSWORD, bearer_client
from triggers.dispatch import triggers_dispatch_due
from triggers.models import Trigger
from triggers.services import trigger_create, trigger_fire

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BACKEND = "django.contrib.auth.backends.ModelBackend"


def test_the_settings_page_shows_the_zone_with_its_current_time_and_every_section(browser, owner) -> None:
    with time_machine.travel(NOON, tick=False):
        page = browser.get("/settings").content.decode()
    assert "It is now <strong>1 Jun 2026, 17:30</strong> in your time zone, <strong>Asia/Kolkata</strong>" in page
    assert 'list="timezone-names"' in page
    assert '<option value="Europe/Berlin">' in page
    for heading in ("Email and time zone", "Password and sessions", "API keys", "Delete your account"):
        assert heading in page
    assert 'href="/auth/password"' in page
    assert 'action="/auth/logout-everywhere"' in page
    assert "<script>" not in page  # no inline scripts: a CSP is coming


def test_the_settings_page_needs_a_sign_in() -> None:
    response = Client().get("/settings")
    assert response.status_code == 302
    assert "/auth/login" in response["Location"]


def test_it_changes_the_zone_in_any_letter_case_and_stores_it_canonically(browser, owner) -> None:
    response = browser.post("/settings", {"action": "profile", "email": owner.email, "timezone": "europe/berlin"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.timezone == "Europe/Berlin"


def test_it_refuses_an_unknown_zone_naming_the_field(browser, owner) -> None:
    response = browser.post("/settings", {"action": "profile", "email": owner.email, "timezone": "Mars/Base"})
    assert response.status_code == 400
    assert "is not an IANA time zone name" in response.content.decode()
    owner.refresh_from_db()
    assert owner.timezone == "Asia/Kolkata"


def test_changing_the_email_takes_the_current_password(browser, owner) -> None:
    form = {"action": "profile", "email": "new@example.com", "timezone": "UTC"}
    refused = browser.post("/settings", {**form, "current_password": "wrong-password"})
    assert refused.status_code == 400
    assert "Give your current password" in refused.content.decode()
    assert User.objects.filter(email="owner@example.com").exists()
    assert browser.post("/settings", {**form, "current_password": PASSWORD}).status_code == 302
    owner.refresh_from_db()
    assert owner.email == "new@example.com"


def test_it_refuses_an_email_another_account_has(browser, owner, other_user) -> None:
    form = {"action": "profile", "email": other_user.email, "timezone": "UTC", "current_password": PASSWORD}
    response = browser.post("/settings", form)
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_it_creates_a_key_shows_it_once_and_revokes_it(browser, owner) -> None:
    response = browser.post("/settings", {"action": "create_key", "name": "deploy", "scope": "fire", "trigger": ""})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw_key = re.search(r'<code class="api-key-value">(sw_[\w-]+)</code>', response.content.decode())[1]
    key = ApiKey.objects.get()
    assert key.digest == ApiKey.digest_of(raw_key)
    listing = browser.get("/settings").content.decode()
    assert raw_key not in listing
    assert key.prefix in listing
    assert browser.post("/settings", {"action": "revoke_key", "key": str(key.id)}).status_code == 302
    assert not ApiKey.objects.exists()


def test_a_key_can_be_limited_to_one_of_the_users_own_triggers(browser, owner, other_user) -> None:
    mine = trigger_create(owner=owner, values={"name": "mine", "type": "api"})
    theirs = trigger_create(owner=other_user, values={"name": "theirs", "type": "api"})
    page = browser.get("/settings").content.decode()
    assert str(mine.id) in page
    assert str(theirs.id) not in page
    refused = browser.post("/settings", {"action": "create_key", "name": "x", "scope": "fire", "trigger": theirs.id})
    assert refused.status_code == 400
    made = browser.post("/settings", {"action": "create_key", "name": "x", "scope": "fire", "trigger": mine.id})
    assert made.status_code == 200
    assert ApiKey.objects.get().trigger_id == mine.id


def test_revoking_another_users_key_is_404(browser, other_user) -> None:
    theirs = api_key_create(user=other_user, name="theirs", scope="full").key
    assert browser.post("/settings", {"action": "revoke_key", "key": str(theirs.id)}).status_code == 404
    assert ApiKey.objects.filter(pk=theirs.pk).exists()


# --- Sign-up's zone -------------------------------------------------------------------


def test_the_register_page_offers_every_zone_and_preselects_the_browsers_from_a_static_script() -> None:
    page = Client().get("/auth/register").content.decode()
    assert 'src="/static/accounts/timezone.js"' in page
    assert "data-browser-timezone" in page
    assert 'value="Asia/Kolkata"' in page  # the default until the script runs
    assert '<option value="America/New_York">' in page
    assert "<script>" not in page


def test_registering_keeps_the_chosen_zone_in_its_canonical_spelling() -> None:
    client = Client()
    form = {
        "email": "berlin@example.com",
        "password": "a-long-enough-passphrase",
        "password_confirm": "a-long-enough-passphrase",
        "timezone": "europe/BERLIN",
    }
    assert client.post("/auth/register", form).status_code == 302
    assert User.objects.get(email="berlin@example.com").timezone == "Europe/Berlin"


# --- Deleting an account ----------------------------------------------------------------


def _owned_things(owner: User) -> Trigger:
    webhook = trigger_create(owner=owner, values={"name": "webhook", "type": "api"})
    trigger_fire(trigger=webhook, payload={"n": 1})
    api_key_create(user=owner, name="ci", scope="full")
    return webhook


def _nothing_left(owner_id: int) -> None:
    assert not User.objects.filter(pk=owner_id).exists()
    assert not Trigger.objects.filter(owner_id=owner_id).exists()
    assert not EventLog.objects.filter(owner_id=owner_id).exists()
    assert not ApiKey.objects.filter(user_id=owner_id).exists()


def test_the_api_deletes_the_account_and_everything_it_owns(api, owner, other_user) -> None:
    _owned_things(owner)
    theirs = _owned_things(other_user)
    response = api.delete("/api/v1/auth/me", {"password": PASSWORD}, format="json")
    assert response.status_code == 204
    _nothing_left(owner.pk)
    assert Trigger.objects.filter(pk=theirs.pk).exists()
    assert EventLog.objects.filter(owner=other_user).count() == 1
    assert api.get("/api/v1/triggers").status_code == 401


@pytest.mark.parametrize(("body", "field"), [({"password": "wrong-password"}, "password"), ({}, "password")])
def test_the_api_refuses_to_delete_without_the_password(api, owner, body, field) -> None:
    response = api.delete("/api/v1/auth/me", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert User.objects.filter(pk=owner.pk).exists()


def test_an_api_key_cannot_delete_the_account(owner) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=owner, name='x', scope='full').raw_key}")
    assert client.delete("/api/v1/auth/me", {"password": PASSWORD}, format="json").status_code == 403
    assert User.objects.filter(pk=owner.pk).exists()


def test_the_page_deletes_the_account_after_a_typed_confirmation_and_signs_out(browser, owner) -> None:
    _owned_things(owner)
    other_browser = Client()
    other_browser.force_login(owner, backend=BACKEND)
    wrong = browser.post("/settings/delete-account", {"confirmation": "someone@example.com", "password": PASSWORD})
    assert wrong.status_code == 400
    assert User.objects.filter(pk=owner.pk).exists()
    owner_id, own_session = owner.pk, browser.session.session_key
    response = browser.post("/settings/delete-account", {"confirmation": owner.email, "password": PASSWORD})
    assert response.status_code == 302
    _nothing_left(owner_id)
    assert browser.get("/settings").status_code == 302
    assert other_browser.get("/settings").status_code == 302
    # This browser's session is gone; another's signs in no one (its user id resolves to nothing)
    # and goes with Django's clearsessions when it expires.
    assert not Session.objects.filter(pk=own_session).exists()


def test_the_scheduler_never_fires_a_deleted_accounts_trigger_due_in_a_second(owner, other_user) -> None:
    with time_machine.travel(NOON, tick=False):
        due = trigger_create(
            owner=owner,
            values={"name": "soon", "type": "scheduled", "schedule_details": {"run_at": "2026-06-01T12:00:01Z"}},
        )
        control = trigger_create(
            owner=other_user,
            values={"name": "control", "type": "scheduled", "schedule_details": {"run_at": "2026-06-01T12:00:01Z"}},
        )
        assert due.next_fire_at == NOON + timedelta(seconds=1)
        response = bearer_client(owner).delete("/api/v1/auth/me", {"password": PASSWORD}, format="json")
        assert response.status_code == 204
    with time_machine.travel(NOON + timedelta(seconds=2), tick=False):
        fired = triggers_dispatch_due()
    assert [outcome.trigger_id for outcome in fired] == [control.id]
    assert list(EventLog.objects.values_list("trigger_uuid", flat=True)) == [control.id]
