"""A fast webhook receiver for the delivery scenarios: asyncio, HTTP/1.1 keep-alive,
answers 200 at once (or a scripted failure), records each request's ``webhook-id`` and
arrival time. Runs on its own event loop in a thread of the bench process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class FastReceiver:
    def __init__(self, *, status_for: Callable[[str, int], int] | None = None) -> None:
        self.arrivals: list[tuple[str, float]] = []  # (webhook-id, time.time())
        self.status_for = status_for  # (webhook id, how many times seen before) -> status
        self.seen: dict[str, int] = {}
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> FastReceiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                webhook_id = ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    lowered = name.strip().lower()
                    if lowered == b"content-length":
                        length = int(value)
                    elif lowered == b"webhook-id":
                        webhook_id = value.strip().decode()
                if length:
                    await reader.readexactly(length)
                self.arrivals.append((webhook_id, time.time()))
                status = 200
                if self.status_for is not None:
                    before = self.seen.get(webhook_id, 0)
                    self.seen[webhook_id] = before + 1
                    status = self.status_for(webhook_id, before)
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
