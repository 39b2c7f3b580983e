from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from deliveries.engine import DeliveryWorker
from monitoring.heartbeats import HeartbeatThread
from monitoring.models import Heartbeat

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: a copy gets SIGTERM when the process that started it dies, even by kill -9,
    so no copy outlives its parent (elsewhere it simply keeps running until stopped)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = (
        "Send due webhook deliveries until stopped (SIGTERM or Ctrl-C finishes the attempts in flight). "
        "Several copies may run at once; --processes starts them from one command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=None, help="Requests in flight (DELIVERY_CONCURRENCY).")
        parser.add_argument("--per-host", type=int, default=None, help="In flight to one host (DELIVERY_MAX_PER_HOST).")
        parser.add_argument("--processes", type=int, default=None, help="Worker processes (DELIVERY_PROCESSES).")

    def handle(
        self, *args: Any, concurrency: int | None, per_host: int | None, processes: int | None, **options: Any
    ) -> None:
        count = max(processes or settings.DELIVERY_PROCESSES, 1)
        copies = [self._start_copy(concurrency=concurrency, per_host=per_host) for _ in range(count - 1)]
        worker = DeliveryWorker(concurrency=concurrency, per_host=per_host)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, worker.stop)
            self.stdout.write(
                f"Delivering in {count} process{'es' if count > 1 else ''} (up to {worker.concurrency} in flight, "
                f"{worker.per_host} per host, each); Ctrl-C to stop.",
            )
            self.stdout.flush()
            await worker.run()

        # A thread of its own, so a busy event loop cannot make the worker look dead.
        heartbeat = HeartbeatThread(kind=Heartbeat.Kind.DELIVERIES)
        heartbeat.start()
        try:
            asyncio.run(main())
        finally:
            heartbeat.stop()
            for copy in copies:
                copy.terminate()
            for copy in copies:
                copy.wait()
        self.stdout.write(f"Stopped after {worker.attempted} attempts in this process.")

    def _start_copy(self, *, concurrency: int | None, per_host: int | None) -> subprocess.Popen[bytes]:
        command = [sys.executable, sys.argv[0], "rundeliveries", "--processes", "1"]
        if concurrency:
            command += ["--concurrency", str(concurrency)]
        if per_host:
            command += ["--per-host", str(per_host)]
        return subprocess.Popen(command, preexec_fn=_die_with_parent)  # noqa: S603 (our own command)
