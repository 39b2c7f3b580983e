"""The Content-Security-Policy in a real browser: Swagger UI, the admin and the trigger form's
script work under it, and Chromium reports no violation (it logs each one as a console error)."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from accounts.models import User
from tests.browser.test_flows import PASSWORD, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Every policy violation (reported by the page's own ``securitypolicyviolation`` event and
    by Chromium's console) and every uncaught script error, as text."""
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if message.type == "error" and ("Content Security Policy" in message.text or "CSP" in message.text):
            errors.append(message.text)

    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) =>"
        " console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`));"
    )
    page.on("console", collect)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_swagger_ui_renders_the_api_under_the_policy(page: Page, console_errors: list[str], live_server) -> None:
    response = page.goto("/docs")

    assert "unsafe-inline" not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sigwise API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    assert console_errors == []


def test_the_admin_works_under_the_policy(page: Page, console_errors: list[str], live_server) -> None:
    User.objects.create_superuser(email="admin@example.com", password=PASSWORD)
    page.goto("/admin/login/")
    page.fill("#id_username", "admin@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto("/admin/triggers/trigger/")
    expect(page.locator("#changelist")).to_be_visible()
    page.goto("/admin/accounts/user/add/")
    expect(page.locator("#user_form")).to_be_visible()

    assert console_errors == []


def test_the_trigger_forms_script_runs_from_its_static_file(page: Page, console_errors: list[str], live_server) -> None:
    User.objects.create_user(email="customer@example.com", password=PASSWORD)
    sign_in(page, "customer@example.com")
    page.goto("/triggers/new")
    page.select_option("#id_schedule_kind", "cron")

    expect(page.locator("#id_cron")).to_be_visible()
    expect(page.locator("#id_run_at")).to_be_hidden()
    page.select_option("#id_type", "api")
    expect(page.locator("#id_schedule_kind")).to_be_hidden()
    assert console_errors == []
