"""Request ids and the JSON log format (LOG_FORMAT=json)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from core.logging import RequestContextFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The settings' JSON formatter and request filter, on django.request's log."""
    formatter_config = dict(settings.LOGGING["formatters"]["json"])
    formatter = logging.config.DictConfigurator({}).configure_formatter(formatter_config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_a_response_returns_a_sane_incoming_request_id(client: Client) -> None:
    response = client.get("/ping", HTTP_X_REQUEST_ID="lb-7f3a.2c:01")

    assert response["X-Request-ID"] == "lb-7f3a.2c:01"


@pytest.mark.parametrize("incoming", [None, "", "has space", "x" * 129, "line\nbreak", "<script>"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(client: Client, incoming: str | None) -> None:
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}

    first = client.get("/ping", **headers)["X-Request-ID"]
    second = client.get("/ping", **headers)["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_json_log_line_carries_the_request_id_and_the_signed_in_user(
    client: Client, owner: User, json_log: io.StringIO
) -> None:
    client.force_login(owner)

    response = client.get("/no-such-page", HTTP_X_REQUEST_ID="req-42")

    assert response.status_code == 404
    (line,) = json_log.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "Not Found: /no-such-page"
    assert record["level"] == "WARNING"
    assert record["logger"] == "django.request"
    assert record["request_id"] == "req-42"
    assert record["user_id"] == owner.pk
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", record["time"])


def test_a_json_log_line_of_a_signed_out_request_has_no_user(client: Client, json_log: io.StringIO) -> None:
    response = client.get("/api/v1/no-such-endpoint", HTTP_X_REQUEST_ID="req-43")

    assert response.status_code == 404
    record = json.loads(json_log.getvalue().splitlines()[-1])
    assert record["request_id"] == "req-43"
    assert "user_id" not in record


def test_a_log_line_outside_a_request_has_no_request_id(json_log: io.StringIO) -> None:
    logging.getLogger("django.request").warning("background %s", "work")

    record = json.loads(json_log.getvalue())
    assert record["message"] == "background work"
    assert "request_id" not in record
