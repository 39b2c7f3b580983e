"""The events page: the signed-in user's retained event logs, by lifecycle tab."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.timezone import now
from django.views.decorators.http import require_GET

from eventlogs.models import EventLog, delete_after
from eventlogs.selectors import STATUS_ACTIVE, STATUS_ALL, STATUS_ARCHIVED, eventlogs_visible

EVENTS_PER_PAGE = 50
TABS = ((STATUS_ACTIVE, "Active"), (STATUS_ARCHIVED, "Archived"), (STATUS_ALL, "All"))


class EventFilterForm(forms.Form):
    status = forms.ChoiceField(choices=TABS, required=False)
    trigger = forms.UUIDField(required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *EventLog.Source.choices], required=False)


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    at = now()
    filters = EventFilterForm(request.GET)
    valid = filters.is_valid()
    chosen = filters.cleaned_data if valid else {}
    status = chosen.get("status") or STATUS_ACTIVE
    events = eventlogs_visible(
        owner_id=request.user.pk,
        status=status,
        trigger_id=chosen.get("trigger"),
        source=chosen.get("source") or None,
        at=at,
    )
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "status": status,
        "tabs": TABS,
        "trigger_choices": _trigger_choices(request.user.pk, at=at),
        "chosen_trigger": chosen.get("trigger"),
        "chosen_source": chosen.get("source") or "",
        "sources": EventLog.Source.choices,
        "page": page,
    }
    # A malformed filter (?status=bogus, ?trigger=not-a-uuid) is the client's mistake: say so.
    return render(request, "eventlogs/list.html", context, status=200 if valid else 400)


def _trigger_choices(owner_id: int, *, at: datetime) -> list[dict[str, Any]]:
    """Every trigger with a retained event, by the name on its latest event (deleted triggers
    included, by their snapshot; this app never reads the triggers table)."""
    rows = (
        EventLog.objects.filter(owner_id=owner_id, fired_at__gt=at - delete_after())
        .order_by("trigger_uuid", "-fired_at")
        .distinct("trigger_uuid")
        .values("trigger_uuid", "trigger_name", "trigger_id")
    )
    return sorted(rows, key=lambda row: (row["trigger_name"].lower(), str(row["trigger_uuid"])))
