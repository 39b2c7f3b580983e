"""The trigger pages and the dashboard, driven through Django's test client as a signed-in user."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from accounts.models import User
from eventlogs.models import EventLog
from eventlogs.services import eventlog_record
from tests.support import make_api_trigger, make_trigger
from triggers.models import Trigger

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# 1 Mar 2026, 04:30 UTC is 10:00 in Asia/Kolkata (every new user's zone).
MORNING = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


def form_data(**overrides: str) -> dict[str, str]:
    """What the browser posts for the create/edit form (an unticked checkbox is simply absent)."""
    data = {
        "name": "Heartbeat",
        "type": "scheduled",
        "schedule_kind": "interval",
        "run_at": "",
        "interval": "60",
        "start_at": "",
        "cron": "",
        "cron_timezone": "Asia/Kolkata",
        "api_payload": "",
        "expires_at": "",
        "enabled": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


# --- signed out -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/triggers/", "/triggers/new", "/events/"])
def test_it_sends_a_signed_out_visitor_to_the_login_page(client: Client, db: None, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/auth/login?next={path}"


def test_it_sends_a_signed_out_visitor_of_a_trigger_page_to_the_login_page(client: Client, owner: User) -> None:
    trigger = make_trigger(owner)

    for suffix in ("", "edit", "delete"):
        path = f"/triggers/{trigger.id}/{suffix}"
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/auth/login?next={path}"
    assert client.post(f"/triggers/{trigger.id}/pause").status_code == 302
    assert Trigger.objects.get(pk=trigger.pk).enabled


# --- dashboard --------------------------------------------------------------------------------


def test_it_shows_the_dashboard_with_counts_and_the_latest_events(browser: Client, owner: User) -> None:
    make_trigger(owner, name="Minutely")
    make_trigger(owner, name="Nightly", schedule_details={"cron": "0 2 * * *"}, enabled=False)
    webhook = make_api_trigger(owner)
    eventlog_record(
        owner_id=owner.pk,
        trigger_id=webhook.id,
        trigger_name=webhook.name,
        trigger_type="api",
        source="api",
        payload={"order": 7},
    )

    response = browser.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Dashboard" in html
    assert "1 interval · 1 cron" in html
    assert "2 active</span>" in html  # triggers, by state
    assert "1 paused</span>" in html
    assert "1 active</span>" in html  # events
    assert "Webhook" in html
    assert "&quot;order&quot;: 7" in html


def test_it_draws_48_hourly_bars_in_the_users_zone_with_each_hours_count(
    browser: Client, owner: User, django_assert_max_num_queries: Any
) -> None:
    webhook = make_api_trigger(owner)

    def fire(at: datetime) -> None:
        eventlog_record(
            owner_id=owner.pk,
            trigger_id=webhook.id,
            trigger_name=webhook.name,
            trigger_type="api",
            source="api",
            payload={},
            fired_at=at,
        )

    fire(MORNING - timedelta(minutes=10))  # 09:50 IST
    fire(MORNING - timedelta(minutes=20))  # 09:40 IST
    fire(MORNING + timedelta(minutes=5))  # 10:05 IST
    fire(MORNING - timedelta(hours=47, minutes=50))  # 10:10 IST two days before: past the 48 h window

    with time_machine.travel(MORNING + timedelta(minutes=30), tick=False), django_assert_max_num_queries(8):
        response = browser.get("/")

    html = response.content.decode()
    assert html.count('<g class="bar">') == 48
    assert "01 Mar 09:00 to 10:00: 2 firings" in html
    assert "01 Mar 10:00 to 11:00: 1 firing" in html  # the current hour is the last bar
    assert html.index("01 Mar 10:00 to 11:00") > html.index("01 Mar 09:00 to 10:00")
    assert "27 Feb 11:00 to 12:00: 0 firings" in html  # the first of the 48 bars
    assert "27 Feb 10:00" not in html
    assert "3 firings in the last 48 hours" in html
    assert "01 Mar 09:00 to 10:00: 2 firings (2 API)" in html  # the source breakdown
    assert "Most in one hour: 2 (09:00\u201310:00)." in html  # a clock hour in the user's zone
    assert "API: 3" in html
    assert "Scheduled: 0" in html
    assert '<text class="tick"' in html  # the y-axis


def test_the_dashboard_stacks_each_hours_bar_by_source(browser: Client, owner: User) -> None:
    webhook = make_api_trigger(owner)
    for source in ("api", "api", "test", "scheduled"):
        eventlog_record(
            owner_id=owner.pk,
            trigger_id=webhook.id,
            trigger_name=webhook.name,
            trigger_type="api",
            source=source,
            payload={},
            fired_at=MORNING - timedelta(minutes=10),
        )

    with time_machine.travel(MORNING + timedelta(minutes=30), tick=False):
        html = browser.get("/").content.decode()

    assert "01 Mar 09:00 to 10:00: 4 firings (1 Scheduled, 2 API, 1 Test)" in html
    for source in ("scheduled", "api", "test"):
        assert html.count(f'class="value source-{source}"') == 1
    assert "Most in one hour: 4 (09:00\u201310:00)." in html


def test_an_empty_account_gets_first_steps_and_a_busy_one_does_not(browser: Client, owner: User) -> None:
    empty = browser.get("/").content.decode()
    make_api_trigger(owner)
    busy = browser.get("/").content.decode()

    assert "First steps" in empty
    assert 'href="/triggers/new"' in empty
    assert "Nothing fired in the last 48 hours." in empty
    assert "First steps" not in busy


def test_a_poll_of_a_live_region_gets_that_region_or_204_while_it_is_unchanged(browser: Client, owner: User) -> None:
    webhook = make_api_trigger(owner)
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "dashboard-live"}

    first = browser.get("/", **poll)
    version = re.search(r'"live_version": "([0-9a-f]+)"', first.content.decode()).group(1)
    unchanged = browser.get(f"/?live_version={version}", **poll)
    eventlog_record(
        owner_id=owner.pk,
        trigger_id=webhook.id,
        trigger_name=webhook.name,
        trigger_type="api",
        source="api",
        payload={"order": 8},
        fired_at=None,
    )
    changed = browser.get(f"/?live_version={version}", **poll)

    assert first.status_code == 200
    assert first.content.decode().startswith('<div id="dashboard-live"')
    assert "<html" not in first.content.decode()
    assert unchanged.status_code == 204
    assert changed.status_code == 200
    assert "&quot;order&quot;: 8" in changed.content.decode()


def test_a_trigger_page_polls_its_facts_and_events_and_another_user_gets_404(
    browser: Client, other_browser: Client, owner: User
) -> None:
    trigger = make_api_trigger(owner)
    page = browser.get(f"/triggers/{trigger.id}/").content.decode()
    facts = browser.get(f"/triggers/{trigger.id}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="trigger-facts")
    stranger = other_browser.get(f"/triggers/{trigger.id}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="trigger-facts")

    assert f'hx-get="/triggers/{trigger.id}/" hx-trigger="every 3s"' in page
    assert 'id="trigger-events"' in page
    assert facts.content.decode().startswith('<div id="trigger-facts"')
    assert "Next firing" in facts.content.decode()
    assert stranger.status_code == 404


def test_the_events_filter_offers_a_renamed_trigger_under_its_current_name(browser: Client, owner: User) -> None:
    trigger = make_api_trigger(owner, name="Old name")
    browser.post(f"/triggers/{trigger.id}/fire", {"payload": "{}"})
    Trigger.objects.filter(pk=trigger.pk).update(name="New name")
    browser.post(f"/triggers/{trigger.id}/fire", {"payload": "{}"})
    Trigger.objects.filter(pk=trigger.pk).update(name="Newest name")

    html = browser.get("/events/").content.decode()

    assert f'<option value="{trigger.id}">Newest name</option>' in html
    assert html.count(">Newest name</a>") == 2  # both rows, under the one current name
    assert "Old name" not in html
    assert "New name" not in html


# --- list ---------------------------------------------------------------------------------------


def test_it_lists_own_triggers_with_schedule_in_words_state_and_next_firing(browser: Client, owner: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        make_trigger(owner, name="Every five", schedule_details={"interval_seconds": 300})
        make_api_trigger(owner, name="Paused hook", enabled=False)
        response = browser.get("/triggers/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Every five" in html
    assert "every 5 minutes" in html
    assert "when its fire endpoint is called" in html
    assert '<span class="badge state-active">Active</span>' in html
    assert '<span class="badge state-paused" title="Paused; resume it to fire again.">Paused</span>' in html
    assert "1 Mar 2026, 10:00:00" in html  # next firing (an interval starts now), in Asia/Kolkata
    assert "Next firing (Asia/Kolkata)" in html


def test_the_list_and_the_detail_show_when_an_api_trigger_last_fired_tests_included(
    browser: Client, owner: User
) -> None:
    trigger = make_api_trigger(owner)
    with time_machine.travel(MORNING - timedelta(minutes=1), tick=False):
        browser.post(f"/triggers/{trigger.id}/fire", {"payload": "{}"})
    with time_machine.travel(MORNING, tick=False):
        browser.post(f"/triggers/{trigger.id}/test")  # a test firing counts, as on /event_logs/aggregated

    with time_machine.travel(MORNING + timedelta(minutes=5), tick=False):
        listed = browser.get("/triggers/").content.decode()
        detail = browser.get(f"/triggers/{trigger.id}/").content.decode()

    row = re.search(
        r'<td data-label="Last fired"[^>]*>(.*?)</td>\s*<td data-label="Events, 48 h">(\d+)</td>', listed, re.S
    )
    assert "1 Mar 2026, 10:00:00" in row.group(1)
    assert row.group(2) == "2"  # events in the last 48 h, the test included
    assert re.search(r"Last fired</th><td><time [^>]*>1 Mar 2026, 10:00:00</time>", detail)


def test_it_paginates_the_trigger_list(browser: Client, owner: User) -> None:
    for number in range(27):
        make_api_trigger(owner, name=f"Hook {number:02d}")

    first = browser.get("/triggers/").content.decode()
    second = browser.get("/triggers/?page=2").content.decode()

    assert first.count("/edit") == 0  # the list links to details only
    # Each name is a link (and a checkbox's label, which is not counted).
    assert len(re.findall(r">Hook \d\d</a>", first)) == 25
    assert len(re.findall(r">Hook \d\d</a>", second)) == 2
    assert "Page 1 of 2" in first


def test_the_list_of_triggers_takes_no_query_per_trigger(
    browser: Client, owner: User, django_assert_max_num_queries: Any
) -> None:
    for number in range(25):
        trigger = make_api_trigger(owner, name=f"Hook {number:02d}")
        eventlog_record(
            owner_id=owner.pk,
            trigger_id=trigger.id,
            trigger_name=trigger.name,
            trigger_type="api",
            source="api",
            payload={},
        )

    # The session, the user, the count for the paginator and the page: no query per trigger.
    with django_assert_max_num_queries(6):
        html = browser.get("/triggers/").content.decode()
    assert len(re.findall(r'href="/triggers/[0-9a-f-]+/">Hook \d\d<', html)) == 25


# --- create -------------------------------------------------------------------------------------


def test_it_creates_an_interval_trigger_through_the_form(browser: Client, owner: User) -> None:
    assert browser.get("/triggers/new").status_code == 200

    with time_machine.travel(MORNING, tick=False):
        response = browser.post("/triggers/new", form_data(name="Every minute", interval="60"))

    trigger = Trigger.objects.get(owner=owner)
    assert response.status_code == 302
    assert response["Location"] == f"/triggers/{trigger.id}/"
    assert trigger.name == "Every minute"
    assert trigger.schedule_kind == "interval"
    assert trigger.interval_seconds == 60
    assert trigger.next_fire_at == MORNING  # an interval without start_at starts now, then every 60 s


def test_a_new_interval_trigger_without_a_start_says_it_is_firing_now_not_that_it_has_not_fired(
    browser: Client, owner: User
) -> None:
    with time_machine.travel(MORNING, tick=False):
        created = browser.post("/triggers/new", form_data(name="Every minute", interval_seconds="60"))
    with time_machine.travel(MORNING + timedelta(milliseconds=300), tick=False):
        html = browser.get(created["Location"]).content.decode()

    next_firing = re.search(r'<td class="next-firing">(.*?)</td>', html, re.S).group(1)
    assert next_firing == "due now, firing"
    assert re.search(r"Last fired</th><td>not yet: its first firing is due now", html)
    assert "has not fired" not in html


def test_it_creates_an_api_trigger_with_a_payload_through_the_form(browser: Client, owner: User) -> None:
    response = browser.post(
        "/triggers/new", form_data(name="Orders", type="api", schedule_kind="", api_payload='{"kind": "order"}')
    )

    trigger = Trigger.objects.get(owner=owner)
    assert response.status_code == 302
    assert response["Location"] == f"/triggers/{trigger.id}/"
    assert trigger.type == "api"
    assert trigger.api_payload == {"kind": "order"}
    assert trigger.next_fire_at is None


def test_it_reads_a_typed_run_at_in_the_users_zone(browser: Client, owner: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        response = browser.post("/triggers/new", form_data(schedule_kind="once", run_at="2026-12-01T10:00"))

    trigger = Trigger.objects.get(owner=owner)
    assert response.status_code == 302
    assert trigger.run_at == datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
    assert trigger.next_fire_at == trigger.run_at
    page = browser.get(response["Location"]).content.decode()
    assert "once at 1 Dec 2026, 10:00 (Asia/Kolkata)" in page


def test_it_creates_a_cron_trigger_in_the_users_zone_by_default(browser: Client, owner: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        response = browser.post("/triggers/new", form_data(schedule_kind="cron", cron="0 9 * * 1-5", cron_timezone=""))

    trigger = Trigger.objects.get(owner=owner)
    assert response.status_code == 302
    assert trigger.cron_timezone == "Asia/Kolkata"
    # 1 Mar 2026 is a Sunday: the first weekday 09:00 IST is Monday 2 Mar, 03:30 UTC.
    assert trigger.next_fire_at == datetime(2026, 3, 2, 3, 30, tzinfo=UTC)
    assert "at 09:00 on weekdays (Asia/Kolkata)" in browser.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message", "kept"),
    [
        ({"interval": "30"}, "interval", "Must be at least 60 seconds.", 'value="30"'),
        (
            {"schedule_kind": "once", "run_at": "2026-03-01T09:00"},
            "run_at",
            "Must be in the future.",
            'value="2026-03-01T09:00"',
        ),
        ({"schedule_kind": "cron", "cron": "61 * * * *"}, "cron", "Not a valid cron expression", 'value="61 * * * *"'),
        (
            {"schedule_kind": "cron", "cron": "0 9 * * *", "cron_timezone": "Mars/Olympus"},
            "cron_timezone",
            "Must be an IANA time zone name",
            'value="Mars/Olympus"',
        ),
        ({"api_payload": '{"broken": '}, "api_payload", "Enter a valid JSON.", "{&quot;broken&quot;: </textarea>"),
        ({"api_payload": "[1, 2]"}, "api_payload", "Must be a JSON object.", "[\n  1,\n  2\n]</textarea>"),
        ({"expires_at": "2026-03-01T09:59"}, "expires_at", "Must be in the future.", 'value="2026-03-01T09:59"'),
        ({"schedule_kind": "once"}, "run_at", "This field is required.", 'name="run_at"'),
        ({"schedule_kind": ""}, "schedule_kind", "Choose when a scheduled trigger fires.", 'value="Heartbeat"'),
        ({"name": "   "}, "name", "This field is required.", 'value="60"'),
    ],
)
def test_it_shows_a_bad_form_with_the_fields_error_and_creates_nothing(
    browser: Client, owner: User, changes: dict[str, str], field: str, message: str, kept: str
) -> None:
    with time_machine.travel(MORNING, tick=False):
        response = browser.post("/triggers/new", form_data(**changes))

    html = response.content.decode()
    assert response.status_code == 400
    assert message in field_errors(html, field)
    assert kept in html  # what the user typed is still there
    assert not Trigger.objects.exists()
    assert not EventLog.objects.exists()


def test_it_creates_a_test_trigger_that_logs_one_test_event_and_schedules_nothing(browser: Client, owner: User) -> None:
    response = browser.post("/triggers/new", form_data(is_test="on"))

    trigger = Trigger.objects.get(owner=owner)
    assert response.status_code == 302
    assert trigger.next_fire_at is None
    assert list(EventLog.objects.values_list("source", flat=True)) == ["test"]


# --- detail, fire, test, pause, resume -----------------------------------------------------------


def test_it_shows_a_trigger_with_schedule_next_firing_expiry_and_events(browser: Client, owner: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        trigger = make_trigger(
            owner,
            schedule_details={"interval_seconds": 300},
            expires_at=datetime(2026, 3, 5, 12, 0),  # noqa: DTZ001 -- naive on purpose: read in Asia/Kolkata
        )
        response = browser.get(f"/triggers/{trigger.id}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "every 5 minutes" in html
    assert "1 Mar 2026, 10:00:00" in html  # next firing: the interval starts now
    assert "5 Mar 2026, 12:00:00" in html  # expires
    assert "Its first firing is due now" in html  # the interval starts now: the scheduler is firing it
    assert "Fire now" not in html  # only API triggers take a payload here
    assert html.count("csrfmiddlewaretoken") == 4  # pause, test, duplicate, and the header's log out


def test_it_fires_an_api_trigger_from_its_page_and_shows_the_event_in_the_users_zone(
    browser: Client, owner: User
) -> None:
    trigger = make_api_trigger(owner)

    with time_machine.travel(MORNING, tick=False):
        response = browser.post(f"/triggers/{trigger.id}/fire", {"payload": '{"order": 42}'})
        page = browser.get(response["Location"])

    event = EventLog.objects.get(trigger=trigger)
    assert response.status_code == 302
    assert event.source == "api"
    assert event.payload == {"order": 42}
    assert event.fired_at == MORNING
    html = page.content.decode()
    assert f"Fired: event {event.id} logged." in html
    assert "1 Mar 2026, 10:00:00" in html
    assert "Fired at (Asia/Kolkata)" in html
    assert "&quot;order&quot;: 42" in html


def test_it_fires_with_the_triggers_own_payload_when_the_box_is_empty(browser: Client, owner: User) -> None:
    trigger = make_api_trigger(owner, api_payload={"default": True})

    browser.post(f"/triggers/{trigger.id}/fire", {"payload": ""})

    assert EventLog.objects.get(trigger=trigger).payload == {"default": True}


@pytest.mark.parametrize(
    ("payload", "message"),
    [('{"order": ', "Enter a valid JSON."), ('"just text"', "Must be a JSON object")],
)
def test_it_refuses_a_fire_with_a_bad_payload_and_logs_nothing(
    browser: Client, owner: User, payload: str, message: str
) -> None:
    trigger = make_api_trigger(owner)

    response = browser.post(f"/triggers/{trigger.id}/fire", {"payload": payload})

    # Back on the trigger's own URL (303), so reloading the page does not post again.
    assert response.status_code == 303
    assert response["Location"] == f"/triggers/{trigger.id}/"
    page = browser.get(response["Location"])
    assert page.status_code == 400
    assert message in field_errors(page.content.decode(), "payload")
    assert payload.replace('"', "&quot;") in page.content.decode()  # what was typed, to correct
    assert message not in browser.get(response["Location"]).content.decode()  # shown once
    assert not EventLog.objects.exists()


def test_it_explains_why_a_paused_trigger_cannot_fire(browser: Client, owner: User) -> None:
    trigger = make_api_trigger(owner, enabled=False)

    response = browser.post(f"/triggers/{trigger.id}/fire", {"payload": "{}"}, follow=True)

    assert response.redirect_chain == [(f"/triggers/{trigger.id}/", 303)]
    assert response.status_code == 409
    assert "This trigger is paused; resume it to fire it." in response.content.decode()
    assert not EventLog.objects.exists()


def test_it_refuses_to_fire_a_scheduled_trigger_from_the_page(browser: Client, owner: User) -> None:
    trigger = make_trigger(owner)

    response = browser.post(f"/triggers/{trigger.id}/fire", {"payload": "{}"}, follow=True)

    assert response.redirect_chain == [(f"/triggers/{trigger.id}/", 303)]
    assert response.status_code == 400
    assert "Not an API trigger" in response.content.decode()
    assert not EventLog.objects.exists()


def test_it_logs_a_test_event_from_the_test_button(browser: Client, owner: User) -> None:
    trigger = make_trigger(owner, api_payload={"probe": 1})

    response = browser.post(f"/triggers/{trigger.id}/test")

    event = EventLog.objects.get(trigger=trigger)
    assert response.status_code == 302
    assert event.source == "test"
    assert event.is_test
    assert event.payload == {"probe": 1}
    html = browser.get(response["Location"]).content.decode()
    assert f"Test event {event.id} logged." in html
    assert '<span class="badge test">Test</span>' in html


def test_it_pauses_and_resumes_a_trigger_with_its_buttons(browser: Client, owner: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        trigger = make_trigger(owner)

        paused = browser.post(f"/triggers/{trigger.id}/pause")
        trigger.refresh_from_db()
        assert paused.status_code == 302
        assert not trigger.enabled
        assert trigger.next_fire_at is None
        assert "Resume" in browser.get(f"/triggers/{trigger.id}/").content.decode()

    with time_machine.travel(MORNING + timedelta(minutes=10, seconds=30), tick=False):
        resumed = browser.post(f"/triggers/{trigger.id}/resume")
    trigger.refresh_from_db()
    assert resumed.status_code == 302
    assert trigger.enabled
    assert trigger.next_fire_at == MORNING + timedelta(minutes=11)  # the next slot of the original cadence


def test_the_buttons_refuse_a_get(browser: Client, owner: User) -> None:
    trigger = make_api_trigger(owner)

    for action in ("fire", "test", "pause", "resume"):
        assert browser.get(f"/triggers/{trigger.id}/{action}").status_code == 405
    assert not EventLog.objects.exists()
    assert Trigger.objects.get(pk=trigger.pk).enabled


def test_every_post_needs_the_csrf_token(owner: User) -> None:
    trigger = make_api_trigger(owner)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")

    for path in ("/triggers/new", *(f"/triggers/{trigger.id}/{action}" for action in ("fire", "test", "pause"))):
        assert strict.post(path, {"payload": "{}"}).status_code == 403
    assert strict.post(f"/triggers/{trigger.id}/delete").status_code == 403
    assert Trigger.objects.filter(pk=trigger.pk, enabled=True).exists()
    assert not EventLog.objects.exists()


# --- edit and delete -----------------------------------------------------------------------------


def test_it_edits_a_trigger_and_recomputes_its_next_firing(browser: Client, owner: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        trigger = make_trigger(owner)
        form = browser.get(f"/triggers/{trigger.id}/edit").content.decode()
        assert 'value="Heartbeat"' in form
        assert 'name="interval" value="1"' in form  # one minute

        response = browser.post(
            f"/triggers/{trigger.id}/edit",
            form_data(name="Slower", interval="120", start_at="2026-03-01T10:03"),
        )

    trigger.refresh_from_db()
    assert response.status_code == 302
    assert trigger.name == "Slower"
    assert trigger.interval_seconds == 120
    assert trigger.start_at == MORNING + timedelta(minutes=3)
    assert trigger.next_fire_at == MORNING + timedelta(minutes=3)


def test_it_keeps_an_unchanged_past_run_at_when_renaming_a_fired_one_time_trigger(browser: Client, owner: User) -> None:
    run_at = MORNING + timedelta(hours=1, microseconds=123456)
    with time_machine.travel(MORNING, tick=False):
        trigger = make_trigger(owner, schedule_details={"run_at": run_at})

    with time_machine.travel(MORNING + timedelta(days=1), tick=False):
        form = browser.get(f"/triggers/{trigger.id}/edit").content.decode()
        shown = re.search(r'name="run_at" value="([^"]+)"', form).group(1)
        response = browser.post(
            f"/triggers/{trigger.id}/edit", form_data(name="Renamed", schedule_kind="once", run_at=shown)
        )

    trigger.refresh_from_db()
    assert shown == "2026-03-01T11:00:00"
    assert response.status_code == 302
    assert trigger.name == "Renamed"
    assert trigger.run_at == run_at


def test_a_bad_edit_changes_nothing(browser: Client, owner: User) -> None:
    trigger = make_trigger(owner)

    response = browser.post(f"/triggers/{trigger.id}/edit", form_data(name="Too fast", interval="5"))

    assert response.status_code == 400
    assert "Must be at least 60 seconds." in field_errors(response.content.decode(), "interval")
    stored = Trigger.objects.get(pk=trigger.pk)
    assert (stored.name, stored.interval_seconds) == ("Heartbeat", 60)


def test_it_deletes_a_trigger_after_confirmation_and_keeps_its_events(browser: Client, owner: User) -> None:
    trigger = make_api_trigger(owner)
    browser.post(f"/triggers/{trigger.id}/fire", {"payload": "{}"})

    confirmation = browser.get(f"/triggers/{trigger.id}/delete")
    assert confirmation.status_code == 200
    assert "Its 1 event log stays readable" in confirmation.content.decode()
    assert "Calls to its fire endpoint are refused" in confirmation.content.decode()
    assert Trigger.objects.filter(pk=trigger.pk).exists()

    response = browser.post(f"/triggers/{trigger.id}/delete")

    assert response.status_code == 302
    assert response["Location"] == "/triggers/"
    assert not Trigger.objects.filter(pk=trigger.pk).exists()
    event = EventLog.objects.get()
    assert event.trigger_id is None
    assert event.trigger_uuid == trigger.id
    events_page = browser.get("/events/").content.decode()
    assert "Webhook" in events_page
    assert '<span class="badge">deleted</span>' in events_page


@pytest.mark.parametrize(
    ("events", "words"),
    [
        (0, "It has no event logs in the last 48 hours"),
        (2, "Its 2 event logs stay readable"),
    ],
)
def test_the_delete_confirmation_counts_the_events_and_names_the_schedule(
    browser: Client, owner: User, events: int, words: str
) -> None:
    trigger = make_trigger(owner)
    for _ in range(events):
        browser.post(f"/triggers/{trigger.id}/test")

    html = browser.get(f"/triggers/{trigger.id}/delete").content.decode()

    assert words in html
    assert "Its schedule stops at once" in html
    assert "Its 0 event" not in html


# --- another user ----------------------------------------------------------------------------------


def test_another_user_gets_404_on_every_page_of_the_owners_trigger(other_browser: Client, owner: User) -> None:
    trigger = make_api_trigger(owner)

    for suffix in ("", "edit", "delete"):
        assert other_browser.get(f"/triggers/{trigger.id}/{suffix}").status_code == 404
    for action in ("edit", "delete", "fire", "test", "pause", "resume"):
        response = other_browser.post(
            f"/triggers/{trigger.id}/{action}", {**form_data(name="Hijacked"), "payload": "{}"}
        )
        assert response.status_code == 404, action

    stored = Trigger.objects.get(pk=trigger.pk)
    assert (stored.name, stored.enabled) == ("Webhook", True)
    assert not EventLog.objects.exists()


def test_another_user_sees_none_of_the_owners_rows(other_browser: Client, owner: User) -> None:
    trigger = make_api_trigger(owner, name="Owners secret hook")
    eventlog_record(
        owner_id=owner.pk,
        trigger_id=trigger.id,
        trigger_name=trigger.name,
        trigger_type="api",
        source="api",
        payload={"secret": "owners-payload"},
    )

    for path in ("/", "/triggers/", "/events/?status=all", f"/events/?status=all&trigger={trigger.id}"):
        html = other_browser.get(path).content.decode()
        assert "Owners secret hook" not in html, path
        assert "owners-payload" not in html, path
    dashboard = other_browser.get("/").content.decode()
    assert '<div class="figure">0</div>' in dashboard


# --- escaping --------------------------------------------------------------------------------------


def test_a_script_in_a_name_or_payload_stays_inert_on_every_page(browser: Client, owner: User) -> None:
    trigger = make_api_trigger(owner, name=XSS, api_payload={"html": XSS})
    browser.post(f"/triggers/{trigger.id}/fire", {"payload": f'{{"note": "{XSS}"}}'})
    browser.post(f"/triggers/{trigger.id}/test")

    for path in (
        "/",
        "/triggers/",
        f"/triggers/{trigger.id}/",
        f"/triggers/{trigger.id}/edit",
        f"/triggers/{trigger.id}/delete",
        "/events/",
        "/events/?status=all",
    ):
        html = browser.get(path).content.decode()
        assert XSS not in html, path
        assert XSS_ESCAPED in html, path


def test_the_trigger_form_says_which_zone_it_reads_times_in_and_the_time_there(browser: Client, owner: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        page = browser.get("/triggers/new").content.decode()
    local = MORNING.astimezone(owner.zoneinfo)
    assert f"In your time zone, {owner.timezone}, where it is now {local:%d %b %Y, %H:%M}." in page
