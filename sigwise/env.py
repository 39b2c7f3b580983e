"""Small readers for settings that come from the environment.

Each one fails loudly with ``ImproperlyConfigured`` on a value it cannot use, so a
typo in a deployment stops the process at start-up instead of being silently ignored.
"""

from __future__ import annotations

import os
import secrets
import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_timezone(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name} must be an IANA time zone name, not {value!r}") from None
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def env_directory(name: str) -> str:
    """A directory this process can write to, or "" when unset."""
    value = os.environ.get(name, "").strip()
    if value and not (os.path.isdir(value) and os.access(value, os.W_OK | os.X_OK)):
        raise ImproperlyConfigured(f"{name} must be an existing directory this process can write to, not {value!r}")
    return value


_RATE_PERIODS = ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as ``60/minute``, checked here rather than on the first request."""
    value = os.environ.get(name, default).strip()
    count, _, period = value.partition("/")
    if not count.isdigit() or period not in _RATE_PERIODS:
        raise ImproperlyConfigured(f"{name} must look like 60/minute (a number, then second, minute, hour or day)")
    return value


# Values a deployment copies from a template and forgets to change.
_PLACEHOLDER_MARKS = (
    "django-insecure",
    "change-me",
    "changeme",
    "change_me",
    "placeholder",
    "your-secret",
    "not-secret",
)


def secret_problem(value: str) -> str | None:
    """Why ``value`` cannot sign anything in production, or None when it can.

    The rule of Django's own deploy check (50 characters, 5 distinct ones, no
    ``django-insecure-`` prefix) plus the words a template's placeholder carries.
    """
    if len(value) < 50:
        return "it is shorter than 50 characters"
    if len(set(value)) < 5:
        return "it has fewer than 5 distinct characters"
    lowered = value.lower()
    if any(mark in lowered for mark in _PLACEHOLDER_MARKS):
        return "it looks like a placeholder"
    return None


def development_secret_key(path: Path) -> str:
    """This installation's own development key, generated on first use and kept in ``path``.

    Debug instances need a key too, and one written in the source would let anyone
    forge sessions and tokens for every instance reachable from elsewhere. The file is
    written under a temporary name and linked into place, so two processes starting at
    once (web and scheduler) agree on one key.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(50))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process won the race; its key is the one
    finally:
        draft.unlink()
    return path.read_text().strip()


def env_email(name: str) -> dict[str, Any]:
    """Django's SMTP settings from a URL such as ``smtp://user:pass@host:587?tls=true``
    (``smtps://`` for implicit TLS, ``ssl=true`` also), or ``{}`` when unset. User and
    password may be percent-encoded."""
    value = os.environ.get(name, "").strip()
    if not value:
        return {}
    url = urlsplit(value)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ImproperlyConfigured(f"{name} must look like smtp://user:password@host:587?tls=true")
    query = {key: values[-1].lower() for key, values in parse_qs(url.query).items()}
    unknown = set(query) - {"tls", "ssl", "timeout"}
    if unknown or any(query.get(flag, "false") not in _TRUE | _FALSE for flag in ("tls", "ssl")):
        raise ImproperlyConfigured(f"{name} takes only ?tls=true, ?ssl=true and ?timeout=<seconds>")
    use_ssl = url.scheme == "smtps" or query.get("ssl") in _TRUE
    use_tls = query.get("tls") in _TRUE
    if use_ssl and use_tls:
        raise ImproperlyConfigured(f"{name}: choose tls (STARTTLS) or ssl (implicit TLS), not both")
    try:
        port = url.port or (465 if use_ssl else 587 if use_tls else 25)
        timeout = int(query["timeout"]) if "timeout" in query else 10
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port or timeout that is not a number") from None
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": url.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(url.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(url.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": timeout,
    }
