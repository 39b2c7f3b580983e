"""The heartbeat a long-running process keeps while it runs (scheduler, delivery workers)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connection
from django.utils.timezone import now

from monitoring.services import heartbeat_beat, heartbeat_end, heartbeats_prune

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_SECONDS = 5.0
PRUNE_INTERVAL_SECONDS = 60.0


class HeartbeatThread:
    """Beat every :data:`HEARTBEAT_INTERVAL_SECONDS` in a thread of its own (own database
    connection), so a long lifecycle batch or a busy event loop does not delay it.

    ``alive`` is asked before each beat: the scheduler beats only while its dispatcher
    thread runs, so a process whose firing loop died stops looking healthy. Database
    errors are logged and the next beat tries again; a heartbeat never stops its process.
    """

    def __init__(
        self, *, kind: str, interval: float = HEARTBEAT_INTERVAL_SECONDS, alive: Callable[[], bool] | None = None
    ) -> None:
        self.kind = kind
        self.interval = interval
        self.alive = alive
        self.id = uuid.uuid4()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = now()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.kind}", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def beat(self) -> None:
        heartbeat_beat(
            heartbeat_id=self.id,
            kind=self.kind,
            host=self.host,
            pid=self.pid,
            version=settings.SIGWISE_VERSION,
            started_at=self.started_at,
        )
        if time.monotonic() - self._last_prune >= PRUNE_INTERVAL_SECONDS:
            self._last_prune = time.monotonic()
            if pruned := heartbeats_prune():
                logger.info("Pruned %s stale heartbeat rows", pruned)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                if self.alive is None or self.alive():
                    self._beat_safely()
                self._stopping.wait(self.interval)
            with contextlib.suppress(DatabaseError):
                heartbeat_end(heartbeat_id=self.id)
        finally:
            connection.close()

    def _beat_safely(self) -> None:
        try:
            self.beat()
        except DatabaseError as error:
            logger.warning("Heartbeat not written (%s); trying again in %.0f s", str(error).strip(), self.interval)
            with contextlib.suppress(DatabaseError):
                connection.close()
