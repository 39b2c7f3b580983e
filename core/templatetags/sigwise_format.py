"""Template filters every app's pages share: times in the reader's zone, JSON as indented text.

Templates wrap their content in ``{% timezone user.zoneinfo %}`` (Django's ``tz`` library),
so :func:`when` shows the reader's wall-clock time without a per-request middleware.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone as django_timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def when(value: datetime | None, empty: str = "—") -> SafeString | str:
    """A moment in the active (the reader's) zone: ``1 Dec 2026, 10:00:05``, machine-readable in ``<time>``."""
    if value is None:
        return empty
    local = django_timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{} {}</time>',
        value.isoformat(),
        local.tzname() or "",
        local.day,
        local.strftime("%b %Y, %H:%M:%S"),
    )


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON as plain text, the one way every page and fragment shows a payload; the
    template's autoescaping makes it safe inside ``<pre>``."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)


@register.filter
def one_line_json(value: Any) -> str:
    """Compact JSON on one line, for a payload shown collapsed (CSS cuts it to the cell's width)."""
    return json.dumps(value, separators=(", ", ": "), sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
