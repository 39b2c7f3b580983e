"""The load generator counts every request: answered, timed out or failed, with its latency.

Run with ``.venv/bin/python -m pytest bench`` (not part of ``make test``: no database needed).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.loadgen import _parse_response, run_load

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the handler says otherwise

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        if self.path == "/hang":
            threading.Event().wait(2)
        body = b'{"ok": true}'
        status = 429 if self.path == "/limited" else 201
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on /hang resets its socket: expected here


@pytest.fixture
def server() -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _post(path: str):
    request = ("POST", path, {"Content-Type": "application/json"}, b"{}")
    return lambda _client: request


def test_it_answers_every_request_on_keep_alive_connections(server: str) -> None:
    result = run_load(server, _post("/ok"), clients=4, duration=0.5, warmup=0.1)
    assert result.answered > 20
    assert result.sent == result.answered
    assert result.statuses == {201: result.answered}
    assert result.errors == 0
    assert len(result.latencies) == result.answered
    assert 0 < result.percentile(0.5) <= result.percentile(0.99)


def test_it_reconnects_when_the_server_closes_each_connection(server: str) -> None:
    result = run_load(server, _post("/close"), clients=2, duration=0.3, warmup=0.0)
    assert result.answered > 5
    assert result.sent == result.answered
    assert result.errors == 0


def test_a_non_2xx_answer_counts_as_an_error(server: str) -> None:
    result = run_load(server, _post("/limited"), clients=1, duration=0.2, warmup=0.0)
    assert result.answered > 0
    assert result.errors == result.answered


def test_a_request_past_the_timeout_is_counted_not_lost(server: str) -> None:
    result = run_load(server, _post("/hang"), clients=2, duration=0.2, warmup=0.0, timeout=0.5)
    assert result.answered == 0
    assert result.timeouts == result.sent == 2
    assert result.errors == 2


def test_a_refused_connection_is_a_socket_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once the socket is closed
    result = run_load(f"http://127.0.0.1:{port}", _post("/ok"), clients=1, duration=0.2, warmup=0.0)
    assert result.answered == 0
    assert result.socket_errors >= 1
    assert result.errors == result.sent


def test_it_reads_a_response_only_once_it_is_complete() -> None:
    head = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\n"
    assert _parse_response(bytearray(head + b"ab")) is None
    assert _parse_response(bytearray(head + b"abcde")) == (201, False)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n"
    assert _parse_response(bytearray(chunked)) is None
    assert _parse_response(bytearray(chunked + b"0\r\n\r\n")) == (200, True)
