"""A small closed-loop HTTP/1.1 load generator on raw asyncio sockets.

Each client holds one keep-alive connection and sends its next request as soon as
the previous answer has been read completely, so ``clients`` is the number of
requests in flight. It costs a few tens of microseconds of CPU per request (no HTTP
library, no parsing beyond the status line, ``Content-Length`` and chunking), so it
takes little from the server on a 2-core machine; its own CPU time is reported.

Every request sent is accounted for: answered (with its status and latency), timed
out, or failed on the socket. When the time is up no new request is sent and the
ones in flight are waited for (up to ``timeout``), so "answered == sent" means no
request was left hanging.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# A factory returns the (method, path, headers, body) of the next request for a client,
# one of a few constant tuples (each is encoded once).
RequestFactory = Callable[[int], tuple[str, str, dict[str, str], bytes]]


@dataclass
class LoadResult:
    clients: int
    duration: float
    sent: int = 0
    answered: int = 0
    answered_in_window: int = 0  # answered before the time was up: the basis of the rate
    timeouts: int = 0
    socket_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests only
    cpu_seconds: float = 0.0  # the generator's own CPU time

    @property
    def errors(self) -> int:
        """Requests that were not answered with a 2xx: timeouts, socket errors and HTTP errors."""
        non_2xx = sum(count for status, count in self.statuses.items() if not 200 <= status < 300)
        return self.sent - self.answered + non_2xx

    @property
    def rate(self) -> float:
        return self.answered_in_window / self.duration if self.duration else 0.0

    def percentile(self, fraction: float) -> float:
        """The latency (seconds) at ``fraction`` (0.5, 0.99) by the nearest-rank method."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, int(-(-fraction * len(ordered) // 1)) - 1))
        return ordered[rank]

    def summary(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "duration_s": round(self.duration, 3),
            "sent": self.sent,
            "answered": self.answered,
            "timeouts": self.timeouts,
            "socket_errors": self.socket_errors,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": self.errors,
            "rate_per_s": round(self.rate, 1),
            "p50_ms": round(self.percentile(0.50) * 1000, 2),
            "p90_ms": round(self.percentile(0.90) * 1000, 2),
            "p99_ms": round(self.percentile(0.99) * 1000, 2),
            "max_ms": round(max(self.latencies, default=float("nan")) * 1000, 2),
            "loadgen_cpu_s": round(self.cpu_seconds, 2),
        }


class _Client(asyncio.Protocol):
    """One client: a keep-alive connection that sends its next request from the callback
    that completes the previous answer (no task or timer per request: cheap)."""

    def __init__(self, number: int, run: _Run) -> None:
        self.number = number
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.started = 0.0
        self.result: LoadResult | None = None  # the result the request in flight counts in
        self.in_flight = False
        self.done = False

    # -- connection ---------------------------------------------------------------------
    async def connect(self) -> None:
        run = self.run
        while not run.stopping:
            try:
                await asyncio.wait_for(run.loop.create_connection(lambda: self, run.host, run.port), run.timeout)
                return
            except (OSError, TimeoutError):
                run.result.socket_errors += 1
                run.result.sent += 1  # a request we meant to send and could not
                await asyncio.sleep(0.05)
        self._finish()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.in_flight:
            self.in_flight = False
            self.result.socket_errors += 1
        if self.run.stopping:
            self._finish()
        else:
            self.run.loop.create_task(self.connect())

    # -- requests -------------------------------------------------------------------------
    def send(self) -> None:
        if self.run.stopping:
            self.transport.close()
            return
        self.buffer.clear()
        self.result = self.run.result
        self.result.sent += 1
        self.in_flight = True
        self.started = time.perf_counter()
        self.transport.write(self.run.request_bytes(self.number))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.in_flight:
            return
        parsed = _parse_response(self.buffer)
        if parsed is None:
            return
        elapsed = time.perf_counter() - self.started
        status, close = parsed
        self.in_flight = False
        result = self.result
        result.answered += 1
        if not self.run.stopping:
            result.answered_in_window += 1
        result.statuses[status] += 1
        result.latencies.append(elapsed)
        if close:
            self.transport.close()  # connection_lost reconnects
        else:
            self.send()

    def check_timeout(self, now: float) -> None:
        if self.in_flight and now - self.started > self.run.timeout:
            self.in_flight = False
            self.result.timeouts += 1
            if self.transport is not None:
                self.transport.abort()

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            self.run.finished += 1
            if self.run.finished == len(self.run.clients) and not self.run.all_done.done():
                self.run.all_done.set_result(None)


