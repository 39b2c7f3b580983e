"""The delivery pages and the delivery parts of the trigger, event and dashboard pages."""

from __future__ import annotations

import pytest
from django.test import Client

from deliveries.models import Delivery, SigningSecret, Target
from triggers.services import trigger_create, trigger_fire

pytestmark = pytest.mark.django_db


def make(owner, url="https://hooks.example.com/in"):
    return trigger_create(owner=owner, values={"name": "Orders", "type": "api", "target": {"url": url}})


def test_the_trigger_form_sets_and_clears_a_target(browser, owner):
    response = browser.post(
        "/triggers/new",
        {
            "name": "Hooked",
            "type": "api",
            "enabled": "on",
            "target_url": "https://hooks.example.com/in",
            "target_headers": "X-Team: billing",
            "target_timeout": "7",
        },
    )
    assert response.status_code == 302
    target = Target.objects.get()
    assert (target.url, target.headers, target.timeout_seconds) == (
        "https://hooks.example.com/in",
        {"X-Team": "billing"},
        7,
    )
    edit = f"/triggers/{target.trigger_id}/edit"
    assert "https://hooks.example.com/in" in browser.get(edit).content.decode()
    browser.post(edit, {"name": "Hooked", "type": "api", "enabled": "on", "target_url": ""})
    assert not Target.objects.exists()


def test_the_trigger_form_shows_a_refused_target_on_its_field(browser):
    response = browser.post(
        "/triggers/new",
        {
            "name": "Hooked",
            "type": "api",
            "enabled": "on",
            "target_url": "http://169.254.169.254/",
            "target_timeout": "5",
        },
    )
    assert response.status_code == 400
    assert "Must be a public address" in response.content.decode()
    assert not Target.objects.exists()


def test_the_trigger_page_shows_the_target_buttons_and_the_verification_help(browser, owner):
    trigger = make(owner)
    page = browser.get(f"/triggers/{trigger.id}/").content.decode()
    assert "https://hooks.example.com/in" in page
    assert "Send test" in page
    assert "webhook-signature" in page
    assert "Webhook(" in page


def test_the_event_page_shows_the_delivery_and_redeliver_restarts_it(browser, owner):
    event = trigger_fire(trigger=make(owner), payload={}).event
    Delivery.objects.filter(pk=event.id).update(state="failed", attempt_count=8, next_attempt_at=None)
    page = browser.get(f"/events/{event.id}/").content.decode()
    assert "failed" in page
    assert "Redeliver" in page
    response = browser.post(f"/events/{event.id}/redeliver")
    assert response.status_code == 302
    assert Delivery.objects.get(pk=event.id).state == "pending"


def test_a_poll_of_the_event_page_gets_the_delivery_once_it_changes(browser, owner, other_user):
    event = trigger_fire(trigger=make(owner), payload={}).event
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "event-delivery"}
    first = browser.get(f"/events/{event.id}/", **poll).content.decode()
    version = first.split('"live_version": "')[1].split('"')[0]
    unchanged = browser.get(f"/events/{event.id}/?live_version={version}", **poll)
    Delivery.objects.filter(pk=event.id).update(state="delivered", attempt_count=1)
    changed = browser.get(f"/events/{event.id}/?live_version={version}", **poll)
    stranger = Client()
    stranger.force_login(other_user, backend="django.contrib.auth.backends.ModelBackend")

    assert first.startswith('<div id="event-delivery"')
    assert "Redeliver" in first  # its form's CSRF token, fresh on each render, is no change
    assert unchanged.status_code == 204
    assert changed.status_code == 200
    assert "delivery-delivered" in changed.content.decode()
    assert stranger.get(f"/events/{event.id}/", **poll).status_code == 404


def test_the_events_table_shows_a_delivery_badge(browser, owner):
    event = trigger_fire(trigger=make(owner), payload={}).event
    page = browser.get("/events/").content.decode()
    assert f'href="/events/{event.id}/"' in page
    assert "delivery-pending" in page


def test_another_users_event_page_is_404(owner, other_user):
    event = trigger_fire(trigger=make(owner), payload={}).event
    other = Client()
    other.force_login(other_user, backend="django.contrib.auth.backends.ModelBackend")
    assert other.get(f"/events/{event.id}/").status_code == 404
    assert other.post(f"/events/{event.id}/redeliver").status_code == 404


def test_the_dashboard_lists_triggers_that_need_attention(browser, owner):
    event = trigger_fire(trigger=make(owner), payload={}).event
    Delivery.objects.filter(pk=event.id).update(state="failed", next_attempt_at=None)
    page = browser.get("/").content.decode()
    assert "Needs attention" in page
    assert "1 delivery failed" in page


def test_rotating_the_secret_shows_the_new_one_once(browser, owner):
    make(owner)
    page = browser.post("/signing-secret/rotate").content.decode()
    assert "whsec_" in page


def test_the_settings_page_shows_the_signing_secret_by_its_prefix_and_a_new_one_once(browser, owner, other_user):
    assert "You have no signing secret yet" in browser.get("/settings").content.decode()

    created = browser.post("/signing-secret/rotate").content.decode()
    secret = SigningSecret.objects.get(owner=owner)
    assert secret.secret in created

    page = browser.get("/settings").content.decode()
    assert f"<code>{secret.prefix}…</code>" in page
    assert secret.secret not in page
    assert not SigningSecret.objects.filter(owner=other_user).exists()
