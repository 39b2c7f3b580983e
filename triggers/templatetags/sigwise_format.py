"""Template filters for the pages: times in the reader's zone, payloads as JSON, schedules in words.

Templates wrap their content in ``{% timezone user.zoneinfo %}`` (Django's ``tz`` library),
so :func:`when` shows the reader's wall-clock time without a per-request middleware.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime, tzinfo
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils import timezone as django_timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from triggers.describe import describe_schedule
from triggers.models import Trigger

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
    """Indented JSON as plain text; the template's autoescaping makes it safe inside ``<pre>``."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)


@register.filter
def schedule_words(trigger: Trigger, zone: tzinfo) -> str:
    return describe_schedule(trigger, zone=zone)


@register.inclusion_tag("triggers/_fire_from_outside.html", takes_context=True)
def fire_from_outside(context: dict[str, Any], trigger: Trigger) -> dict[str, Any]:
    """An API trigger's fire URL and ready-to-paste snippets, with a placeholder where the
    caller's API key goes (docs/api.md, "Firing with an API key")."""
    url = context["request"].build_absolute_uri(reverse("api-trigger-fire", args=[trigger.id]))
    payload = json.dumps(trigger.api_payload or {"order": 42}, ensure_ascii=False, cls=DjangoJSONEncoder)
    key = "sw_YOUR_API_KEY"
    snippets = [
        (
            "curl",
            f"curl -X POST {url} \\\n"
            f'  -H "Authorization: Bearer {key}" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            f"  -d {shlex.quote(payload)}",
        ),
        (
            "Python",
            "import requests\n\n"
            "response = requests.post(\n"
            f'    "{url}",\n'
            f'    headers={{"Authorization": "Bearer {key}"}},\n'
            f"    json={payload},\n"
            "    timeout=10,\n"
            ")\n"
            "response.raise_for_status()\n"
            'print(response.json()["event_id"])',
        ),
        (
            "JavaScript",
            f'const response = await fetch("{url}", {{\n'
            '  method: "POST",\n'
            f'  headers: {{ "Authorization": "Bearer {key}", "Content-Type": "application/json" }},\n'
            f"  body: JSON.stringify({payload}),\n"
            "});\n"
            "console.log((await response.json()).event_id);",
        ),
    ]
    return {"trigger": trigger, "url": url, "snippets": snippets, "key_placeholder": key}
