"""Server-rendered pages: the dashboard and the triggers' list, forms, detail and buttons.

Views are thin: they scope every read to ``request.user``, hand writes to
``triggers.services`` (the API's code path) and render. Another user's trigger is a 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.timezone import now
from django.views import View
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eventlogs.models import EventLog, delete_after
from eventlogs.selectors import STATUS_ALL, eventlogs_counts, eventlogs_per_hour, eventlogs_visible
from triggers.filters import TriggerFilter
from triggers.forms import BulkActionForm, FireForm, TriggerForm
from triggers.models import Trigger
from triggers.services import (
    TriggerInvalid,
    TriggerLimitReached,
    TriggerNotFireable,
    trigger_delete,
    trigger_duplicate,
    trigger_fire,
    trigger_is_expired,
    trigger_set_enabled,
    trigger_test,
)

TRIGGERS_PER_PAGE = 25
EVENTS_PER_PAGE = 25
CHART_HOURS = 48


def _own_trigger(request: HttpRequest, trigger_id: uuid.UUID) -> Trigger:
    return get_object_or_404(Trigger, pk=trigger_id, owner=request.user)


def _detail_url(trigger: Trigger) -> str:
    return reverse("trigger-detail", args=[trigger.id])


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    at = now()
    owned = Trigger.objects.filter(owner=request.user)
    # One query for every figure on the triggers card.
    trigger_counts = owned.aggregate(
        total=Count("id"),
        once=Count("id", filter=Q(schedule_kind=Trigger.ScheduleKind.ONCE)),
        interval=Count("id", filter=Q(schedule_kind=Trigger.ScheduleKind.INTERVAL)),
        cron=Count("id", filter=Q(schedule_kind=Trigger.ScheduleKind.CRON)),
        api=Count("id", filter=Q(type=Trigger.Type.API)),
        active=Count("id", filter=Q(enabled=True)),
        paused=Count("id", filter=Q(enabled=False)),
    )
    hours = eventlogs_per_hour(owner_id=request.user.pk, zone=request.user.zoneinfo, hours=CHART_HOURS, at=at)
    context = {
        "trigger_counts": trigger_counts,
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
    retained = Q(event_logs__fired_at__gt=now() - delete_after())
    # ``last_fired_at`` is kept by the scheduler; an API fire only inserts its event (no lock
    # on the trigger's row), so "last fired" and the count come from the retained events too.
    triggers = (
        Trigger.objects.filter(owner=request.user)
        .annotate(
            recent_events=Count("event_logs", filter=retained),
            last_event_at=Max("event_logs__fired_at", filter=retained & ~Q(event_logs__source=EventLog.Source.TEST)),
        )
        .order_by("-created_at", "-id")
    )
    filters = TriggerFilter(request.GET, queryset=triggers)
    page = Paginator(filters.qs, TRIGGERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "triggers/list.html", {"page": page, "now": now(), "filters": filters})


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
def trigger_detail(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    return _render_detail(request, _own_trigger(request, trigger_id), FireForm())


def _render_detail(request: HttpRequest, trigger: Trigger, fire_form: FireForm, status: int = 200) -> HttpResponse:
    events = eventlogs_visible(owner_id=request.user.pk, status=STATUS_ALL, trigger_id=trigger.id)
    last_event = events.exclude(source=EventLog.Source.TEST).first()
    context = {
        "trigger": trigger,
        "last_fired": last_event.fired_at if last_event else trigger.last_fired_at,
        "fire_form": fire_form,
        "expired": trigger_is_expired(trigger),
        "page": Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page")),
    }
    return render(request, "triggers/detail.html", context, status=status)


@require_POST
def trigger_fire_view(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    trigger = _own_trigger(request, trigger_id)
    form = FireForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, trigger, form, status=400)
    try:
        result = trigger_fire(trigger=trigger, payload=form.cleaned_data["payload"])
    except TriggerNotFireable as refused:
        form.add_error(None, refused.message)
        return _render_detail(request, trigger, form, status=409 if refused.conflict else 400)
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