def _parse_response(buffer: bytearray) -> tuple[int, bool] | None:
    """(status, connection-close) once the whole response is in ``buffer``; else None."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).decode("latin-1")
    lines = head.split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    chunked = False
    close = lines[0].startswith("HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection":
            close = value.strip().lower() == "close"
    body_start = head_end + 4
    if chunked:
        return (status, close) if buffer.endswith(b"0\r\n\r\n") else None
    if length is None:
        return None  # read until close; not produced by gunicorn for these endpoints
    return (status, close) if len(buffer) - body_start >= length else None


class _Run:
    def __init__(self, url: str, factory: RequestFactory, clients: int, timeout: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.factory = factory
        self.timeout = timeout
        self.stopping = False
        self.loop = asyncio.get_running_loop()
        self.result = LoadResult(clients=clients, duration=0.0)
        self.clients: list[_Client] = []
        self.finished = 0
        self.all_done: asyncio.Future[None] = self.loop.create_future()
        self._encoded: dict[int, bytes] = {}
        self._requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def request_bytes(self, number: int) -> bytes:
        request = self.factory(number)
        encoded = self._encoded.get(id(request))
        if encoded is None:
            method, path, headers, body = request
            lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: keep-alive"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            if body or method in {"POST", "PUT", "PATCH"}:
                lines.append(f"Content-Length: {len(body)}")
            encoded = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
            # Factories hand out a few constant tuples: encode each once (keeping it alive
            # keeps its id unique).
            self._encoded[id(request)] = encoded
            self._requests.append(request)
        return encoded


async def _drive(
    url: str, factory: RequestFactory, clients: int, duration: float, warmup: float, timeout: float
) -> LoadResult:
    run = _Run(url, factory, clients, timeout)
    run.clients = [_Client(number, run) for number in range(clients)]
    for client in run.clients:
        run.loop.create_task(client.connect())

    async def watchdog() -> None:
        while not run.all_done.done():
            await asyncio.sleep(0.05)
            moment = time.perf_counter()
            for client in run.clients:
                client.check_timeout(moment)

    watching = run.loop.create_task(watchdog())
    if warmup > 0:
        await asyncio.sleep(warmup)
    # The measured window starts here: requests sent during the warm-up count in a discarded result.
    run.result = LoadResult(clients=clients, duration=0.0)
    cpu_start = time.process_time()
    started = time.perf_counter()
    await asyncio.sleep(duration)
    run.stopping = True
    measured = run.result
    measured.duration = time.perf_counter() - started
    # Requests still in flight are waited for and counted (with their latency), not in the rate.
    for client in run.clients:
        if not client.in_flight and client.transport is not None:
            client.transport.close()
    await run.all_done
    watching.cancel()
    measured.cpu_seconds = time.process_time() - cpu_start
    return measured


def run_load(
    url: str,
    factory: RequestFactory,
    *,
    clients: int,
    duration: float,
    warmup: float = 1.0,
    timeout: float = 10.0,
) -> LoadResult:
    """Run ``clients`` closed-loop clients against ``url`` for ``duration`` seconds.

    Uses uvloop when installed (requirements-bench.txt): it roughly halves the
    generator's CPU per request, which on 2 cores is CPU the server gets back.
    """
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_drive(url, factory, clients, duration, warmup, timeout))


def json_post(path: str, token: str, body: Any) -> RequestFactory:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    request = ("POST", path, headers, json.dumps(body).encode())
    return lambda _number: request


def get(path: str, token: str) -> RequestFactory:
    request = ("GET", path, {"Authorization": f"Bearer {token}", "Accept": "application/json"}, b"")
    return lambda _number: request
