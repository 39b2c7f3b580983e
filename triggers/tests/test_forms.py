"""The new/edit trigger form as a user meets it: help and errors a screen reader can reach,
every problem in one round, and messages in the page's words."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client

from accounts.models import User
from tests.support import make_api_trigger, make_trigger, signed_in
from triggers.models import Trigger
from triggers.tests.test_pages import MORNING, field_errors, form_data


@pytest.fixture
def browser(owner: User) -> Client:
    return signed_in(owner)


def described_ids(html: str) -> list[str]:
    return [name for value in re.findall(r'aria-describedby="([^"]*)"', html) for name in value.split()]


def test_the_cron_help_shows_the_example_as_code_not_as_markup(browser: Client) -> None:
    html = browser.get("/triggers/new").content.decode()

    assert 'aria-describedby="id_cron_helptext"' in html
    assert '<p class="help" id="id_cron_helptext">' in html
    assert "<code>0 9 * * 1-5</code>" in html
    assert "&lt;code&gt;" not in html


@pytest.mark.parametrize(
    "path",
    ["/triggers/new", "/settings", "/auth/password", "/triggers/", "/events/", "{api}", "{api}edit"],
)
def test_every_aria_describedby_names_an_element_on_the_page(browser: Client, owner: User, path: str) -> None:
    trigger = make_api_trigger(owner)
    html = browser.get(path.replace("{api}", f"/triggers/{trigger.id}/")).content.decode()

    for name in described_ids(html):
        assert f'id="{name}"' in html, name


def test_error_ids_match_aria_describedby_after_a_refused_submit(browser: Client) -> None:
    html = browser.post("/triggers/new", form_data(name="", cron="61 * * * *", schedule_kind="cron")).content.decode()

    assert 'aria-describedby="id_name_error"' in html
    assert 'id="id_name_error"' in html
    assert "id_cron_error" in described_ids(html)
    for name in described_ids(html):
        assert f'id="{name}"' in html, name


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register"])
def test_the_signed_out_forms_describe_their_fields_with_ids_that_exist(client: Client, db: None, path: str) -> None:
    html = client.post(path, {"email": "", "password": ""}).content.decode()

    for name in described_ids(html):
        assert f'id="{name}"' in html, name


@time_machine.travel(MORNING, tick=False)
def test_it_reports_every_problem_in_one_round(browser: Client) -> None:
    response = browser.post(
        "/triggers/new",
        form_data(
            name="",
            api_payload="{bad",
            schedule_kind="cron",
            cron="0 9 * * 1-5",
            cron_timezone="Mars/Olympus",
            expires_at="2020-01-01T00:00",
        ),
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "required" in field_errors(html, "name")
    assert "JSON" in field_errors(html, "api_payload")
    assert "IANA" in field_errors(html, "cron_timezone")
    assert "future" in field_errors(html, "expires_at")
    assert not Trigger.objects.exists()


@time_machine.travel(MORNING, tick=False)
def test_a_bad_cron_shows_with_a_bad_name_and_a_past_expiry(browser: Client) -> None:
    html = browser.post(
        "/triggers/new",
        form_data(name="", schedule_kind="cron", cron="61 * * * *", expires_at="2020-01-01T00:00"),
    ).content.decode()

    assert "required" in field_errors(html, "name")
    assert "cron" in field_errors(html, "cron")
    assert "future" in field_errors(html, "expires_at")


@time_machine.travel(MORNING, tick=False)
def test_it_focuses_the_first_field_with_an_error_not_the_name(browser: Client) -> None:
    html = browser.post("/triggers/new", form_data(schedule_kind="cron", cron="61 * * * *")).content.decode()

    autofocused = re.findall(r"<(?:input|textarea|select)[^>]*\bautofocus\b[^>]*>", html)
    assert len(autofocused) == 1
    assert 'name="cron"' in autofocused[0]


@time_machine.travel(MORNING, tick=False)
def test_a_cron_that_never_matches_says_so_on_the_cron_field(browser: Client) -> None:
    html = browser.post("/triggers/new", form_data(schedule_kind="cron", cron="0 0 30 2 *")).content.decode()

    assert "never" in field_errors(html, "cron")
    assert "before expires_at" not in html


@time_machine.travel(MORNING, tick=False)
def test_an_expiry_before_the_run_time_is_said_in_the_page_words(browser: Client) -> None:
    html = browser.post(
        "/triggers/new",
        form_data(schedule_kind="once", run_at="2026-06-01T10:00", expires_at="2026-05-01T10:00"),
    ).content.decode()

    errors = field_errors(html, "expires_at")
    assert "run time" in errors
    assert "run_at" not in errors


@time_machine.travel(MORNING, tick=False)
def test_an_interval_can_be_typed_in_minutes_or_hours(browser: Client, owner: User) -> None:
    browser.post("/triggers/new", form_data(name="Minutes", interval="5", interval_unit="minutes"))
    browser.post("/triggers/new", form_data(name="Hours", interval="2", interval_unit="hours"))

    stored = dict(Trigger.objects.filter(owner=owner).values_list("name", "interval_seconds"))
    assert stored == {"Minutes": 300, "Hours": 7200}


@time_machine.travel(MORNING, tick=False)
def test_the_edit_form_shows_an_interval_in_its_largest_whole_unit(browser: Client, owner: User) -> None:
    trigger = make_trigger(owner, schedule_details={"interval_seconds": 7200})

    html = browser.get(f"/triggers/{trigger.id}/edit").content.decode()

    assert re.search(r'name="interval" value="2"', html)
    assert re.search(r'<option value="hours" selected>', html)
