"""Fixtures and hooks shared by the proof layers: browser flows, API fuzzing, the security matrix.

The shared fixtures (``owner``, ``other_user``, ``api``, ``browser``, ``frozen_clock`` ...) come
from the repository's root ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

# Each test's reports by phase ("setup", "call", "teardown"), so a fixture's teardown can
# tell whether the test failed (the browser fixture saves screenshots then).
PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_report_header() -> str:
    from tests.browser.conftest import browser_status

    return browser_status()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report  # type: ignore[union-attr,index]
    return report


def test_failed(item: pytest.Item) -> bool:
    reports = item.stash.get(PHASE_REPORTS, {})
    return any(report.failed for report in reports.values())


test_failed.__test__ = False  # a helper, not a test
