"""In Chromium: set a target on a trigger, fire it, see it delivered with its attempts;
then a failing receiver, "retrying", and Redeliver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from deliveries.models import Delivery
from deliveries.tests.conftest import RunningWorker
from deliveries.tests.receiver import Receiver, Reply
from eventlogs.models import EventLog
from tests.browser.test_flows import PASSWORD, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def worker(live_server, settings) -> Iterator[RunningWorker]:
    # Receivers listen on 127.0.0.1; the second attempt waits a minute, so "retrying" stays on screen.
    settings.DELIVERY_ALLOW_PRIVATE_TARGETS = True
    settings.DELIVERY_RETRY_SCHEDULE = [0, 60]
    running = RunningWorker().start()
    yield running
    running.stop()


def test_a_target_set_in_the_form_receives_the_firing_and_a_failure_can_be_redelivered(
    page: Page, live_server, receiver: Receiver, worker: RunningWorker
) -> None:
    customer = User.objects.create_user(email="hooked@example.com", password=PASSWORD)
    sign_in(page, customer.email)
    page.goto("/triggers/new")
    page.fill("#id_name", "Checkout hook")
    page.select_option("#id_type", "api")
    page.fill("#id_target_url", receiver.url)
    page.fill("#id_target_headers", "X-Shop: north")
    page.click("form.trigger-form button[type=submit]")
    expect(page.locator(".target-url")).to_have_text(receiver.url)

    page.fill("#id_payload", '{"order": 7}')
    page.click("text=Fire now")
    expect(page.locator(".messages")).to_contain_text("Fired: event")
    (got,) = receiver.wait_for(1)
    assert got.headers["x-shop"] == "north"
    event = EventLog.objects.get(trigger__name="Checkout hook")
    page.goto(f"/events/{event.id}/")
    for _ in range(50):  # the worker records the attempt just after the receiver answers
        if Delivery.objects.get(pk=event.id).state == "delivered":
            break
        page.wait_for_timeout(100)
    page.reload()
    expect(page.locator(".delivery-state")).to_contain_text("delivered")
    expect(page.locator("ol.attempts li")).to_have_count(1)
    expect(page.locator("ol.attempts li")).to_contain_text("HTTP 200")

    receiver.default = Reply(status=503, body=b"down for maintenance")
    page.goto(f"/triggers/{event.trigger_id}/")
    page.click("text=Fire now")
    receiver.wait_for(2)
    failing = EventLog.objects.filter(trigger__name="Checkout hook").exclude(pk=event.id).get()
    for _ in range(50):
        if Delivery.objects.get(pk=failing.id).state == "retrying":
            break
        page.wait_for_timeout(100)
    page.goto("/events/")
    expect(page.locator(f'a.badge[href="/events/{failing.id}/"]')).to_have_text("retrying")
    page.click(f'a.badge[href="/events/{failing.id}/"]')
    expect(page.locator(".delivery-state")).to_contain_text("retrying")
    expect(page.locator("ol.attempts")).to_contain_text("HTTP 503")
    expect(page.locator("ol.attempts")).to_contain_text("down for maintenance")

    receiver.default = Reply(status=200)
    page.click("button:text('Redeliver')")
    expect(page.locator(".messages")).to_contain_text("Redelivering")
    receiver.wait_for(3)
    for _ in range(50):
        if Delivery.objects.get(pk=failing.id).state == "delivered":
            break
        page.wait_for_timeout(100)
    page.reload()
    expect(page.locator(".delivery-state")).to_contain_text("delivered")
    expect(page.locator("ol.attempts li")).to_have_count(2)
    ids = {request.headers["webhook-id"] for request in receiver.received[1:]}
    assert ids == {str(failing.id)}  # the replay carries the same webhook-id
