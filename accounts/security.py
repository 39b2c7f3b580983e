"""Hooks for django-axes, the brute-force protection on the login page and the token API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle

from accounts.models import User


def login_attempt_email(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account an attempt is for, folded as sign-in folds it.

    The login page posts ``username`` (Django's AuthenticationForm) and the token API
    posts ``email``; both count against the same account whatever their letter case.
    """
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if value is None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("email") or data.get("username")
    if not isinstance(value, str):
        return None
    return User.objects.normalize_email(value)


def client_address(request: HttpRequest) -> str:
    """The client's address, by the same rule as DRF's throttling (``TRUSTED_PROXY_COUNT``
    reverse proxies in front of gunicorn may append to X-Forwarded-For; with none,
    REMOTE_ADDR), so a lock per address locks the client and not the proxy."""
    return BaseThrottle().get_ident(request)


def lockout_response(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    message = (
        f"Too many failed sign-in attempts. This account or address is locked for {minutes} minutes; try again later."
    )
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429, headers={"Retry-After": str(minutes * 60)})
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)
