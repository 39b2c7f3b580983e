"""Reading JSON a client sent: the one path the API's parser and the page forms share.

Python's ``json`` module accepts what JSON does not (``NaN``, ``Infinity``), reads
``1e400`` as infinity, and raises ``RecursionError`` on deep nesting; PostgreSQL's jsonb
refuses NUL characters and unpaired surrogates. Each of these was a 500 somewhere;
here each is a :class:`JSONInputInvalid` with a message the caller shows as a 400 or a
form error.
"""

from __future__ import annotations

import json
import math
from typing import Any


class JSONInputInvalid(ValueError):
    """The text is not JSON that Sigwise can store; ``str()`` says why."""


def _refuse_constant(name: str) -> Any:
    raise JSONInputInvalid(f"{name} is not a JSON value.")


def json_value_problem(value: Any) -> str | None:
    """What PostgreSQL would refuse in a parsed JSON value, which would otherwise be a 500 at
    INSERT: a NUL character or an unpaired surrogate in a string or key, or a number too
    large for a float (Python reads 1e400 as infinity). Iterative, so any depth the parser
    accepted is fine."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "JSON strings cannot contain the NUL character (\\u0000)."
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError:
                    return "JSON strings cannot contain unpaired surrogates (such as \\ud800)."
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "JSON numbers must be finite."
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def json_parse(text: str) -> Any:
    """Parse ``text`` as strict JSON that jsonb can store, or raise :class:`JSONInputInvalid`."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise JSONInputInvalid("The document is nested too deeply.") from None
    except json.JSONDecodeError as error:
        raise JSONInputInvalid(str(error)) from None
    problem = json_value_problem(value)
    if problem is not None:
        raise JSONInputInvalid(problem)
    return value
