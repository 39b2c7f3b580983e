from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from deliveries.engine import DeliveryWorker
from deliveries.tests.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def allow_private(settings: Any) -> None:
    """Test receivers listen on 127.0.0.1, which deliveries refuse unless allowed."""
    settings.DELIVERY_ALLOW_PRIVATE_TARGETS = True


class RunningWorker:
    """A :class:`DeliveryWorker` on its own event loop in a thread."""

    def __init__(self, **options: Any) -> None:
        self.worker: DeliveryWorker | None = None
        self.options = options
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.worker = DeliveryWorker(max_sleep=0.2, **self.options)
            self.ready.set()
            await self.worker.run()

        try:
            asyncio.run(main())
        except BaseException as error:  # reported by stop()
            self.error = error
            self.ready.set()

    def start(self) -> RunningWorker:
        self.thread.start()
        self.ready.wait(10)
        return self

    def stop(self) -> None:
        if self.loop is not None and self.worker is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.worker.stop)
        self.thread.join(30)
        from django.db import connections

        connections.close_all()
        if self.error is not None:
            raise self.error


@pytest.fixture
def start_worker() -> Iterator[Any]:
    started: list[RunningWorker] = []

    def start(**options: Any) -> RunningWorker:
        running = RunningWorker(**options).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
