"""The request a delivery sends: Standard Webhooks body, headers and signature."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from standardwebhooks.webhooks import Webhook

try:
    _VERSION = version("sigwise")
except PackageNotFoundError:  # run from a checkout, not installed
    _VERSION = "1.0.0"
USER_AGENT = f"Sigwise/{_VERSION}"

FIRED = "trigger.fired"
TEST = "trigger.test"


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]


def _moment(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def event_data(
    *,
    event_id: Any,
    trigger_id: Any,
    trigger_name: str,
    source: str,
    fired_at: datetime | None,
    scheduled_for: datetime | None,
    payload: Any,
) -> dict[str, Any]:
    return {
        "event_id": str(event_id),
        "trigger_id": str(trigger_id),
        "trigger_name": trigger_name,
        "source": source,
        "fired_at": _moment(fired_at),
        "scheduled_for": _moment(scheduled_for),
        "payload": payload,
    }


def sign_request(
    *,
    message_id: str,
    message_type: str,
    data: dict[str, Any],
    secrets: list[str],
    at: datetime,
    extra_headers: dict[str, str] | None = None,
) -> SignedRequest:
    """The body and headers of one attempt, signed with every secret in ``secrets``
    (the spec's space-separated list, so a receiver holding either one verifies)."""
    body = json.dumps(
        {"type": message_type, "timestamp": _moment(at), "data": data}, separators=(",", ":"), ensure_ascii=False
    )
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)
    headers = {
        **(extra_headers or {}),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
    return SignedRequest(body=body.encode(), headers=headers)
