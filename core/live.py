"""Parts of a page that keep themselves current: htmx polls each one and swaps it in place.

A template marks a part with ``{% live "element-id" %}…{% endlive %}`` (``core/templatetags/live.py``);
it renders inside an element that polls the page's own URL, query string and all, so the
user's filters and position hold. The view, wrapped in :func:`live_page`, renders as usual
and answers a poll with that one part, or with 204 No Content while the part is unchanged,
so htmx leaves it alone (an open expander, a text selection, the scroll position).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

POLL_SECONDS = 3
VERSION_PARAMETER = "live_version"
# Django masks the CSRF token afresh on every render; a part with a form must still compare equal.
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


@dataclass(frozen=True)
class LiveRegion:
    html: str
    version: str


def live_version(content: str) -> str:
    return hashlib.sha256(_CSRF_INPUT.sub("", content).encode()).hexdigest()[:20]


def poll_url(request: HttpRequest) -> str:
    """The page's own URL, without the version a previous poll sent."""
    query = request.GET.copy()
    query.pop(VERSION_PARAMETER, None)
    return request.path + (f"?{query.urlencode()}" if query else "")


def record_region(request: HttpRequest, element_id: str, region: LiveRegion) -> None:
    request.__dict__.setdefault("live_regions", {})[element_id] = region


def live_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page with live parts: a poll from one of them gets only that part back."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        target = request.htmx.target if getattr(request, "htmx", False) else None
        if not target or response.status_code != 200:
            return response
        region = request.__dict__.get("live_regions", {}).get(target)
        if region is None:
            return HttpResponse(status=204)  # the part is gone from the page; keep what is shown
        if request.GET.get(VERSION_PARAMETER) == region.version:
            return HttpResponse(status=204)
        return HttpResponse(region.html)

    return wrapper
