"""What a customer sees in Chromium: sign-up and sign-in, triggers through the forms, firing,
the events tabs, another user's view, and the real scheduler filling the events page.

Every flow asserts page text and, where a write happened, the row in the database.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone as django_timezone
from django.utils.timezone import now
from playwright.sync_api import Page, expect

from accounts.models import User
from eventlogs.models import EventLog
from eventlogs.services import eventlog_record
from triggers.models import Trigger
from triggers.services import trigger_create, trigger_fire

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-staple"
IST = zoneinfo.ZoneInfo("Asia/Kolkata")


def shown_as(moment: datetime, zone: zoneinfo.ZoneInfo = IST) -> str:
    """How the pages print a moment: ``1 Dec 2026, 10:00:05`` in the reader's zone."""
    local = django_timezone.localtime(moment, zone)
    return f"{local.day} {local.strftime('%b %Y, %H:%M:%S')}"


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/auth/login")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")


@pytest.fixture
def customer(live_server) -> User:
    return User.objects.create_user(email="customer@example.com", password=PASSWORD)


@pytest.fixture
def signed_in(page: Page, customer: User) -> Page:
    sign_in(page, customer.email)
    return page


def open_new_trigger_form(page: Page, *, name: str, type_: str = "scheduled", kind: str | None = None) -> None:
    page.goto("/triggers/new")
    page.fill("#id_name", name)
    page.select_option("#id_type", type_)
    if kind is not None:
        page.select_option("#id_schedule_kind", kind)


def submit_trigger_form(page: Page) -> None:
    page.click("form.trigger-form button[type=submit]")


def test_a_visitor_registers_lands_on_the_dashboard_logs_out_and_logs_in_again(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login"))

    page.click("text=Register")
    page.fill("#id_email", "newcomer@example.com")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_confirm", PASSWORD)
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator(".user-email")).to_have_text("newcomer@example.com")
    # The register page preselects the browser's zone (this context's is UTC).
    expect(page.locator(".user-zone")).to_have_text("UTC")
    assert User.objects.filter(email="newcomer@example.com").exists()

    page.click("text=Log out")
    expect(page.locator("h1")).to_have_text("Log in")
    page.goto("/triggers/")
    expect(page.locator("h1")).to_have_text("Log in")  # signed out: pages send you to sign in

    sign_in(page, "newcomer@example.com")
    expect(page.locator(".user-email")).to_have_text("newcomer@example.com")


def test_a_wrong_password_shows_an_error_and_signs_nobody_in(page: Page, customer: User) -> None:
    page.goto("/auth/login")
    page.fill("#id_username", customer.email)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")

    expect(page.locator(".errorlist")).to_contain_text("do not match an account")
    expect(page.locator("h1")).to_have_text("Log in")
    expect(page.locator(".user-email")).to_have_count(0)


def test_a_user_creates_a_scheduled_and_an_api_trigger_through_the_forms(signed_in: Page, customer: User) -> None:
    page = signed_in
    open_new_trigger_form(page, name="Every minute", kind="interval")
    page.fill("#id_interval", "60")
    submit_trigger_form(page)

    expect(page.locator(".messages")).to_contain_text("Trigger “Every minute” created.")
    expect(page.locator("h1")).to_have_text("Every minute")
    expect(page.locator(".schedule-words")).to_have_text("every minute")
    scheduled = Trigger.objects.get(owner=customer, name="Every minute")
    assert (scheduled.type, scheduled.interval_seconds, scheduled.enabled) == ("scheduled", 60, True)
    assert scheduled.next_fire_at is not None
    # An interval without a start fires at once: the page says so rather than show now as next.
    expect(page.locator(".next-firing")).to_have_text("due now, firing")

    open_new_trigger_form(page, name="Order placed", type_="api")
    page.fill("#id_api_payload", '{"source": "shop"}')
    submit_trigger_form(page)

    expect(page.locator(".messages")).to_contain_text("Trigger “Order placed” created.")
    expect(page.locator(".next-firing")).to_have_text("when called")
    api_trigger = Trigger.objects.get(owner=customer, name="Order placed")
    assert (api_trigger.type, api_trigger.api_payload) == ("api", {"source": "shop"})

    page.goto("/")
    cards = page.locator(".cards .card")
    expect(cards.nth(0).locator(".figure")).to_have_text("2")  # triggers
    expect(cards.nth(0)).to_contain_text("2 active")
    expect(cards.nth(1)).to_contain_text("0 once · 1 interval · 0 cron")
    expect(cards.nth(2).locator(".figure")).to_have_text("1")  # API triggers

    page.goto("/triggers/")
    expect(page.locator("table.triggers tbody tr")).to_have_count(2)
    expect(page.locator("table.triggers")).to_contain_text("Every minute")
    expect(page.locator("table.triggers")).to_contain_text("Order placed")


