from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from sigwise.throttling import UserFixedWindowThrottle


class RequestBodyLimitMiddleware:
    """Refuse a request body over ``REQUEST_BODY_MAX_BYTES`` with 413 before reading it.

    Django's own ``DATA_UPLOAD_MAX_MEMORY_SIZE`` answers 400 and only once a view reads
    the body; a client sending a large JSON document should learn that it was too large.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Content-Length must be a whole number."}, status=400)
        limit = settings.REQUEST_BODY_MAX_BYTES
        if length > limit:
            return JsonResponse(
                {"detail": f"Request body is {length} bytes; the limit is {limit} bytes."},
                status=413,
            )
        return self.get_response(request)


class PageThrottleMiddleware:
    """Count a signed-in user's page requests against the API's per-user rate
    (``API_THROTTLE_USER``): DRF's own throttle class and cache counter, so pages and API
    calls share one allowance, and a form that fires a trigger costs what an API fire does.

    ``/api/`` is left to DRF, which throttles it per view; static files, health checks and
    signed-out visitors pass (the sign-in pages have their own per-address limit).
    """

    EXEMPT_PREFIXES = ("/api/", "/static/", "/healthz", "/ping")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(self.EXEMPT_PREFIXES) or not request.user.is_authenticated:
            return self.get_response(request)
        throttle = UserFixedWindowThrottle()
        if throttle.allow_request(request, None):
            return self.get_response(request)
        wait = math.ceil(throttle.wait())
        response = render(request, "throttled.html", {"wait": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
