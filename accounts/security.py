"""Brute-force protection on every sign-in door (login page, token API, admin, password change).

django-axes records each failed sign-in and refuses the next ones while a lock holds;
this module supplies its hooks and the one rule axes cannot express with a single
failure limit. Three counts are judged over the last ``LOGIN_COOLOFF_SECONDS``:

- one account from one address: locked at ``LOGIN_FAILURE_LIMIT`` failures. A sign-in
  that succeeds clears only this pair's count, so an attacker signing in to their own
  account clears nothing of anyone else's;
- one address across accounts (password spraying): locked at ``LOGIN_ADDRESS_FAILURE_LIMIT``;
- one account across addresses (guessing from many addresses): locked at
  ``LOGIN_ACCOUNT_FAILURE_LIMIT``, but only for addresses the account has never signed
  in from, so its owner keeps signing in from their usual place while the guessing is
  held to that many tries per cool-off.

Attempts made while locked are not recorded: they neither extend the lock nor grow the
stored records, which hold at most one row per (account, address, user agent) and at
most a limit's worth of failures each. See docs/operations.md "Sign-in locks".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db.models import Max, Q, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.timezone import now
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, BaseThrottle

from accounts.models import User

# axes keeps the attempted account name in a column of this size; a longer name cannot be
# an account, and storing it whole would fail (a 500) instead of counting as a failure.
_USERNAME_COLUMN = AccessAttempt._meta.get_field("username").max_length


def login_attempt_email(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account an attempt is for, folded as sign-in folds it.

    The login page and the admin post ``username`` (Django's AuthenticationForm) and the
    token API posts ``email``; both count against the same account whatever their letter case.
    """
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if value is None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("email") or data.get("username")
    if not isinstance(value, str):
        return None
    return User.objects.normalize_email(value)[:_USERNAME_COLUMN]


def client_address(request: HttpRequest) -> str:
    """The client's address, by the same rule as DRF's throttling (``TRUSTED_PROXY_COUNT``
    reverse proxies in front of gunicorn may append to X-Forwarded-For; with none,
    REMOTE_ADDR), so a lock per address locks the client and not the proxy."""
    return BaseThrottle().get_ident(request)


class SigninLockHandler(AxesDatabaseHandler):
    """axes' database handler, judging the three counts of the module docstring.

    axes itself keys its records and its reset-on-success by the (account, address) pair
    (``AXES_LOCKOUT_PARAMETERS``); this handler adds the two wider counts, read in the
    same query as the pair's.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        username = get_client_username(request, credentials)
        address = request.axes_ip_address
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        by_account = Q(username=username)
        by_address = Q(ip_address=address)
        counts = recent.filter(by_account | by_address).aggregate(
            pair=Sum("failures_since_start", filter=by_account & by_address, default=0),
            account=Sum("failures_since_start", filter=by_account, default=0),
            address=Sum("failures_since_start", filter=by_address, default=0),
        )
        pair = counts["pair"]
        locked = pair
        if counts["address"] >= settings.LOGIN_ADDRESS_FAILURE_LIMIT or (
            username is not None
            and counts["account"] >= settings.LOGIN_ACCOUNT_FAILURE_LIMIT
            and not self.signed_in_before(username=username, address=address)
        ):
            # axes compares one number with one limit: a wider lock reads as a full pair.
            locked = max(pair, get_failure_limit(request, credentials))
        return locked

    @staticmethod
    def signed_in_before(*, username: str, address: str) -> bool:
        """Whether this account has signed in successfully from this address (axes' access log)."""
        return AccessLog.objects.filter(username=username, ip_address=address).exists()


def lock_retry_after(request: HttpRequest) -> int:
    """Seconds until the newest failure that can hold this request's lock leaves the cool-off."""
    username = login_attempt_email(request, getattr(request, "axes_credentials", None))
    address = getattr(request, "axes_ip_address", None) or client_address(request)
    newest = AccessAttempt.objects.filter(Q(username=username) | Q(ip_address=address)).aggregate(
        newest=Max("attempt_time")
    )["newest"]
    cooloff: timedelta = settings.AXES_COOLOFF_TIME
    if newest is None:
        return int(cooloff.total_seconds())
    return max(1, int((newest + cooloff - now()).total_seconds()) + 1)


def lockout_response(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    retry_after = lock_retry_after(request)
    minutes = max(1, -(-retry_after // 60))
    message = (
        "Too many failed sign-in attempts. Sign-in for this account from this address is locked; "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
    headers = {"Retry-After": str(retry_after)}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429, headers=headers)
    page = render(request, "accounts/locked_out.html", {"message": message}, status=429)
    page["Retry-After"] = headers["Retry-After"]
    return page


def _anonymous_throttle_class() -> type[AnonRateThrottle]:
    """The project's per-address throttle for anonymous API calls (``API_THROTTLE_ANON``)."""
    for throttle_class in api_settings.DEFAULT_THROTTLE_CLASSES:
        if issubclass(throttle_class, AnonRateThrottle):
            return throttle_class
    return AnonRateThrottle


def rate_limited_per_address(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Limit a signed-out page to the anonymous API's rate per client address, counted on
    the same counter, so the sign-in and sign-up pages are no cheaper a door than the API."""

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = _anonymous_throttle_class()()
        if throttle.allow_request(request, None):
            return view(request, *args, **kwargs)
        wait = max(1, math.ceil(throttle.wait() or 1))
        context = {"retry_after": wait}
        response = render(request, "accounts/rate_limited.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response

    return limited
