"""Operational endpoints: no login, no session, cheap enough for a load balancer to poll."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        # A dead pooled connection must not linger into the next check.
        connection.close_if_unusable_or_obsolete()
        return JsonResponse({"status": "error", "database": "unreachable", "error": type(error).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_not_required
@require_GET
def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ping": "pong"})