BAD_FORMS = {
    "interval below the minimum": ("interval", {"#id_interval": "59"}, "#id_interval_error", "60"),
    "run_at in the past": ("once", {"#id_run_at": "2020-01-01T10:00:00"}, "#id_run_at_error", "future"),
    "invalid cron": ("cron", {"#id_cron": "61 * * * *"}, "#id_cron_error", "cron"),
    "invalid JSON payload": (None, {"#id_api_payload": '{"order": 42,'}, "#id_api_payload_error", "JSON"),
}


@pytest.mark.parametrize("problem", BAD_FORMS)
def test_a_bad_trigger_form_shows_the_fields_error_and_creates_nothing(
    signed_in: Page, customer: User, problem: str
) -> None:
    page = signed_in
    kind, values, error_list, words = BAD_FORMS[problem]
    open_new_trigger_form(page, name="Broken", type_="scheduled" if kind else "api", kind=kind)
    for selector, value in values.items():
        page.fill(selector, value)
    submit_trigger_form(page)

    expect(page.locator("h1")).to_have_text("New trigger")
    expect(page.locator(error_list)).to_be_visible()
    expect(page.locator(error_list)).to_contain_text(words)
    # What the user typed is still there to correct.
    for selector, value in values.items():
        assert value in page.input_value(selector) or page.input_value(selector).startswith(value[:16])
    assert not Trigger.objects.filter(owner=customer).exists()


