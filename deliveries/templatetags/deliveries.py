"""Template tags that let other apps' pages show deliveries without importing this app:
``{% load deliveries %}`` then ``{% trigger_delivery trigger %}``, ``{% delivery_badge event %}``
or ``{% needs_attention %}``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.apps import apps
from django.conf import settings
from django.db.models import Count, Max
from django.utils.timezone import now

from deliveries.models import Delivery, Target
from deliveries.services import signing_secret_for
from deliveries.signing import USER_AGENT

register = template.Library()


@register.inclusion_tag("deliveries/_trigger_delivery.html", takes_context=True)
def trigger_delivery(context: dict[str, Any], trigger: Any) -> dict[str, Any]:
    """The trigger page's delivery section: target, counts, buttons, verification help."""
    target = Target.objects.filter(trigger_id=trigger.pk).first()
    since = now() - settings.EVENT_LOG_DELETE_AFTER
    states = dict(
        Delivery.objects.filter(trigger_uuid=trigger.pk, owner_id=trigger.owner_id, created_at__gt=since)
        .values_list("state")
        .annotate(count=Count("pk"))
    )
    return {
        "trigger": trigger,
        "target": target,
        "states": states,
        "failed": states.get("failed", 0) + states.get("rejected", 0),
        "secret": signing_secret_for(owner_id=trigger.owner_id) if target is not None else None,
        "user_agent": USER_AGENT,
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }


@register.inclusion_tag("deliveries/_badge.html")
def delivery_badge(event: Any) -> dict[str, Any]:
    """The event's delivery state as a badge linking to its attempts (nothing without one)."""
    event_id = event["id"] if isinstance(event, dict) else event.pk
    delivery = Delivery.objects.filter(pk=event_id).only("state", "attempt_count").first()
    return {"delivery": delivery, "event_id": event_id}


@register.inclusion_tag("deliveries/_needs_attention.html", takes_context=True)
def needs_attention(context: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's list: triggers the scheduler stopped, and triggers whose deliveries
    failed in the last 24 hours."""
    user = context["request"].user
    trigger_model = apps.get_model("triggers", "Trigger")
    stopped = list(trigger_model.objects.filter(owner=user, enabled=False).exclude(disabled_reason="")[:20])
    failing = list(
        Delivery.objects.filter(
            owner=user, state__in=["failed", "rejected"], updated_at__gt=now() - timedelta(hours=24)
        )
        .values("trigger_uuid")
        .annotate(count=Count("pk"), last=Max("updated_at"))
        .order_by("-last")[:20]
    )
    names = dict(
        trigger_model.objects.filter(pk__in=[row["trigger_uuid"] for row in failing]).values_list("pk", "name")
    )
    for row in failing:
        row["name"] = names.get(row["trigger_uuid"], "a deleted trigger")
        row["exists"] = row["trigger_uuid"] in names
    return {"stopped": stopped, "failing": failing}
