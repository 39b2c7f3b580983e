"""One state per trigger, in the same words on the list, the detail page, the API, the fragment and the admin."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import User
from tests.support import make_trigger, signed_in
from triggers.dispatch import triggers_dispatch_due
from triggers.models import Trigger
from triggers.selectors import triggers_in_state

START = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


@pytest.fixture
def one_of_each(owner: User) -> dict[str, Trigger]:
    """A trigger in each state, an hour after ``START``."""
    with time_machine.travel(START, tick=False):
        triggers = {
            "completed": make_trigger(owner, name="Launch", schedule_details={"run_at": "2026-03-01T04:40:00Z"}),
            "expired": make_trigger(owner, name="Campaign", expires_at=datetime(2026, 3, 1, 5, 0, tzinfo=UTC)),
            "paused": make_trigger(owner, name="Nightly", enabled=False),
            "test": make_trigger(owner, name="Dry run", is_test=True),
            "active": make_trigger(owner, name="Webhook", type="api", schedule_details=None),
            "disabled": make_trigger(owner, name="Broken"),
        }
    # The scheduler fires the one-time trigger and then stops the broken one with its reason.
    while triggers_dispatch_due(at=datetime(2026, 3, 1, 4, 40, tzinfo=UTC)):
        pass
    Trigger.objects.filter(pk=triggers["disabled"].pk).update(
        enabled=False, next_fire_at=None, disabled_reason="Stopped by the scheduler: its schedule cannot be computed."
    )
    return {state: Trigger.objects.get(pk=trigger.pk) for state, trigger in triggers.items()}


def test_each_trigger_has_exactly_one_state_with_a_reason_when_it_does_not_fire(
    one_of_each: dict[str, Trigger],
) -> None:
    at = START + timedelta(hours=1)
    for expected, trigger in one_of_each.items():
        state = trigger.state_at(at)
        assert state.code == expected, trigger.name
        assert bool(state.reason) == (expected != "active"), trigger.name
    assert one_of_each["disabled"].state_at(at).reason.startswith("Stopped by the scheduler")


def test_the_state_filter_selects_the_triggers_the_state_function_names(one_of_each: dict[str, Trigger]) -> None:
    at = START + timedelta(hours=1)
    for state in Trigger.State.values:
        selected = triggers_in_state(Trigger.objects.all(), state, at=at)
        assert [trigger.name for trigger in selected] == [one_of_each[state].name]


def test_a_fired_one_time_trigger_reads_completed_and_an_expired_one_only_expired_everywhere(
    owner: User, api: APIClient, one_of_each: dict[str, Trigger]
) -> None:
    completed, expired = one_of_each["completed"], one_of_each["expired"]
    browser = signed_in(owner)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        listed = browser.get("/triggers/").content.decode()
        pages = {trigger: browser.get(f"/triggers/{trigger.id}/").content.decode() for trigger in (completed, expired)}
    # The API's token is signed on the real clock; both states hold at any later time too.
    fragment = api.get("/api/v1/triggers/triggers_html").content.decode()
    bodies = {trigger: api.get(f"/api/v1/triggers/{trigger.id}").json() for trigger in (completed, expired)}

    for html in (listed, fragment):
        assert badges_in(row_of(html, "Launch")) == [("completed", "Completed")]
        assert badges_in(row_of(html, "Campaign")) == [("expired", "Expired")]
    for trigger, html in pages.items():
        badges = re.search(r'<div class="badges">(.*?)</div>', html, re.S).group(1)
        state = trigger.state_at(START + timedelta(hours=1))
        assert badges_in(badges) == [(state.code, state.label)]
    assert ">enabled<" not in listed + "".join(pages.values())
    assert (bodies[completed]["state"], bodies[expired]["state"]) == ("completed", "expired")
    assert bodies[completed]["state_reason"] == "It fired at its run time; nothing is left."


def badges_in(html: str) -> list[tuple[str, str]]:
    return re.findall(r'class="badge state-(\w+)"[^>]*>(\w+)<', html)


def row_of(html: str, name: str) -> str:
    (row,) = [row for row in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S) if f">{name}<" in row]
    return row


def test_the_admin_lists_and_filters_triggers_by_state(one_of_each: dict[str, Trigger]) -> None:
    operator = User.objects.create_superuser(email="operator@example.com", password="not-used-here-1")
    admin = signed_in(operator)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        listed = admin.get("/admin/triggers/trigger/").content.decode()
        filtered = admin.get("/admin/triggers/trigger/?state=completed").content.decode()
        change = admin.get(f"/admin/triggers/trigger/{one_of_each['active'].pk}/change/").content.decode()

    assert 'state-completed" title="It fired at its run time; nothing is left.">Completed<' in listed
    assert 'state-disabled" title="Stopped by the scheduler' in listed
    assert "Launch" in filtered
    assert "Campaign" not in filtered
    assert "triggers/states.css" in listed
    assert "Active" in change
