"""Project-wide REST framework hooks."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus 413 for a chunked body that outgrew the limit while being read."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Request body is too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return drf_exception_handler(exc, context)


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


class StoredJSONParser(JSONParser):
    """DRF's JSON parser, refusing with 400 what could not be stored as jsonb, and a body
    nested too deeply for Python's parser (a RecursionError, which DRF would let become a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        problem = json_value_problem(data)
        if problem is not None:
            raise ParseError(f"JSON parse error - {problem}")
        return data


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 handler: JSON under /api/ (what an API client parses), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
