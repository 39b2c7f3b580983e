"""What every log line can say about where it came from: the request id and the user.

``sigwise.middleware.RequestIdMiddleware`` sets the request for the duration of a
request; :class:`RequestContextFilter` adds ``request_id`` and ``user_id`` to each record
logged meanwhile (the JSON format shows them; docs/configuration.md, ``LOG_FORMAT``).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def request_user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id if authentication has already run; never a query of its own
    (the session user is loaded lazily, and a log line must not load it)."""
    user = vars(request).get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs a 4xx or 5xx after the middleware has returned, naming the request.
        request = getattr(record, "request", None) or current_request.get()
        if request is not None:
            record.request_id = getattr(request, "request_id", None)
            if (user_id := request_user_id(request)) is not None:
                record.user_id = user_id
        return True
