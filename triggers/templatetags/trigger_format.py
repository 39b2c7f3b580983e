"""Template filters of the trigger pages."""

from __future__ import annotations

import json
import shlex
from datetime import tzinfo
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from triggers.describe import describe_schedule
from triggers.models import Trigger

register = template.Library()


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
