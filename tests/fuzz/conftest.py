"""Prints what the fuzzer ran: operations, cases and checks."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    import sys

    fuzz = sys.modules.get("tests.fuzz.test_api_schema")
    if fuzz is None or not fuzz.CASES:
        return
    checks = sum(fuzz.CHECKS.values())
    failed = sum(fuzz.FAILED_CHECKS.values())
    terminalreporter.section("schemathesis")
    terminalreporter.write_line(
        f"schemathesis: {len(fuzz.CASES)} operations, {sum(fuzz.CASES.values())} cases, "
        f"{checks} checks run, {failed} failed"
    )
    for label, count in sorted(fuzz.CASES.items()):
        terminalreporter.write_line(f"  {count:5d} cases  {label}")
    names = ", ".join(f"{name} {count}" for name, count in sorted(fuzz.CHECKS.items()))
    terminalreporter.write_line(f"  checks: {names}")
