from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from deliveries.engine import DeliveryWorker
from monitoring.heartbeats import HeartbeatThread
from monitoring.models import Heartbeat

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Send due webhook deliveries until stopped (SIGTERM or Ctrl-C finishes the attempts in flight). "
        "Several copies may run at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=None, help="Requests in flight (DELIVERY_CONCURRENCY).")
        parser.add_argument("--per-host", type=int, default=None, help="In flight to one host (DELIVERY_MAX_PER_HOST).")

    def handle(self, *args: Any, concurrency: int | None, per_host: int | None, **options: Any) -> None:
        worker = DeliveryWorker(concurrency=concurrency, per_host=per_host)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, worker.stop)
            self.stdout.write(
                f"Delivering (up to {worker.concurrency} in flight, {worker.per_host} per host); Ctrl-C to stop.",
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
        self.stdout.write(f"Stopped after {worker.attempted} attempts.")
