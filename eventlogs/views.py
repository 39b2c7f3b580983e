"""The events page: the signed-in user's retained event logs, by lifecycle tab."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.timezone import now
from django.views.decorators.http import require_GET

from eventlogs.models import EventLog
from eventlogs.selectors import STATUS_ACTIVE, STATUS_ALL, STATUS_ARCHIVED, eventlogs_trigger_names, eventlogs_visible

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
        "trigger_choices": eventlogs_trigger_names(owner_id=request.user.pk, at=at),
        "chosen_trigger": chosen.get("trigger"),
        "chosen_source": chosen.get("source") or "",
        "sources": EventLog.Source.choices,
        "page": page,
    }
    # A malformed filter (?status=bogus, ?trigger=not-a-uuid) is the client's mistake: say so.
    return render(request, "eventlogs/list.html", context, status=200 if valid else 400)
