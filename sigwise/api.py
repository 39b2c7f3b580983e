"""Project-wide REST framework hooks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.json_input import JSONInputInvalid, json_parse


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus 413 for a chunked body that outgrew the limit while being read."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Request body is too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return drf_exception_handler(exc, context)


class StoredJSONParser(JSONParser):
    """DRF's JSON parser, reading through :func:`core.json_input.json_parse` (the page forms'
    path too): 400 for what jsonb cannot store and for nesting too deep for Python's parser."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_parse(stream.read().decode(encoding))
        except (UnicodeDecodeError, JSONInputInvalid) as error:
            raise ParseError(f"JSON parse error - {error}") from None


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 handler: JSON under /api/ (what an API client parses), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
