"""The error answers the OpenAPI schema names for more than one API module.

DRF answers a field's problems keyed by field, and every other refusal as ``{"detail": ...}``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from core.serializers import DetailSerializer

FIELD_ERRORS = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input; each field names its problems.")
UNAUTHENTICATED = OpenApiResponse(DetailSerializer, description="No valid credentials.")
TOO_LARGE = OpenApiResponse(DetailSerializer, description="The body is over REQUEST_BODY_MAX_BYTES.")
UNSUPPORTED_MEDIA = OpenApiResponse(DetailSerializer, description="The body is not JSON.")
# What any endpoint that reads a JSON body can answer before its own rules run.
BODY_ERRORS = {400: FIELD_ERRORS, 413: TOO_LARGE, 415: UNSUPPORTED_MEDIA}

HTML = OpenApiResponse(OpenApiTypes.STR, description="An HTML table (text/html).")
HTML_BAD_QUERY = OpenApiResponse(OpenApiTypes.STR, description="A query parameter is invalid (text/html).")
HTML_UNAUTHENTICATED = OpenApiResponse(OpenApiTypes.STR, description="No valid credentials (text/html).")
