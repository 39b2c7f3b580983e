"""Server-rendered pages: the dashboard and the triggers' list, forms, detail and buttons.

Views are thin: they scope every read to ``request.user``, hand writes to
``triggers.services`` (the API's code path) and render. Another user's trigger is a 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.timezone import now
from django.views import View
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.live import live_page
from eventlogs.models import EventLog
from eventlogs.selectors import (
    STATUS_ALL,
    HourBucket,
    eventlogs_counts,
    eventlogs_per_hour,
    eventlogs_visible,
    eventlogs_with_current_names,
)
from triggers.filters import TriggerFilter
from triggers.forms import BulkActionForm, FireForm, TriggerForm
from triggers.models import Trigger
from triggers.selectors import triggers_counts, triggers_for_list_page, triggers_with_last_fired
from triggers.services import (
    TriggerInvalid,
    TriggerLimitReached,
    TriggerNotFireable,
    TriggerPausedOrExpired,
    trigger_delete,
    trigger_duplicate,
    trigger_fire,
    trigger_set_enabled,
    trigger_test,
)

TRIGGERS_PER_PAGE = 25
EVENTS_PER_PAGE = 25
CHART_HOURS = 48
REFUSED_FIRE_SESSION_KEY = "refused_fire"


def _own_trigger(request: HttpRequest, trigger_id: uuid.UUID) -> Trigger:
    return get_object_or_404(Trigger, pk=trigger_id, owner=request.user)


def _own_trigger_to_show(request: HttpRequest, trigger_id: uuid.UUID) -> Trigger:
    """The owner's trigger with ``last_fired``, for a page that shows it."""
    return get_object_or_404(triggers_with_last_fired(Trigger.objects.filter(owner=request.user)), pk=trigger_id)


def _detail_url(trigger: Trigger) -> str:
    return reverse("trigger-detail", args=[trigger.id])


@require_GET
@live_page
def dashboard(request: HttpRequest) -> HttpResponse:
    at = now()
    hours = eventlogs_per_hour(owner_id=request.user.pk, zone=request.user.zoneinfo, hours=CHART_HOURS, at=at)
    context = {
        "trigger_counts": triggers_counts(owner_id=request.user.pk),
        "event_counts": eventlogs_counts(owner_id=request.user.pk, at=at),
        "chart": _bar_chart(hours),
        "latest_events": list(
            eventlogs_with_current_names(eventlogs_visible(owner_id=request.user.pk, status=STATUS_ALL, at=at))[:10]
        ),
    }
    return render(request, "dashboard.html", context)


CHART_SOURCES = (EventLog.Source.SCHEDULED, EventLog.Source.API, EventLog.Source.TEST)


