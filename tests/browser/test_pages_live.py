"""Every page at a desktop's 1280 px and a phone's 390 px: nothing scrolls sideways (not even
with a 200-character name), axe-core finds no serious or critical violation, and a firing made
through the API shows on the open dashboard, events, trigger and event pages without a reload.

Screenshots of each page at both widths go to .ci/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.contrib.sessions.models import Session
from django.utils.timezone import now
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.services import api_key_create
from deliveries.models import Delivery
from eventlogs.models import EventLog
from eventlogs.services import eventlog_record
from tests.browser.test_flows import PASSWORD, sign_in
from tests.support import REPOSITORY
from triggers.models import Trigger
from triggers.services import trigger_create

pytestmark = pytest.mark.browser

SCREENSHOTS = REPOSITORY / ".ci" / "artifacts"
BROWSER_TESTS = Path(__file__).parent
AXE = BROWSER_TESTS / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)
LONG_NAME = "N" * 200  # the form allows 200 characters and no spaces
LIVE_WITHIN_MS = 5_000


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core as installed from tests/browser/package-lock.json (`make test` runs npm ci);
    installed here when missing, so running pytest alone works too. Never fetched by a page."""
    if not AXE.exists():
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BROWSER_TESTS,
            check=True,
        )
    return AXE.read_text()


def serious_violations(page: Page, axe_source: str) -> list[str]:
    # Evaluated through the DevTools protocol, so the page's Content-Security-Policy stays on.
    page.evaluate(axe_source)
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.fixture(autouse=True)
def policy_violations(page: Page) -> None:
    """Each page keeps the Content-Security-Policy violations it saw (htmx included) in a list."""
    page.add_init_script(
        "window.policyViolations = [];"
        " document.addEventListener('securitypolicyviolation', (event) =>"
        " window.policyViolations.push(`${event.violatedDirective} ${event.blockedURI}`));"
    )


