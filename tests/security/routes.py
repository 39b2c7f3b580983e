"""Every route in the URL conf, as concrete paths the security matrix can request.

The list is read from ``get_resolver().url_patterns`` recursively at test time, so a new
endpoint is in the matrix the moment it is routed. A route whose pattern this module
cannot turn into a path fails the matrix loudly instead of being skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
ALL_METHODS = ("GET", *UNSAFE_METHODS)

# Routes anyone may call without signing in. Everything else must refuse an anonymous
# caller. Each entry must still match a route (a stale entry fails a test).
PUBLIC_PATHS = {
    "healthz": r"^/healthz$",
    "ping": r"^/ping$",
    # Its credential is METRICS_TOKEN, not a session (404 without it, 401 without the token):
    # monitoring/tests/test_metrics.py.
    "metrics": r"^/metrics$",
    "openapi schema": r"^/api/schema$",
    "swagger ui": r"^/docs$",
    "sign-in page": r"^/auth/login$",
    "register page": r"^/auth/register$",
    "log out": r"^/logout$",
    # Asking for a reset link, and the link itself (its token is the credential).
    "password reset": r"^/auth/(password-reset|password-reset/sent|reset/{uidb64}/{token}/|reset/done)$",
    # Signing up and in; the password and "sign out everywhere" endpoints beside them are private.
    "api auth": r"^/api/v1/auth/(register|token|token/refresh|logout)$",
    # The admin has its own staff-only sign-in; it is tested by Django, not by this matrix.
    "admin": r"^/admin/",
}


@dataclass(frozen=True)
class Route:
    """One routed pattern: its path template (``{name}`` for each parameter) and its view."""

    template: str
    parameters: tuple[str, ...]
    callback: Callable
    name: str | None

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")

    @property
    def is_public(self) -> bool:
        return any(re.search(pattern, self.template) for pattern in PUBLIC_PATHS.values())

    def path(self, value: str = "") -> str:
        """The route with every parameter set to ``value``."""
        return self.template.format(**dict.fromkeys(self.parameters, value))

    @property
    def declared_methods(self) -> tuple[str, ...] | None:
        """The HTTP methods the view declares, for DRF and class-based views; None for a
        function view (the matrix then tries every method and reads 405 as "not allowed")."""
        actions = getattr(self.callback, "actions", None)
        if actions:
            return tuple(method.upper() for method in actions if method.upper() in ALL_METHODS)
        view_class = getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)
        if view_class is not None:
            return tuple(method for method in ALL_METHODS if hasattr(view_class, method.lower()))
        return None

    def __str__(self) -> str:
        return self.template


def all_routes() -> list[Route]:
    routes = list(_walk(get_resolver().url_patterns, ""))
    return sorted(set(routes), key=lambda route: route.template)


def _walk(patterns: Sequence[URLPattern | URLResolver], prefix: str) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            nested = "/" + (prefix + _template(entry.pattern)).lstrip("/")
            if nested.startswith("/admin/"):
                # One entry stands for the whole admin site (its patterns are generated per model).
                yield Route(template=nested, parameters=(), callback=lambda request: None, name="admin")
                continue
            yield from _walk(entry.url_patterns, nested)
        else:
            template = "/" + (prefix + _template(entry.pattern)).lstrip("/")
            yield Route(
                template=template,
                parameters=tuple(re.findall(r"{(\w+)}", template)),
                callback=entry.callback,
                name=entry.name,
            )


_ROUTE_CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>\w+)>")


def _template(pattern: RoutePattern | RegexPattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _ROUTE_CONVERTER.sub(lambda match: "{" + match["parameter"] + "}", str(pattern))
    return _regex_template(pattern.regex.pattern)


def _regex_template(regex: str) -> str:
    """Turn the simple regexes Django and DRF routers write into a path template.

    Handles ``^``/``$`` anchors, named groups, an optional trailing slash (``/?``, taken
    as absent) and escaped dots. Anything else is a pattern the matrix does not
    understand, and it says so rather than guessing.
    """
    text = regex.removeprefix("^").removesuffix("$").removesuffix("\\Z")
    out = ""
    index = 0
    while index < len(text):
        if text.startswith("(?P<", index):
            end_name = text.index(">", index)
            name = text[index + 4 : end_name]
            depth, cursor = 1, end_name + 1
            while depth:
                if text[cursor] == "\\":
                    cursor += 2
                    continue
                depth += {"(": 1, ")": -1}.get(text[cursor], 0)
                cursor += 1
            out += "{" + name + "}"
            index = cursor
        elif text.startswith("/?", index):
            index += 2
        elif text.startswith("\\.", index) or text.startswith("\\-", index):
            out += text[index + 1]
            index += 2
        elif text[index] in "()[]?*+|{}\\.^$":
            raise ValueError(f"the security matrix cannot read the URL pattern {regex!r}; extend routes.py")
        else:
            out += text[index]
            index += 1
    return out
