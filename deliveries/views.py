"""Pages of deliveries: an event with its attempts, and the buttons that redeliver, send a
test and rotate the signing secret. Every read is scoped to ``request.user``."""

from __future__ import annotations

import uuid

from django.apps import apps
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.decorators.http import require_GET, require_POST

from core.live import live_page
from deliveries.models import Attempt, Delivery, Target
from deliveries.services import (
    RedeliveryRefused,
    deliveries_redeliver_failed,
    delivery_redeliver,
    signing_secret_rotate,
    target_test_send,
)
from eventlogs.selectors import STATUS_ALL, eventlogs_visible, eventlogs_with_current_names


def _own_event(request: HttpRequest, event_id: uuid.UUID):
    visible = eventlogs_with_current_names(eventlogs_visible(owner_id=request.user.pk, status=STATUS_ALL))
    event = visible.filter(pk=event_id).first()
    if event is None:
        raise Http404("No such event.")
    return event


def _own_trigger(request: HttpRequest, trigger_id: uuid.UUID):
    trigger = apps.get_model("triggers", "Trigger").objects.filter(pk=trigger_id, owner=request.user).first()
    if trigger is None:
        raise Http404("No such trigger.")
    return trigger


@require_GET
@live_page
def event_detail(request: HttpRequest, event_id: uuid.UUID) -> HttpResponse:
    event = _own_event(request, event_id)
    delivery = Delivery.objects.filter(pk=event.pk).first()
    attempts = list(Attempt.objects.filter(delivery_id=event.pk).order_by("number")) if delivery else []
    context = {"event": event, "delivery": delivery, "attempts": attempts}
    return render(request, "deliveries/event_detail.html", context)


@require_POST
def event_redeliver(request: HttpRequest, event_id: uuid.UUID) -> HttpResponse:
    event = _own_event(request, event_id)
    try:
        delivery_redeliver(owner_id=request.user.pk, event_id=event.pk)
    except RedeliveryRefused as refused:
        messages.error(request, refused.reason)
    else:
        messages.success(request, "Redelivering: a new cycle of attempts has started, with the same webhook-id.")
    return redirect(reverse("event-detail", args=[event.pk]))


@require_POST
def trigger_target_test(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    trigger = _own_trigger(request, trigger_id)
    target = Target.objects.filter(trigger_id=trigger.pk).first()
    if target is None:
        messages.error(request, "This trigger has no target; edit it to set one.")
    else:
        outcome = target_test_send(trigger=trigger, target=target)
        answer = f"HTTP {outcome.status_code}" if outcome.status_code is not None else outcome.error
        body = f": {outcome.body[:200]}" if outcome.body else ""
        level = messages.success if outcome.verdict() == "delivered" else messages.error
        level(request, f"Test sent to {target.url}: {answer} in {outcome.duration_ms} ms{body}")
    return redirect(reverse("trigger-detail", args=[trigger.pk]))


@require_POST
def trigger_redeliver_failed(request: HttpRequest, trigger_id: uuid.UUID) -> HttpResponse:
    trigger = _own_trigger(request, trigger_id)
    count = deliveries_redeliver_failed(owner_id=request.user.pk, trigger_id=trigger.pk)
    messages.success(request, f"Redelivering {count} failed deliver{'y' if count == 1 else 'ies'}.")
    return redirect(reverse("trigger-detail", args=[trigger.pk]))


class SigningSecretRotateView(View):
    """POST only: a new signing secret, shown once (a class, so the allowed method is declared)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        secret = signing_secret_rotate(owner_id=request.user.pk)
        return render(request, "deliveries/new_secret.html", {"secret": secret})
