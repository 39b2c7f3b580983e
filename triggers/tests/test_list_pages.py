"""Finding things on the trigger list: search, filters, sorting, bulk actions and duplicating."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from accounts.models import User
from tests.support import make_api_trigger, make_trigger, signed_in
from triggers.models import Trigger
from triggers.tests.test_pages import MORNING


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def browser(owner: User) -> Client:
    return signed_in(owner)


def listed(browser: Client, query: str = "") -> list[str]:
    html = browser.get(f"/triggers/?{query}").content.decode()
    return re.findall(r'<td data-label="Name"><a href="/triggers/[0-9a-f-]+/">([^<]*)</a></td>', html)


def test_it_searches_by_name_whatever_the_letter_case(browser: Client, owner: User) -> None:
    make_trigger(owner, name="Nightly backup")
    make_trigger(owner, name="Heartbeat")

    assert listed(browser, "q=BACKUP") == ["Nightly backup"]


def test_it_filters_by_type_and_by_state(browser: Client, owner: User) -> None:
    make_trigger(owner, name="Scheduled, running")
    make_trigger(owner, name="Scheduled, paused", enabled=False)
    make_api_trigger(owner, name="Webhook")
    make_trigger(owner, name="Expiring", expires_at=MORNING + timedelta(hours=1))

    assert listed(browser, "type=api") == ["Webhook"]
    assert listed(browser, "state=paused") == ["Scheduled, paused"]
    with time_machine.travel(MORNING + timedelta(hours=2), tick=False):
        assert listed(browser, "state=expired") == ["Expiring"]
        assert sorted(listed(browser, "state=active")) == ["Scheduled, running", "Webhook"]


def test_it_sorts_by_name_and_by_next_firing_with_the_unscheduled_last(browser: Client, owner: User) -> None:
    make_trigger(owner, name="b in an hour", schedule_details={"run_at": MORNING + timedelta(hours=1)})
    make_api_trigger(owner, name="a webhook")
    make_trigger(owner, name="c in a minute", schedule_details={"run_at": MORNING + timedelta(minutes=1)})

    assert listed(browser, "sort=name") == ["a webhook", "b in an hour", "c in a minute"]
    assert listed(browser, "sort=next") == ["c in a minute", "b in an hour", "a webhook"]


def test_every_filter_has_a_readable_label(browser: Client) -> None:
    html = browser.get("/triggers/").content.decode()

    labels = re.findall(r'<label for="id_\w+">([^<]*)</label>', html)
    assert labels == ["Search by name", "Type", "State", "Sort by"]


def test_it_never_lists_another_users_triggers(browser: Client, owner: User, other_user: User) -> None:
    make_trigger(other_user, name="Theirs")

    assert listed(browser, "q=Theirs") == []


def test_bulk_pause_and_resume_change_only_the_ticked_triggers(browser: Client, owner: User) -> None:
    first, second, untouched = (make_trigger(owner, name=name) for name in ("one", "two", "three"))

    response = browser.post("/triggers/bulk", {"action": "pause", "ids": [first.id, second.id], "back": "q=o"})

    assert response.status_code == 302
    assert response["Location"] == "/triggers/?q=o"
    assert set(Trigger.objects.filter(enabled=False).values_list("name", flat=True)) == {"one", "two"}
    browser.post("/triggers/bulk", {"action": "resume", "ids": [first.id]})
    assert set(Trigger.objects.filter(enabled=False).values_list("name", flat=True)) == {"two"}
    untouched.refresh_from_db()
    assert untouched.enabled


def test_bulk_actions_ignore_another_users_ids(browser: Client, owner: User, other_user: User) -> None:
    mine = make_trigger(owner, name="Mine")
    theirs = make_trigger(other_user, name="Theirs")

    browser.post("/triggers/bulk", {"action": "pause", "ids": [mine.id, theirs.id, "not-a-uuid"]})
    browser.post("/triggers/bulk", {"action": "delete", "confirmed": "on", "ids": [theirs.id]})

    theirs.refresh_from_db()
    assert theirs.enabled
    assert not Trigger.objects.get(pk=mine.pk).enabled


def test_bulk_delete_asks_first_then_deletes(browser: Client, owner: User) -> None:
    doomed = make_trigger(owner, name="Doomed")
    kept = make_trigger(owner, name="Kept")

    asked = browser.post("/triggers/bulk", {"action": "delete", "ids": [doomed.id]})

    assert asked.status_code == 200
    assert "Delete 1 trigger?" in asked.content.decode()
    assert Trigger.objects.count() == 2
    done = browser.post("/triggers/bulk", {"action": "delete", "confirmed": "on", "ids": [doomed.id]})
    assert done.status_code == 302
    assert list(Trigger.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_bulk_action_with_nothing_ticked_says_so(browser: Client, owner: User) -> None:
    make_trigger(owner)

    response = browser.post("/triggers/bulk", {"action": "pause"}, follow=True)

    assert "Tick at least one trigger" in response.content.decode()
    assert Trigger.objects.get().enabled


def test_duplicate_makes_a_paused_copy_through_the_create_rules(browser: Client, owner: User) -> None:
    original = make_trigger(owner, name="Nightly", schedule_details={"cron": "0 2 * * *"}, api_payload={"a": 1})

    response = browser.post(f"/triggers/{original.id}/duplicate")

    copy = Trigger.objects.get(name="Copy of Nightly")
    assert response.status_code == 302
    assert response["Location"] == f"/triggers/{copy.id}/"
    assert (copy.enabled, copy.cron_expression, copy.api_payload) == (False, "0 2 * * *", {"a": 1})
    assert copy.next_fire_at is None


def test_another_users_trigger_cannot_be_duplicated(browser: Client, other_user: User) -> None:
    theirs = make_trigger(other_user, name="Theirs")

    response = browser.post(f"/triggers/{theirs.id}/duplicate")

    assert response.status_code == 404
    assert Trigger.objects.count() == 1
