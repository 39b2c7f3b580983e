"""Chromium (Debian's, at /usr/bin/chromium) driven by Playwright against pytest-django's live server.

Without Chromium the browser tests are skipped with a reason that says so; CI sets
``SIGWISE_REQUIRE_BROWSER=1`` so that a skip there is a failure instead.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import test_failed
from tests.support import PYTHON, REPOSITORY, test_database_url

# Debian's Chromium; SIGWISE_CHROMIUM points elsewhere (also how the skip path is tried out).
CHROMIUM = Path(os.environ.get("SIGWISE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGUMENTS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPOSITORY / "test-artifacts"
SKIP_REASON = f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)"


def browser_required() -> bool:
    return os.environ.get("SIGWISE_REQUIRE_BROWSER", "") == "1"


def browser_status() -> str:
    """One line for pytest's header: whether the browser tests will run."""
    if CHROMIUM.exists():
        return f"browser: {CHROMIUM} (Playwright, headless)"
    if browser_required():
        return f"browser: {CHROMIUM} NOT FOUND and SIGWISE_REQUIRE_BROWSER=1: the browser tests will fail"
    return SKIP_REASON


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if browser_required():
            pytest.fail(f"{CHROMIUM} not found and SIGWISE_REQUIRE_BROWSER=1: the browser tests must run here")
        pytest.skip(SKIP_REASON)
    # Playwright's sync API keeps an asyncio loop in this thread; Django would otherwise
    # refuse the test's own ORM calls as "from an async context". Set only while it runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGUMENTS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser, live_server, request: pytest.FixtureRequest) -> Generator[Page]:
    """A fresh browser context (no cookies) on the live server. The browser's own zone is UTC,
    so any time shown in the user's zone (IST by default) was converted by the server."""
    context = browser.new_context(base_url=live_server.url, timezone_id="UTC", locale="en-US")
    context.set_default_timeout(10_000)
    browser_page = context.new_page()
    yield browser_page
    if test_failed(request.node):
        save_screenshots(browser_page, request.node.name)
    context.close()


def save_screenshots(browser_page: Page, test_name: str) -> None:
    """The page as the test left it, then the dashboard and the events page, into test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    shots = [("failure", None), ("dashboard", "/"), ("events", "/events/")]
    for label, path in shots:
        try:
            if path is not None:
                browser_page.goto(path)
            browser_page.screenshot(path=str(ARTIFACTS / f"{stem}-{label}.png"), full_page=True)
        except Exception as error:
            warnings.warn(f"could not save the {label} screenshot for {test_name}: {error}", stacklevel=1)


class SchedulerProcess:
    """``manage.py runscheduler`` as deployed: its own process, on the test database."""

    def __init__(self) -> None:
        environment = {**os.environ, "DATABASE_URL": test_database_url(), "PYTHONUNBUFFERED": "1"}
        environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.log = ARTIFACTS / "runscheduler.log"
        ARTIFACTS.mkdir(exist_ok=True)
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "runscheduler"],
            cwd=REPOSITORY,
            env=environment,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def assert_running(self) -> None:
        assert self.process.poll() is None, f"runscheduler exited:\n{self.log.read_text()}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # the command's own clean shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log_file.close()


@pytest.fixture
def scheduler_process(live_server) -> Iterator[SchedulerProcess]:
    # Stopped before live_server's database is flushed: the flush must not wait on its locks.
    scheduler = SchedulerProcess()
    try:
        yield scheduler
    finally:
        scheduler.stop()
