"""Operational endpoints: no login, no session, cheap enough for a load balancer to poll."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from monitoring.selectors import health_report


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """``SELECT 1`` for load balancers; with ``?deep=1``, whether Sigwise is doing its work:
    a scheduler beating, due slots firing on time (docs/operations.md, "Health checks")."""
    if request.GET.get("deep", "") not in ("", "0", "false"):
        reasons, details = health_report()
        if reasons:
            return JsonResponse(
                {"status": "error", "reason": "; ".join(reasons), "reasons": reasons, **details}, status=503
            )
        return JsonResponse({"status": "ok", **details})
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
    """A liveness answer that touches nothing."""
    return JsonResponse({"ping": "pong"})