def test_firing_an_api_trigger_from_its_page_shows_the_event_in_the_users_time_zone(
    signed_in: Page, customer: User
) -> None:
    page = signed_in
    trigger = trigger_create(owner=customer, values={"name": "Checkout", "type": "api"})
    page.goto(f"/triggers/{trigger.id}/")
    expect(page.locator("table.events")).to_have_count(0)

    page.fill("#id_payload", json.dumps({"order": 42, "note": "<b>bold</b>"}))
    page.click("text=Fire now")

    expect(page.locator(".messages")).to_contain_text("Fired: event")
    event = EventLog.objects.get(trigger=trigger)
    assert (event.source, event.payload) == ("api", {"order": 42, "note": "<b>bold</b>"})
    row = page.locator("table.events tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("time").first).to_have_text(shown_as(event.fired_at))
    expect(row.locator("time").first).to_have_attribute("title", "IST")
    expect(row).to_contain_text('"order": 42')
    expect(row).to_contain_text("<b>bold</b>")  # shown as text, not rendered as markup
    expect(row.locator("pre b")).to_have_count(0)
    expect(row).to_contain_text("API")

    page.goto("/events/")
    expect(page.locator("table.events")).to_contain_text("Checkout")
    expect(page.locator("table.events time").first).to_have_text(shown_as(event.fired_at))


def test_a_bad_fire_payload_shows_an_error_and_logs_nothing(signed_in: Page, customer: User) -> None:
    page = signed_in
    trigger = trigger_create(owner=customer, values={"name": "Checkout", "type": "api"})
    page.goto(f"/triggers/{trigger.id}/")
    page.fill("#id_payload", "[1, 2, 3]")
    page.click("text=Fire now")
    expect(page.locator("#id_payload_error")).to_contain_text("JSON object")
    assert not EventLog.objects.filter(trigger=trigger).exists()


def test_test_firing_a_scheduled_trigger_logs_a_test_event(signed_in: Page, customer: User) -> None:
    page = signed_in
    trigger = trigger_create(
        owner=customer,
        values={"name": "Nightly", "type": "scheduled", "schedule_details": {"cron": "0 2 * * *"}},
    )
    page.goto(f"/triggers/{trigger.id}/")
    expect(page.locator(".schedule-words")).to_contain_text("02:00")
    page.click("button:has-text('Test')")

    expect(page.locator(".messages")).to_contain_text("Test event")
    event = EventLog.objects.get(trigger=trigger)
    assert (event.source, event.is_test) == ("test", True)
    row = page.locator("table.events tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Test")
    expect(row.locator("time").first).to_have_text(shown_as(event.fired_at))


def test_a_trigger_can_be_paused_edited_and_deleted(signed_in: Page, customer: User) -> None:
    page = signed_in
    trigger = trigger_create(
        owner=customer,
        values={"name": "Heartbeat", "type": "scheduled", "schedule_details": {"interval_seconds": 300}},
    )
    trigger_fire_history = eventlog_record(
        owner_id=customer.pk,
        trigger_id=trigger.id,
        trigger_name=trigger.name,
        trigger_type=trigger.type,
        source="scheduled",
        payload={"beat": 1},
    )
    page.goto(f"/triggers/{trigger.id}/")

    page.click("button:has-text('Pause')")
    expect(page.locator(".messages")).to_contain_text("Trigger paused.")
    expect(page.locator(".badges")).to_contain_text("Paused")
    expect(page.locator(".next-firing")).to_have_text("none scheduled")
    trigger.refresh_from_db()
    assert (trigger.enabled, trigger.next_fire_at) == (False, None)

    page.click("text=Edit")
    page.fill("#id_name", "Heartbeat, slower")
    # The edit form shows the 60 s interval as 1 minute: ten of them is 600 s.
    expect(page.locator("#id_interval_unit")).to_have_value("minutes")
    page.fill("#id_interval", "10")
    page.click("form.trigger-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Trigger “Heartbeat, slower” saved.")
    expect(page.locator("h1")).to_have_text("Heartbeat, slower")
    expect(page.locator(".schedule-words")).to_have_text("every 10 minutes")
    trigger.refresh_from_db()
    assert (trigger.name, trigger.interval_seconds) == ("Heartbeat, slower", 600)

    page.click("button:has-text('Resume')")
    expect(page.locator(".messages")).to_contain_text("Trigger resumed.")
    trigger.refresh_from_db()
    assert trigger.enabled
    assert trigger.next_fire_at is not None

    page.click("a.button.danger")
    expect(page.locator("h1")).to_have_text("Delete “Heartbeat, slower”?")
    expect(page.locator(".confirm")).to_contain_text("1 event log stays")
    page.click("text=Yes, delete it")
    expect(page.locator(".messages")).to_contain_text("deleted")
    expect(page.locator("h1")).to_have_text("Triggers")
    expect(page.locator(".content")).to_contain_text("No triggers yet")
    assert not Trigger.objects.filter(pk=trigger.pk).exists()
    # Its history stays readable, marked as belonging to a deleted trigger.
    page.goto("/events/")
    expect(page.locator("table.events")).to_contain_text("deleted")
    assert EventLog.objects.filter(pk=trigger_fire_history.pk).exists()


def test_the_events_tabs_show_active_archived_and_all_logs(signed_in: Page, customer: User) -> None:
    page = signed_in
    trigger = trigger_create(owner=customer, values={"name": "Seeded", "type": "api"})
    moment = now()
    for minutes_ago, label in ((10, "fresh"), (3 * 60, "old"), (50 * 60, "expired")):
        eventlog_record(
            owner_id=customer.pk,
            trigger_id=trigger.id,
            trigger_name=trigger.name,
            trigger_type=trigger.type,
            source="api",
            payload={"seeded": label},
            fired_at=moment - timedelta(minutes=minutes_ago),
        )
    rows = page.locator("table.events tbody tr")

    page.goto("/events/")
    expect(page.locator(".tabs [aria-current=page]")).to_have_text("Active")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text('"fresh"')
    expect(rows.locator(".badge.active")).to_have_count(1)

    page.click(".tabs >> text=Archived")
    expect(page.locator(".tabs [aria-current=page]")).to_have_text("Archived")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text('"old"')
    expect(rows.locator(".badge.archived")).to_have_count(1)

    page.click(".tabs >> text=All")
    expect(page.locator(".tabs [aria-current=page]")).to_have_text("All")
    expect(rows).to_have_count(2)
    expect(page.locator("table.events")).not_to_contain_text('"expired"')  # 48 h old: gone
    expect(rows.nth(0)).to_contain_text('"fresh"')  # newest first
    expect(rows.nth(1)).to_contain_text('"old"')


def test_a_second_user_sees_none_of_the_first_users_triggers_or_events(page: Page, customer: User) -> None:
    trigger = trigger_create(owner=customer, values={"name": "Private ledger", "type": "api"})
    trigger_fire(trigger=trigger, payload={"secret": "ledger-42"})
    User.objects.create_user(email="neighbour@example.com", password=PASSWORD)

    sign_in(page, "neighbour@example.com")
    expect(page.locator(".content")).to_contain_text("Nothing has fired yet.")
    page.goto("/triggers/")
    expect(page.locator(".content")).to_contain_text("No triggers yet")
    page.goto("/events/?status=all")
    expect(page.locator(".content")).to_contain_text("No events in this tab.")
    for path in ("/", "/triggers/", "/events/?status=all"):
        page.goto(path)
        expect(page.locator("body")).not_to_contain_text("Private ledger")
        expect(page.locator("body")).not_to_contain_text("ledger-42")

    response = page.goto(f"/triggers/{trigger.id}/")
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Private ledger")


@pytest.mark.e2e
def test_with_the_scheduler_running_a_due_trigger_appears_on_the_events_page(
    signed_in: Page, customer: User, scheduler_process
) -> None:
    page = signed_in
    due = now() + timedelta(seconds=4)
    trigger = trigger_create(
        owner=customer,
        values={"name": "Due soon", "type": "scheduled", "schedule_details": {"run_at": due.isoformat()}},
    )
    page.goto("/events/")
    expect(page.locator(".content")).to_contain_text("No events in this tab.")

    deadline = now() + timedelta(seconds=45)
    rows = page.locator("table.events tbody tr")
    while rows.count() == 0 and now() < deadline:
        scheduler_process.assert_running()
        page.wait_for_timeout(1000)  # a real process on a real clock: poll the page as a user would
        page.reload()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Due soon")
    expect(rows).to_contain_text("Scheduled")
    event = EventLog.objects.get(trigger=trigger)
    assert event.scheduled_for == trigger.run_at
    assert event.fired_at >= due
    expect(rows.locator("time").first).to_have_text(shown_as(event.fired_at))
