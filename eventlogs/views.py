"""The events page: the signed-in user's retained event logs, by lifecycle tab."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.timezone import now
from django.views.decorators.http import require_GET
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from core.live import VERSION_PARAMETER, live_page
from eventlogs.api import EventLogCursorPagination
from eventlogs.models import EventLog
from eventlogs.selectors import (
    STATUS_ACTIVE,
    STATUS_ALL,
    STATUS_ARCHIVED,
    eventlogs_trigger_names,
    eventlogs_visible,
    eventlogs_with_current_names,
)

TABS = ((STATUS_ACTIVE, "Active"), (STATUS_ARCHIVED, "Archived"), (STATUS_ALL, "All"))


class EventFilterForm(forms.Form):
    status = forms.ChoiceField(choices=TABS, required=False)
    trigger = forms.UUIDField(required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *EventLog.Source.choices], required=False)


class EventPagePagination(EventLogCursorPagination):
    """The API's cursor, so events fired while someone reads never shift the next page; the
    page size is fixed (50)."""

    page_size_query_param = None


@require_GET
@live_page
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
    pagination = EventPagePagination()
    try:
        rows = pagination.paginate_queryset(eventlogs_with_current_names(events), Request(request))
    except NotFound:
        raise Http404("That page of events no longer exists; start from the first.") from None
    context = {
        "filters": filters,
        "status": status,
        "tabs": TABS,
        "trigger_choices": eventlogs_trigger_names(owner_id=request.user.pk, at=at),
        "chosen_trigger": chosen.get("trigger"),
        "chosen_source": chosen.get("source") or "",
        "sources": EventLog.Source.choices,
        "events": rows,
        "in_all": events.count(),
        "newer_url": _page_link(pagination.get_previous_link()),
        "older_url": _page_link(pagination.get_next_link()),
    }
    # A malformed filter (?status=bogus, ?trigger=not-a-uuid) is the client's mistake: say so.
    return render(request, "eventlogs/list.html", context, status=200 if valid else 400)


def _page_link(absolute: str | None) -> str | None:
    """DRF's link, relative and without a live poll's version."""
    if absolute is None:
        return None
    query = QueryDict(urlsplit(absolute).query, mutable=True)
    query.pop(VERSION_PARAMETER, None)
    return f"?{query.urlencode()}"
