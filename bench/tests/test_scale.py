"""The drill's fire load records every request, each with a key of its own.

Run with ``.venv/bin/python -m pytest bench`` (no database needed).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.scale import FireLoad

KEYS: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        KEYS.append(self.headers["Idempotency-Key"])
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    KEYS.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def test_it_sends_each_fire_once_with_its_own_key_never_above_the_rate(port: int) -> None:
    load = FireLoad(port=port, token="t", trigger_ids=["a", "b"], rate=40, threads=4)
    load.start()
    time.sleep(1.0)
    load.stop()
    # Open loop: never ahead of the schedule (a busy host may put it behind).
    assert 0 < len(load.fires) <= 40 * 1.0 + 4
    assert all(fire.status == 201 and fire.done >= fire.sent for fire in load.fires)
    assert sorted(KEYS) == sorted(fire.key for fire in load.fires)
    assert len(set(KEYS)) == len(KEYS)


def test_it_records_a_fire_that_could_not_connect_as_failed() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        free = unused.getsockname()[1]
    load = FireLoad(port=free, token="t", trigger_ids=["a"], rate=20, threads=2)
    load.start()
    time.sleep(0.3)
    load.stop()
    assert load.fires
    assert all(fire.status == 0 and fire.error == "ConnectionRefusedError" for fire in load.fires)
