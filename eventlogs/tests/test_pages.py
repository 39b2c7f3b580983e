"""The events page: lifecycle tabs at their exact boundaries, filters, pagination, zones, escaping."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from accounts.models import User
from tests.support import make_event, signed_in

FIRED = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)  # 10:00 in Asia/Kolkata
ROW = re.compile(r'<tr class="event-row"')


def rows(html: str) -> int:
    return len(ROW.findall(html))


@pytest.mark.parametrize(
    ("age", "active", "archived", "all_"),
    [
        (timedelta(0), 1, 0, 1),
        (timedelta(hours=2) - timedelta(microseconds=1), 1, 0, 1),
        (timedelta(hours=2), 0, 1, 1),
        (timedelta(hours=48) - timedelta(microseconds=1), 0, 1, 1),
        (timedelta(hours=48), 0, 0, 0),
    ],
)
def test_the_tabs_place_an_event_by_its_age_at_read_time(
    browser: Client, owner: User, age: timedelta, active: int, archived: int, all_: int
) -> None:
    make_event(owner, fired_at=FIRED)  # not archived: no archive job runs here

    with time_machine.travel(FIRED + age, tick=False):
        pages = {status: browser.get(f"/events/?status={status}") for status in ("active", "archived", "all")}
        default = browser.get("/events/")

    assert all(page.status_code == 200 for page in pages.values())
    assert rows(pages["active"].content.decode()) == active
    assert rows(pages["archived"].content.decode()) == archived
    assert rows(pages["all"].content.decode()) == all_
    assert rows(default.content.decode()) == active  # the active tab is the default, as in the seed


def test_a_row_shows_the_status_it_has_at_read_time(browser: Client, owner: User) -> None:
    make_event(owner, fired_at=FIRED)

    with time_machine.travel(FIRED + timedelta(hours=2), tick=False):
        html = browser.get("/events/?status=all").content.decode()

    assert '<span class="badge archived">archived</span>' in html
    assert '<span class="badge active">active</span>' not in html


def test_it_marks_the_current_tab(browser: Client, db: None) -> None:
    html = browser.get("/events/?status=archived").content.decode()

    assert re.search(r'<a href="\?status=archived"\s+aria-current="page">Archived</a>', html)
    assert not re.search(r'<a href="\?status=active"\s+aria-current="page">', html)


def test_it_shows_times_in_the_users_zone_and_names_the_zone(browser: Client, owner: User) -> None:
    make_event(owner, fired_at=FIRED)

    with time_machine.travel(FIRED + timedelta(minutes=1), tick=False):
        kolkata = browser.get("/events/").content.decode()
        owner.timezone = "America/New_York"
        owner.save(update_fields=["timezone"])
        new_york = browser.get("/events/").content.decode()

    assert "1 Mar 2026, 10:00:00" in kolkata
    assert "Fired at (Asia/Kolkata)" in kolkata
    assert "28 Feb 2026, 23:30:00" in new_york
    assert "Fired at (America/New_York)" in new_york


def test_it_pretty_prints_the_payload_escaped(browser: Client, owner: User) -> None:
    make_event(owner, fired_at=FIRED, payload={"order": {"id": 7}, "note": "<script>alert(1)</script>"})

    with time_machine.travel(FIRED, tick=False):
        html = browser.get("/events/").content.decode()

    assert '">{\n  &quot;note&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;,\n  &quot;order&quot;: {' in html
    assert "<script>alert(1)</script>" not in html


def test_it_filters_by_trigger_and_offers_every_trigger_with_events(browser: Client, owner: User) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    make_event(owner, fired_at=FIRED, trigger_name="First hook", trigger_uuid=first, payload={"from": "first"})
    make_event(owner, fired_at=FIRED, trigger_name="Second hook", trigger_uuid=second, payload={"from": "second"})

    with time_machine.travel(FIRED, tick=False):
        html = browser.get(f"/events/?trigger={first}").content.decode()

    assert rows(html) == 1
    assert "&quot;first&quot;" in html
    assert "&quot;second&quot;" not in html
    assert f'<option value="{first}" selected>First hook (deleted)</option>' in html
    assert f'<option value="{second}">Second hook (deleted)</option>' in html


def test_it_filters_by_source(browser: Client, owner: User) -> None:
    make_event(owner, fired_at=FIRED, source="api")
    make_event(owner, fired_at=FIRED, source="test")

    with time_machine.travel(FIRED, tick=False):
        html = browser.get("/events/?source=test").content.decode()

    assert rows(html) == 1
    assert ">Test</span>" in html


@pytest.mark.parametrize("query", ["status=bogus", "trigger=not-a-uuid", "source=email"])
def test_a_malformed_filter_is_a_400_that_names_it(browser: Client, db: None, query: str) -> None:
    response = browser.get(f"/events/?{query}")

    assert response.status_code == 400
    assert f"{query.split('=')[0]}: " in response.content.decode()


def test_it_pages_by_cursor_so_new_events_do_not_shift_the_next_page(browser: Client, owner: User) -> None:
    for second in range(51):
        make_event(owner, fired_at=FIRED - timedelta(seconds=second))

    with time_machine.travel(FIRED, tick=False):
        first = browser.get("/events/?status=all&source=api").content.decode()
        older = re.search(r'<a class="button" rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
        # Ten events fire while the reader is on the first page.
        for _ in range(10):
            make_event(owner, fired_at=FIRED)
        second = browser.get(f"/events/{older}").content.decode()
        broken = browser.get("/events/?status=all&cursor=cD1ib2d1cw%3D%3D")

    assert rows(first) == 50
    assert "51 in this tab" in first
    assert "status=all" in older
    assert "source=api" in older
    assert "cursor=" in older
    assert rows(second) == 1
    assert "1 Mar 2026, 09:59:10" in second  # still the oldest, not one pushed over by the new events
    assert 'rel="prev"' in second
    assert broken.status_code == 404


def test_it_shows_only_the_users_own_events(owner: User, other_user: User) -> None:
    make_event(owner, fired_at=FIRED, trigger_name="Owners hook", payload={"secret": "owners"})

    with time_machine.travel(FIRED, tick=False):
        html = signed_in(other_user).get("/events/?status=all").content.decode()

    assert rows(html) == 0
    assert "Owners hook" not in html
    assert "No events in this tab." in html


def test_it_sends_a_signed_out_visitor_to_the_login_page(client: Client, db: None) -> None:
    response = client.get("/events/?status=all")

    assert response.status_code == 302
    assert response["Location"] == "/auth/login?next=/events/%3Fstatus%3Dall"


def test_a_poll_of_the_events_list_keeps_the_filters_and_answers_only_the_region(browser: Client, owner: User) -> None:
    make_event(owner, trigger_name="Polled hook", payload={"n": 1}, fired_at=FIRED)
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "events-live"}

    with time_machine.travel(FIRED, tick=False):
        page = browser.get("/events/?status=all&source=api").content.decode()
        region = browser.get("/events/?status=all&source=api&live_version=stale", **poll)
        version = re.search(r'"live_version": "([0-9a-f]+)"', region.content.decode()).group(1)
        unchanged = browser.get(f"/events/?status=all&source=api&live_version={version}", **poll)

    assert 'hx-get="/events/?status=all&amp;source=api" hx-trigger="every 3s"' in page
    assert region.status_code == 200
    assert region.content.decode().startswith('<div id="events-live"')
    assert 'hx-get="/events/?status=all&amp;source=api"' in region.content.decode()  # no stale version
    assert "Polled hook" in region.content.decode()
    assert "<html" not in region.content.decode()
    assert unchanged.status_code == 204
