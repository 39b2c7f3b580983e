"""The account side in Chromium: sign-up in the browser's zone and a one-time trigger typed in
it firing at that local time, an API key made on the settings page and used by a script, and
a password reset through the emailed link."""

from __future__ import annotations

import re
import time
import zoneinfo
from collections.abc import Generator
from datetime import timedelta

import pytest
import requests
from django.core import mail
from django.utils import timezone as django_timezone
from django.utils.timezone import now
from playwright.sync_api import Browser, Page, expect

from accounts.models import ApiKey, User
from eventlogs.models import EventLog
from triggers.dispatch import triggers_dispatch_due
from triggers.models import Trigger
from triggers.services import trigger_create

pytestmark = pytest.mark.browser

ZONE = "America/New_York"  # the browser's zone, not the server's default (Asia/Kolkata)
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def new_york_page(browser: Browser, live_server) -> Generator[Page]:
    context = browser.new_context(base_url=live_server.url, timezone_id=ZONE, locale="en-US")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def register(page: Page, email: str) -> None:
    page.goto("/auth/register")
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_confirm", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_a_user_signs_up_in_their_browsers_zone_and_a_typed_local_time_fires_then(new_york_page: Page) -> None:
    page = new_york_page
    page.goto("/auth/register")
    expect(page.locator("#id_timezone")).to_have_value(ZONE)  # preselected by static/accounts/timezone.js
    register(page, "ny@example.com")
    user = User.objects.get(email="ny@example.com")
    assert user.timezone == ZONE

    page.goto("/triggers/new")
    local_due = django_timezone.localtime(now() + timedelta(seconds=6), zoneinfo.ZoneInfo(ZONE)).replace(microsecond=0)
    expect(page.locator(".content")).to_contain_text(f"In your time zone, {ZONE}, where it is now")
    page.fill("#id_name", "Wake up")
    page.select_option("#id_type", "scheduled")
    page.select_option("#id_schedule_kind", "once")
    page.fill("#id_run_at", local_due.strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("form.trigger-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("created")
    trigger = Trigger.objects.get(owner=user, name="Wake up")
    assert trigger.run_at == local_due  # the typed wall time, read in New York

    # The dispatch service the scheduler runs, called as the clock reaches the slot.
    assert triggers_dispatch_due() == []
    while now() < local_due:
        time.sleep(0.2)
    (fired,) = triggers_dispatch_due()
    assert fired.trigger_id == trigger.id
    event = EventLog.objects.get(trigger=trigger)
    assert event.scheduled_for == local_due
    assert local_due <= event.fired_at < local_due + timedelta(seconds=5)
    page.goto("/events/")
    expect(page.locator("table.events tbody tr")).to_contain_text(f"{local_due:%H:%M:%S}")


def test_an_api_key_made_on_the_settings_page_fires_from_a_script(new_york_page: Page, live_server) -> None:
    page = new_york_page
    register(page, "scripter@example.com")
    user = User.objects.get(email="scripter@example.com")
    hook = trigger_create(owner=user, values={"name": "deploy hook", "type": "api"})

    page.goto("/settings")
    expect(page.locator(".local-time")).to_contain_text(ZONE)
    page.fill("#id_name", "CI")
    page.select_option("#id_scope", "fire")
    page.select_option("#id_trigger", str(hook.id))
    page.click("#api-keys form:has(#id_name) button[type=submit]")
    raw_key = page.locator(".api-key-value").inner_text()
    assert raw_key.startswith("sw_")

    def fire_from_a_script() -> requests.Response:
        return requests.post(
            f"{live_server.url}/api/v1/triggers/{hook.id}/fire",
            json={"release": "1.2.3"},
            headers={"Authorization": f"Bearer {raw_key}"},
            timeout=10,
        )

    response = fire_from_a_script()
    assert response.status_code == 201
    assert response.json()["payload"] == {"release": "1.2.3"}
    assert EventLog.objects.get(trigger=hook).payload == {"release": "1.2.3"}
    assert ApiKey.objects.get(user=user).last_used_at is not None

    page.goto("/settings")
    expect(page.locator("table.api-keys")).to_contain_text("CI")
    expect(page.locator(".content")).not_to_contain_text(raw_key)
    page.click("table.api-keys button:has-text('Revoke')")
    expect(page.locator(".messages")).to_contain_text("revoked")
    assert fire_from_a_script().status_code == 401


def test_a_forgotten_password_is_reset_through_the_emailed_link(new_york_page: Page, live_server) -> None:
    page = new_york_page
    User.objects.create_user(email="forgetful@example.com", password=PASSWORD)
    mail.outbox.clear()
    page.goto("/auth/login")
    page.click("text=Forgot your password?")
    page.fill("#id_email", "forgetful@example.com")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Check your email")
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/auth/reset/\S+/", message.body)[0]

    page.goto(link)
    expect(page.locator("h1")).to_have_text("Choose a new password")
    page.fill("#id_new_password1", "a-brand-new-passphrase-93")
    page.fill("#id_new_password2", "a-brand-new-passphrase-93")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your password is set")

    page.goto("/auth/login")
    page.fill("#id_username", "forgetful@example.com")
    page.fill("#id_password", "a-brand-new-passphrase-93")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
