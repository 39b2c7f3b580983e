"""The trigger form's live schedule preview, the copy buttons of an API trigger, and the
list's bulk actions, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.browser.test_flows import PASSWORD, sign_in
from triggers.models import Trigger
from triggers.services import trigger_create

pytestmark = pytest.mark.browser


@pytest.fixture
def customer(live_server) -> User:
    return User.objects.create_user(email="tools@example.com", password=PASSWORD)


@pytest.fixture
def signed_in(page: Page, customer: User) -> Page:
    sign_in(page, customer.email)
    return page


def make(owner: User, name: str, **values) -> Trigger:
    defaults = {"name": name, "type": "scheduled", "schedule_details": {"interval_seconds": 60}}
    return trigger_create(owner=owner, values={**defaults, **values})


def test_the_form_previews_the_schedule_as_the_user_types(signed_in: Page, customer: User) -> None:
    page = signed_in
    page.goto("/triggers/new")
    page.select_option("#id_schedule_kind", "cron")
    preview = page.locator("#schedule-preview")

    page.fill("#id_cron", "30 9 * * 1-5")
    expect(preview).to_contain_text("Fires at 09:30 on weekdays (Asia/Kolkata)")
    expect(preview.locator("li")).to_have_count(5)
    expect(preview.locator("li").first).to_contain_text("09:30")

    page.fill("#id_cron", "61 * * * *")
    expect(preview).to_contain_text("Cron expression: Not a valid cron expression")

    page.select_option("#id_schedule_kind", "interval")
    page.fill("#id_interval", "5")
    page.select_option("#id_interval_unit", "minutes")
    expect(preview).to_contain_text("Fires every 5 minutes")
    assert not Trigger.objects.filter(owner=customer).exists()


def test_the_copy_button_copies_an_api_triggers_fire_url(signed_in: Page, customer: User, live_server) -> None:
    page = signed_in
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    trigger = make(customer, "Webhook", type="api", schedule_details=None)
    page.goto(f"/triggers/{trigger.id}/")

    page.get_by_role("button", name="Copy URL").click()

    expect(page.locator(".copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == f"{live_server.url}/api/v1/triggers/{trigger.id}/fire"
    page.locator("[data-copy=snippet-1]").click()
    assert page.evaluate("navigator.clipboard.readText()").startswith("curl -X POST ")


def test_bulk_pause_then_delete_from_the_list(signed_in: Page, customer: User) -> None:
    page = signed_in
    for name in ("First", "Second", "Kept"):
        make(customer, name)
    page.goto("/triggers/")

    page.get_by_label("Select “First”").check()
    page.get_by_label("Select “Second”").check()
    page.select_option("#bulk-action", "pause")
    page.get_by_role("button", name="Apply to ticked").click()

    expect(page.locator(".messages")).to_contain_text("Paused 2 triggers.")
    assert set(Trigger.objects.filter(enabled=False).values_list("name", flat=True)) == {"First", "Second"}

    page.get_by_label("Select “First”").check()
    page.select_option("#bulk-action", "delete")
    page.get_by_role("button", name="Apply to ticked").click()
    expect(page.locator("h1")).to_have_text("Delete 1 trigger?")
    page.get_by_role("button", name="Yes, delete it").click()

    expect(page.locator(".messages")).to_contain_text("Deleted 1 trigger")
    assert set(Trigger.objects.values_list("name", flat=True)) == {"Second", "Kept"}
