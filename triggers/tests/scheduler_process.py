"""Start and stop real ``manage.py runscheduler`` processes against the pytest test database.

Used by the end-to-end tests: the process sees only committed rows, so those tests are
``transaction=True``; every process is stopped before the test database is flushed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support import test_database_url

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Dispatcher listening"
T = TypeVar("T")


class SchedulerProcess:
    """One ``runscheduler`` process, its output in a log file."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._offset = 0

    def start(
        self, *, wait: bool = True, timeout: float = 40.0, environment: dict[str, str] | None = None
    ) -> SchedulerProcess:
        env = {**os.environ, "DATABASE_URL": test_database_url(), "PYTHONUNBUFFERED": "1", **(environment or {})}
        env.pop("PGAPPNAME", None)
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "runscheduler"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait:
            wait_for(lambda: READY_LINE in self._new_output() or self._exited(), timeout=timeout)
            assert not self._exited(), f"runscheduler exited at start-up:\n{self.log()}"
        return self

    def kill(self) -> None:
        """``kill -9``: no chance to finish anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, as ``bin/run`` sends on Ctrl-C; return the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def fired_lines(self) -> int:
        return self.log().count("Fired trigger ")

    def _new_output(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._offset)
            return log.read().decode(errors="replace")

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None


def wait_for(condition: Callable[[], T], *, timeout: float, interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting for {condition}")
        time.sleep(interval)


def scheduler_factory(log_dir: Path) -> Iterator[Callable[[], SchedulerProcess]]:
    """Body of a fixture: a factory of scheduler processes, all stopped (SIGKILL if they linger)
    at teardown, which must come before the test database is flushed."""
    started: list[SchedulerProcess] = []

    def make() -> SchedulerProcess:
        scheduler = SchedulerProcess(log_dir / f"scheduler-{len(started) + 1}.log")
        started.append(scheduler)
        return scheduler

    yield make
    for scheduler in started:
        if scheduler.process is not None and scheduler.process.poll() is None:
            scheduler.process.send_signal(signal.SIGTERM)
    for scheduler in started:
        if scheduler.process is None:
            continue
        try:
            scheduler.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            scheduler.kill()
