"""Rules for a target's values, shared by the API, the trigger form and the admin."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from deliveries.network import address_is_public, literal_address, private_targets_allowed

MAX_HEADERS = 10
MIN_TIMEOUT_SECONDS = 1
MAX_TIMEOUT_SECONDS = 30
DEFAULT_TIMEOUT_SECONDS = 10
MAX_URL_LENGTH = 2000

# Set by Sigwise for every request, or meaningful only to one connection (RFC 9110 7.6.1).
FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
_VALUE = re.compile(r"^[\x20-\x7e\t]{0,1000}$")


class TargetInvalid(Exception):
    """``errors`` maps each field of the target to its problems."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def target_validate(*, values: Any) -> dict[str, Any]:
    """Check a target's values (``url``, optional ``headers`` and ``timeout_seconds``);
    return the model fields, or raise :class:`TargetInvalid` naming each field."""
    if not isinstance(values, dict):
        raise TargetInvalid({"non_field_errors": ["Must be an object with url, headers and timeout_seconds."]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(values) - {"url", "headers", "timeout_seconds"})
    for name in unknown:
        errors[name] = ["Unknown field."]

    url = values.get("url")
    url_problem = _url_problem(url)
    if url_problem:
        errors["url"] = [url_problem]

    headers = values.get("headers") or {}
    if not isinstance(headers, dict):
        errors["headers"] = ["Must be an object of header names to string values."]
    else:
        problems = _header_problems(headers)
        if problems:
            errors["headers"] = problems

    timeout = values.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if timeout is None:
        timeout = DEFAULT_TIMEOUT_SECONDS
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        errors["timeout_seconds"] = ["Must be a whole number of seconds."]
    elif not MIN_TIMEOUT_SECONDS <= timeout <= MAX_TIMEOUT_SECONDS:
        errors["timeout_seconds"] = [f"Must be from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS} seconds."]

    if errors:
        raise TargetInvalid(errors)
    return {"url": url, "headers": dict(headers), "timeout_seconds": timeout}


def _url_problem(url: Any) -> str:
    if not isinstance(url, str) or not url:
        return "This field is required."
    if len(url) > MAX_URL_LENGTH:
        return f"Must be at most {MAX_URL_LENGTH} characters."
    if any(character.isspace() or ord(character) < 0x20 for character in url):
        return "Must not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("http", "https"):
        return "Must be an http or https URL."
    host = parts.hostname
    if not host:
        return "Must name a host."
    if parts.username is not None or parts.password is not None:
        return "Must not contain a user name or password; use a header."
    if port == 0:
        return "Not a valid port."
    address = literal_address(host)
    if address is not None and not private_targets_allowed() and not address_is_public(address):
        return "Must be a public address: loopback, private, link-local and reserved ones are refused."
    if address is None and host.rstrip(".").lower() in ("localhost",) and not private_targets_allowed():
        return "Must be a public address: loopback, private, link-local and reserved ones are refused."
    return ""


def _header_problems(headers: dict[str, Any]) -> list[str]:
    problems = []
    if len(headers) > MAX_HEADERS:
        problems.append(f"At most {MAX_HEADERS} headers.")
    seen: set[str] = set()
    for name, value in headers.items():
        lowered = name.lower()
        if not _TOKEN.match(name):
            problems.append(f"{name!r} is not a valid header name.")
        elif lowered in FORBIDDEN_HEADERS:
            problems.append(f"{name} is set by Sigwise and cannot be given.")
        elif lowered in seen:
            problems.append(f"{name} is given twice.")
        seen.add(lowered)
        if not isinstance(value, str) or not _VALUE.match(value):
            problems.append(f"The value of {name} must be a string of printable characters (at most 1000).")
    return problems
