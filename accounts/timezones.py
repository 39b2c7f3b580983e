"""IANA time zone names: the list users pick from, and their canonical spelling."""

from __future__ import annotations

import zoneinfo
from functools import cache


@cache
def timezone_names() -> tuple[str, ...]:
    """Every zone the system's database knows (and ``UTC``), sorted, for pickers."""
    return tuple(sorted(zoneinfo.available_timezones() | {"UTC"}))


@cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in timezone_names()}


def canonical_timezone(name: str) -> str | None:
    """``name`` in the database's own spelling (``europe/berlin`` → ``Europe/Berlin``), or
    None when no zone has that name in any letter case."""
    return _by_folded_name().get(name.strip().casefold())
