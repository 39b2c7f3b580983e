"""End to end: the web server as the image and ``make run`` start it, against clients that
open a connection and never finish their headers (slowloris). Run alone with ``pytest -m e2e``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import PYTHON, REPOSITORY, production_environment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SLOW_CLIENTS = 8
HOST = "sigwise.example.com"


def image_command() -> list[str]:
    """The Dockerfile's CMD (``bin/run`` starts the same server with the same config file)."""
    match = re.search(r"^CMD (\[.*\])$", (REPOSITORY / "Dockerfile").read_text(), re.M)
    assert match, "the Dockerfile has no exec-form CMD"
    command = json.loads(match.group(1))
    assert command[0] == "gunicorn"
    return [PYTHON, "-m", *command]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, *, timeout: float) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": HOST})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    environment = production_environment(HOST="127.0.0.1", PORT=str(port), GUNICORN_ACCESS_LOG="")
    for tuned in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_WORKER_CLASS"):
        environment.pop(tuned, None)  # the defaults are what is under test
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(image_command(), cwd=REPOSITORY, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "/ping", timeout=2) == 200:
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {(tmp_path / 'web.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_eight_clients_that_never_finish_their_headers_do_not_delay_another_request(server: int) -> None:
    slow = []
    for _ in range(SLOW_CLIENTS):
        connection = socket.create_connection(("127.0.0.1", server))
        connection.sendall(f"GET /ping HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ".encode())
        slow.append(connection)
    try:
        time.sleep(1)  # every slow connection accepted and waiting for the rest of its headers
        durations = []
        for _ in range(5):
            started = time.monotonic()
            assert get(server, "/ping", timeout=10) == 200
            durations.append(time.monotonic() - started)
    finally:
        for connection in slow:
            connection.close()

    assert max(durations) < 1.0, f"with {SLOW_CLIENTS} slow clients open /ping took {durations} s"