def _bar_chart(hours: list[HourBucket]) -> dict[str, Any]:
    """Geometry for the inline SVG of firings per hour, stacked by source, with a y-axis
    (drawn by the template, no JavaScript)."""
    bar_width, gap, height, label_room, axis_room, top_room = 14, 4, 120, 18, 36, 8
    peak = max((hour.count for hour in hours), default=0)
    step = _tick_step(peak)
    axis_max = max(step * -(-peak // step), 1)
    scale = height / axis_max
    bars = []
    for index, hour in enumerate(hours):
        x = axis_room + index * (bar_width + gap)
        segments, top = [], top_room + height
        for source in CHART_SOURCES:
            count = hour.by_source.get(source, 0)
            if not count:
                continue
            segment_height = max(round(count * scale), 2)  # a single firing among thousands stays visible
            top -= segment_height
            segments.append({"source": source, "y": top, "height": segment_height})
        present = [source for source in CHART_SOURCES if source in hour.by_source]
        parts = ", ".join(f"{hour.by_source[source]} {source.label}" for source in present)
        bars.append(
            {
                "x": x,
                "segments": segments,
                "label_x": x + bar_width / 2,
                "label": hour.start.strftime("%H:%M") if hour.start.hour % 6 == 0 else "",
                "title": f"{hour.start:%d %b %H:%M} to {hour.end:%H:%M}: {hour.count} "
                + ("firing" if hour.count == 1 else "firings")
                + (f" ({parts})" if parts else ""),
                "hour": hour,
            }
        )
    ticks = [{"value": value, "y": top_room + height - round(value * scale)} for value in range(0, axis_max + 1, step)]
    busiest = max(reversed(hours), key=lambda hour: hour.count, default=None)  # the latest of equals
    busiest_words = None
    if peak and busiest is not None:
        # "14:00 to 15:00" (with an en dash) in the reader's zone, and the day when not today's.
        busiest_words = f"{busiest.start:%H:%M}\N{EN DASH}{busiest.end:%H:%M}"
        if busiest.start.date() != hours[-1].start.date():
            busiest_words += f" on {busiest.start.day} {busiest.start:%b}"
    totals = {source: sum(hour.by_source.get(source, 0) for hour in hours) for source in CHART_SOURCES}
    return {
        "bars": bars,
        "ticks": ticks,
        "peak": peak,
        "busiest": busiest_words,
        "sources": [{"value": source, "label": source.label, "total": totals[source]} for source in CHART_SOURCES],
        "total": sum(hour.count for hour in hours),
        "bar_width": bar_width,
        "axis_x": axis_room - 4,
        "width": axis_room + len(hours) * (bar_width + gap) - gap,
        "top": top_room,
        "baseline": top_room + height,
        "height": height,
        "full_height": top_room + height + label_room,
        "label_y": top_room + height + 14,
    }


def _tick_step(peak: int) -> int:
    """1, 2 or 5 times a power of ten: at most four steps up to the peak."""
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            if peak <= 4 * multiple * magnitude:
                return multiple * magnitude
        magnitude *= 10


@require_GET
def trigger_list(request: HttpRequest) -> HttpResponse:
    at = now()
    filters = TriggerFilter(request.GET, queryset=triggers_for_list_page(owner_id=request.user.pk, at=at))
    page = Paginator(filters.qs, TRIGGERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "triggers/list.html", {"page": page, "filters": filters})


class TriggerBulkView(View):
    """POST only. A class, so the methods it answers are declared (tests/security/routes.py
    reads them); the work is :func:`trigger_bulk`."""

    def post(self, request: HttpRequest) -> HttpResponse:
        return trigger_bulk(request)


def trigger_bulk(request: HttpRequest) -> HttpResponse:
    """Pause, resume or delete the ticked triggers. Ids that are not the user's are ignored,
    and a delete is asked to be confirmed on a page that lists what it removes."""
    form = BulkActionForm(request.POST, owner=request.user)
    if not form.is_valid() or not form.triggers:
        messages.error(request, "Tick at least one trigger, then choose what to do with them.")
        return redirect(_back_to_list(request))
    action, triggers = form.cleaned_data["action"], form.triggers
    if action == "delete":
        if not form.cleaned_data["confirmed"]:
            return render(request, "triggers/confirm_bulk_delete.html", {"triggers": triggers, "back": form.back})
        for trigger in triggers:
            trigger_delete(trigger=trigger)
        messages.success(request, f"Deleted {_count(triggers)}; their event logs stay until retention removes them.")
        return redirect(_back_to_list(request))
    refused = []
    for trigger in triggers:
        try:
            trigger_set_enabled(trigger=trigger, enabled=action == "resume")
        except TriggerInvalid as invalid:
            refused.append(f"“{trigger.name}”: {' '.join(_flatten(invalid.errors))}")
    done = len(triggers) - len(refused)
    if done:
        messages.success(request, f"{'Resumed' if action == 'resume' else 'Paused'} {_count(done)}.")
    for problem in refused:
        messages.error(request, f"Could not {action} {problem}")
    return redirect(_back_to_list(request))


def _count(triggers: list[Trigger] | int) -> str:
    number = triggers if isinstance(triggers, int) else len(triggers)
    return f"{number} trigger{'s' if number != 1 else ''}"


def _back_to_list(request: HttpRequest) -> str:
    """The list as the user had it (search, filters, page), never another site."""
    query = request.POST.get("back", "")
    return f"{reverse('trigger-list')}?{query}" if query and "://" not in query else reverse("trigger-list")


@require_POST
def trigger_duplicate_view(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    trigger = _own_trigger(request, trigger_id)
    try:
        copy = trigger_duplicate(trigger=trigger)
    except TriggerInvalid as invalid:
        messages.error(request, f"Could not duplicate this trigger. {' '.join(_flatten(invalid.errors))}")
        return redirect(_detail_url(trigger))
    except TriggerLimitReached as refused:
        messages.error(request, refused.message)
        return redirect(_detail_url(trigger))
    messages.success(request, f"Created “{copy.name}”, paused: check it, then resume it.")
    return redirect(_detail_url(copy))


@require_http_methods(["GET", "POST"])
def trigger_new(request: HttpRequest) -> HttpResponse:
    form = TriggerForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid() and (trigger := form.save()) is not None:
        messages.success(request, f"Trigger “{trigger.name}” created.")
        return redirect(_detail_url(trigger))
    status = 403 if form.limit_reached else 400 if form.errors else 200
    return render(request, "triggers/form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def trigger_edit(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    trigger = _own_trigger(request, trigger_id)
    form = TriggerForm(request.POST or None, owner=request.user, instance=trigger)
    if request.method == "POST" and form.is_valid() and (saved := form.save()) is not None:
        messages.success(request, f"Trigger “{saved.name}” saved.")
        return redirect(_detail_url(saved))
    return render(request, "triggers/form.html", {"form": form, "trigger": trigger}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def trigger_delete_confirm(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    trigger = _own_trigger(request, trigger_id)
    if request.method == "POST":
        trigger_delete(trigger=trigger)
        messages.success(
            request, f"Trigger “{trigger.name}” deleted; its event logs stay until retention removes them."
        )
        return redirect("trigger-list")
    kept = eventlogs_visible(owner_id=request.user.pk, status=STATUS_ALL, trigger_id=trigger.id).count()
    return render(request, "triggers/confirm_delete.html", {"trigger": trigger, "kept_events": kept})


@require_GET
@live_page
def trigger_detail(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    trigger = _own_trigger_to_show(request, trigger_id)
    refused = request.session.pop(REFUSED_FIRE_SESSION_KEY, None)
    if refused is None or refused["trigger"] != str(trigger.id):
        return _render_detail(request, trigger, FireForm())
    # A fire refused a moment ago (trigger_fire_view): its form again, with the same errors.
    form = FireForm(refused["data"])
    form.is_valid()
    for message in refused["refusals"]:
        form.add_error(None, message)
    return _render_detail(request, trigger, form, status=refused["status"])


def _render_detail(request: HttpRequest, trigger: Trigger, fire_form: FireForm, status: int = 200) -> HttpResponse:
    at = now()
    events = eventlogs_visible(owner_id=request.user.pk, status=STATUS_ALL, trigger_id=trigger.id, at=at)
    context = {
        "trigger": trigger,
        "state": trigger.state_at(at),
        # A slot at or before now is being fired (an interval without a start fires at once).
        "due_now": trigger.enabled and trigger.next_fire_at is not None and trigger.next_fire_at <= at,
        "fire_form": fire_form,
        "page": Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page")),
    }
    return render(request, "triggers/detail.html", context, status=status)


@require_POST
def trigger_fire_view(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    trigger = _own_trigger(request, trigger_id)
    form = FireForm(request.POST)
    if not form.is_valid():
        return _refused_fire(request, trigger, form, refusals=[], status=400)
    try:
        result = trigger_fire(trigger=trigger, payload=form.cleaned_data["payload"])
    except TriggerPausedOrExpired as refused:
        return _refused_fire(request, trigger, form, refusals=[refused.message], status=409)
    except TriggerNotFireable as refused:
        return _refused_fire(request, trigger, form, refusals=[refused.message], status=400)
    messages.success(request, f"Fired: event {result.event.id} logged.")
    return redirect(_detail_url(trigger))


def _refused_fire(
    request: HttpRequest, trigger: Trigger, form: FireForm, *, refusals: list[str], status: int
) -> HttpResponse:
    """Back to the trigger's page (303, so a reload does not post again), which shows the form
    with its errors once; the status the page answers with is the refusal's."""
    request.session[REFUSED_FIRE_SESSION_KEY] = {
        "trigger": str(trigger.id),
        "data": {"payload": form.data.get("payload", "")},
        "refusals": refusals,
        "status": status,
    }
    response = redirect(_detail_url(trigger))
    response.status_code = 303
    return response


@require_POST
def trigger_test_view(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    trigger = _own_trigger(request, trigger_id)
    event = trigger_test(trigger=trigger)
    messages.success(request, f"Test event {event.id} logged.")
    return redirect(_detail_url(trigger))


@require_POST
def trigger_pause(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    return _set_enabled(request, _own_trigger(request, trigger_id), enabled=False)


@require_POST
def trigger_resume(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    return _set_enabled(request, _own_trigger(request, trigger_id), enabled=True)


def _set_enabled(request: HttpRequest, trigger: Trigger, *, enabled: bool) -> HttpResponse:
    try:
        trigger_set_enabled(trigger=trigger, enabled=enabled)
    except TriggerInvalid as invalid:
        problems = " ".join(_flatten(invalid.errors))
        messages.error(request, f"Could not {'resume' if enabled else 'pause'} this trigger. {problems}")
    else:
        messages.success(request, "Trigger resumed." if enabled else "Trigger paused.")
    return redirect(_detail_url(trigger))


def _flatten(problems: Any) -> list[str]:
    if isinstance(problems, dict):
        return [message for value in problems.values() for message in _flatten(value)]
    if isinstance(problems, (list, tuple)):
        return [message for value in problems for message in _flatten(value)]
    return [str(problems)]
