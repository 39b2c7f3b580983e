from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.functional import cached_property
from prometheus_client import Counter, Histogram

from core.logging import current_request
from core.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS
from sigwise.throttling import UserFixedWindowThrottle

# What an incoming X-Request-ID may be: a proxy's id (UUID, hex, base64-ish), kept short and
# free of spaces and control characters, since it is copied into logs and the response.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


class HttpMetricsMiddleware:
    """Count each request and time it (``http_requests_total``, ``http_request_duration_seconds``).

    Labelled by the URL pattern's view name, never the path, and by a method from a fixed
    list, so a client cannot grow the number of series. The label children are cached
    here: prometheus-client's ``labels()`` takes a lock and checks its arguments each time.
    """

    METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._timers: dict[tuple[str, str], Histogram] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        method = request.method if request.method in self.METHODS else "other"
        match = request.resolver_match
        view = match.view_name if match is not None else "unmatched"
        counter_key = (method, view, response.status_code)
        counter = self._counters.get(counter_key)
        if counter is None:
            counter = self._counters[counter_key] = HTTP_REQUESTS.labels(method, view, str(response.status_code))
        timer = self._timers.get(counter_key[:2])
        if timer is None:
            timer = self._timers[counter_key[:2]] = HTTP_REQUEST_DURATION.labels(method, view)
        counter.inc()
        timer.observe(elapsed)
        return response


class RequestIdMiddleware:
    """Give every request an id: the caller's ``X-Request-ID`` when it looks sane (so a
    proxy's id follows the request), else a new one. Log lines written during the request
    carry it, and the response returns it as ``X-Request-ID``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


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


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the settings' policy built once instead of per response.

    django-csp rebuilds the header (two policies, each through ``dataclasses.asdict``) on
    every response, a cost comparable to the fire endpoint's own. A response that no view
    decorator changed and that used no nonce gets the policy the settings give, so that
    string is kept; anything else goes through django-csp unchanged.
    """

    _POLICY_ATTRIBUTES = ("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt")

    @cached_property
    def _default_policy(self) -> str:
        return build_policy()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in self._POLICY_ATTRIBUTES)
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or settings.CONTENT_SECURITY_POLICY.get("EXCLUDE_URL_PREFIXES")
            or (settings.DEBUG and response.status_code in (404, 500))
        ):
            return super().process_response(request, response)
        if HEADER not in response:
            response[HEADER] = self._default_policy
        return response
