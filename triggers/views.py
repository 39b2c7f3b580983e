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
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eventlogs.selectors import STATUS_ALL, eventlogs_counts, eventlogs_per_hour, eventlogs_visible
from triggers.forms import FireForm, TriggerForm
from triggers.models import Trigger
from triggers.selectors import triggers_counts, triggers_for_list_page, triggers_with_last_fired
from triggers.services import (
    TriggerInvalid,
    TriggerNotFireable,
    TriggerPausedOrExpired,
    trigger_delete,
    trigger_fire,
    trigger_set_enabled,
    trigger_test,
)

TRIGGERS_PER_PAGE = 25
EVENTS_PER_PAGE = 25
CHART_HOURS = 48


def _own_trigger(request: HttpRequest, trigger_id: uuid.UUID) -> Trigger:
    return get_object_or_404(Trigger, pk=trigger_id, owner=request.user)


def _own_trigger_to_show(request: HttpRequest, trigger_id: uuid.UUID) -> Trigger:
    """The owner's trigger with ``last_fired``, for a page that shows it."""
    return get_object_or_404(triggers_with_last_fired(Trigger.objects.filter(owner=request.user)), pk=trigger_id)


def _detail_url(trigger: Trigger) -> str:
    return reverse("trigger-detail", args=[trigger.id])


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    at = now()
    hours = eventlogs_per_hour(owner_id=request.user.pk, zone=request.user.zoneinfo, hours=CHART_HOURS, at=at)
    context = {
        "trigger_counts": triggers_counts(owner_id=request.user.pk),
        "event_counts": eventlogs_counts(owner_id=request.user.pk, at=at),
        "chart": _bar_chart(hours),
        "latest_events": list(eventlogs_visible(owner_id=request.user.pk, status=STATUS_ALL, at=at)[:10]),
    }
    return render(request, "dashboard.html", context)


def _bar_chart(hours: list[Any]) -> dict[str, Any]:
    """Geometry for the inline SVG of firings per hour (drawn by the template, no JavaScript)."""
    bar_width, gap, height, label_room = 14, 4, 120, 18
    peak = max((hour.count for hour in hours), default=0)
    bars = []
    for index, hour in enumerate(hours):
        bar_height = round(hour.count / peak * height) if peak else 0
        if hour.count and bar_height < 2:
            bar_height = 2  # a single firing among thousands stays visible
        x = index * (bar_width + gap)
        bars.append(
            {
                "x": x,
                "y": height - bar_height,
                "height": bar_height,
                "label_x": x + bar_width / 2,
                "label": hour.start.strftime("%H:%M") if hour.start.hour % 6 == 0 else "",
                "title": f"{hour.start:%d %b %H:%M} to {hour.end:%H:%M}: {hour.count} "
                + ("firing" if hour.count == 1 else "firings"),
                "hour": hour,
            }
        )
    return {
        "bars": bars,
        "peak": peak,
        "total": sum(hour.count for hour in hours),
        "bar_width": bar_width,
        "width": len(hours) * (bar_width + gap) - gap,
        "height": height,
        "full_height": height + label_room,
        "label_y": height + 14,
    }


@require_GET
def trigger_list(request: HttpRequest) -> HttpResponse:
    at = now()
    triggers = triggers_for_list_page(owner_id=request.user.pk, at=at)
    page = Paginator(triggers, TRIGGERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "triggers/list.html", {"page": page})


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
def trigger_detail(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    return _render_detail(request, _own_trigger_to_show(request, trigger_id), FireForm())


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
    trigger = _own_trigger_to_show(request, trigger_id)
    form = FireForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, trigger, form, status=400)
    try:
        result = trigger_fire(trigger=trigger, payload=form.cleaned_data["payload"])
    except TriggerPausedOrExpired as refused:
        form.add_error(None, refused.message)
        return _render_detail(request, trigger, form, status=409)
    except TriggerNotFireable as refused:
        form.add_error(None, refused.message)
        return _render_detail(request, trigger, form, status=400)
    messages.success(request, f"Fired: event {result.event.id} logged.")
    return redirect(_detail_url(trigger))


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