def check_at_both_widths(page: Page, path: str, label: str, axe_source: str) -> None:
    """At each width: no sideways scroll, no serious accessibility problem, no policy violation,
    and a screenshot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(path)
        assert response is not None
        assert response.status < 400, f"{path} answered {response.status}"
        page.wait_for_load_state("load")
        scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=str(SCREENSHOTS / f"{label}-{width}.png"), full_page=True)
        assert scroll_width <= inner_width, f"{path} scrolls sideways at {width} px: {scroll_width} > {inner_width}"
        # Read before axe runs: axe adds a <style> of its own on some pages, which the policy
        # rightly blocks; that is the tool's, not the page's.
        assert page.evaluate("window.policyViolations") == [], f"{path} at {width} px"
        assert serious_violations(page, axe_source) == [], f"{path} at {width} px"


@pytest.fixture
def customer(live_server) -> User:
    return User.objects.create_user(email="customer@example.com", password=PASSWORD)


@pytest.fixture
def signed_in(page: Page, customer: User) -> Page:
    sign_in(page, customer.email)
    return page


@pytest.fixture
def fire_key(customer: User) -> str:
    return api_key_create(user=customer, name="test script", scope="full").raw_key


def fire_through_the_api(live_server, key: str, trigger: Trigger, payload: dict) -> dict:
    response = requests.post(
        f"{live_server.url}/api/v1/triggers/{trigger.id}/fire",
        json=payload,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def busy_account(customer: User) -> dict[str, Trigger | EventLog]:
    """A trigger with a 200-character name, a cron trigger, and events with a wide payload."""
    hook = trigger_create(owner=customer, values={"name": LONG_NAME, "type": "api", "api_payload": {"k": "v"}})
    nightly = trigger_create(
        owner=customer,
        values={"name": "Nightly report", "type": "scheduled", "schedule_details": {"cron": "0 2 * * *"}},
    )
    wide = {"url": "https://example.com/" + "x" * 300, "items": [{"id": n, "note": "y" * 40} for n in range(6)]}
    event = None
    for minutes in (5, 65, 190):
        event = eventlog_record(
            owner_id=customer.pk,
            trigger_id=hook.id,
            trigger_name=hook.name,
            trigger_type="api",
            source="api",
            payload=wide,
            fired_at=now() - timedelta(minutes=minutes),
        )
    eventlog_record(
        owner_id=customer.pk,
        trigger_id=nightly.id,
        trigger_name=nightly.name,
        trigger_type="scheduled",
        source="test",
        payload={},
    )
    return {"hook": hook, "nightly": nightly, "event": event}


def test_the_signed_out_pages_fit_both_widths_and_pass_axe(page: Page, live_server, axe_source: str) -> None:
    for path, label in [("/auth/login", "login"), ("/auth/register", "register"), ("/auth/password-reset", "reset")]:
        check_at_both_widths(page, path, label, axe_source)


def test_an_empty_accounts_dashboard_shows_first_steps_at_both_widths(signed_in: Page, axe_source: str) -> None:
    check_at_both_widths(signed_in, "/", "dashboard-empty", axe_source)

    expect(signed_in.locator(".first-steps")).to_contain_text("Create a trigger")


def test_every_signed_in_page_fits_both_widths_and_passes_axe(
    signed_in: Page, busy_account: dict, axe_source: str
) -> None:
    hook, nightly, event = busy_account["hook"], busy_account["nightly"], busy_account["event"]
    pages = [
        ("/", "dashboard"),
        ("/triggers/", "triggers"),
        ("/triggers/new", "trigger-new"),
        (f"/triggers/{hook.id}/", "trigger-api"),
        (f"/triggers/{nightly.id}/", "trigger-cron"),
        (f"/triggers/{hook.id}/edit", "trigger-edit"),
        (f"/triggers/{hook.id}/delete", "trigger-delete"),
        ("/events/?status=all", "events"),
        (f"/events/{event.id}/", "event"),
        ("/settings", "settings"),
        ("/auth/password", "password"),
    ]
    for path, label in pages:
        check_at_both_widths(signed_in, path, label, axe_source)


def test_the_events_list_collapses_a_payload_and_copies_it(signed_in: Page, busy_account: dict) -> None:
    page = signed_in
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/events/?status=all&trigger={busy_account['hook'].id}")
    first = page.locator("tr.event-row").first

    expect(first.locator("details.payload pre")).to_be_hidden()
    first.locator("details.payload summary").click()
    expect(first.locator("details.payload pre")).to_be_visible()
    first.locator("button.copy").click()

    expect(first.locator("button.copy")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert json.loads(copied)["items"][0] == {"id": 0, "note": "y" * 40}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_dashboard_and_the_events_page_show_an_api_firing_without_a_reload(
    signed_in: Page, busy_account: dict, fire_key: str, live_server, width: int
) -> None:
    page = signed_in
    page.set_viewport_size({"width": width, "height": 900})
    hook = busy_account["hook"]
    page.goto("/")
    page.evaluate("window.notReloaded = true")
    marker = f"dashboard-{uuid.uuid4().hex[:8]}"

    fire_through_the_api(live_server, fire_key, hook, {"marker": marker})

    expect(page.locator("#dashboard-live")).to_contain_text(marker, timeout=LIVE_WITHIN_MS)
    expect(page.locator(".card .figure").nth(3)).to_have_text("5")
    assert page.evaluate("window.notReloaded") is True

    page.goto(f"/events/?status=all&trigger={hook.id}")
    page.evaluate("window.notReloaded = true")
    page.locator("tr.event-row").first.locator("details.payload summary").click()
    second = f"events-{uuid.uuid4().hex[:8]}"

    fire_through_the_api(live_server, fire_key, hook, {"marker": second})

    expect(page.locator("#events-live tr.event-row").first).to_contain_text(second, timeout=LIVE_WITHIN_MS)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#filter-trigger").input_value() == str(hook.id)  # the filter held
    # The payload opened before the update is still open.
    expect(page.locator("tr.event-row").nth(1).locator("details.payload pre")).to_be_visible()


def test_a_trigger_page_shows_its_last_firing_and_new_events_without_a_reload(
    signed_in: Page, busy_account: dict, fire_key: str, live_server
) -> None:
    page = signed_in
    hook = busy_account["hook"]
    page.goto(f"/triggers/{hook.id}/")
    page.evaluate("window.notReloaded = true")
    before = page.locator("#trigger-facts").inner_text()
    marker = f"trigger-{uuid.uuid4().hex[:8]}"

    fired = fire_through_the_api(live_server, fire_key, hook, {"marker": marker})

    expect(page.locator("#trigger-events tr.event-row").first).to_contain_text(marker, timeout=LIVE_WITHIN_MS)
    expect(page.locator("#trigger-facts")).not_to_have_text(before, timeout=LIVE_WITHIN_MS)
    assert page.evaluate("window.notReloaded") is True
    assert EventLog.objects.filter(pk=fired["id"]).exists()


def test_an_event_page_shows_its_delivery_changing_without_a_reload(signed_in: Page, busy_account: dict) -> None:
    page = signed_in
    event = busy_account["event"]
    page.goto(f"/events/{event.id}/")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#event-delivery")).to_contain_text("Not delivered")
    expect(page.locator("#event-payload")).to_contain_text("example.com")

    # The delivery worker's writes, as the page would see them.
    Delivery.objects.create(
        event_id=event.id, owner_id=event.owner_id, trigger_uuid=event.trigger_uuid, state="delivered", attempt_count=1
    )

    expect(page.locator("#event-delivery .delivery-state")).to_contain_text("delivered", timeout=LIVE_WITHIN_MS)
    assert page.evaluate("window.notReloaded") is True


def test_a_live_page_goes_to_the_sign_in_page_when_the_session_ends(signed_in: Page) -> None:
    page = signed_in
    page.goto("/")
    expect(page.locator("#dashboard-live")).to_be_visible()

    Session.objects.all().delete()

    expect(page).to_have_url(re.compile(r"/auth/login\?next="), timeout=LIVE_WITHIN_MS)
    expect(page.locator("#dashboard-live")).to_have_count(0)
