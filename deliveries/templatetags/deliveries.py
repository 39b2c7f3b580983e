"""Template tags that let other apps' pages show deliveries without importing this app:
``{% load deliveries %}`` then ``{% trigger_delivery trigger %}``, ``{% delivery_badge event %}``,
``{% needs_attention %}`` or ``{% signing_secret_panel %}``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils.timezone import now

from deliveries.models import Delivery, SigningSecret, Target
from deliveries.services import signing_secret_for, signing_secret_reveal
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
        # Made with the owner's first target and never shown: shown here, this once.
        "revealed": signing_secret_reveal(owner_id=trigger.owner_id) if target is not None else None,
        "user_agent": USER_AGENT,
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }


@register.simple_tag
def delivery_states(events: Any) -> dict[Any, Delivery]:
    """The deliveries of a page of events, in one query, for :func:`delivery_badge`."""
    ids = [event["id"] if isinstance(event, dict) else event.pk for event in events]
    return {delivery.pk: delivery for delivery in Delivery.objects.filter(pk__in=ids).only("state", "attempt_count")}


@register.inclusion_tag("deliveries/_badge.html")
def delivery_badge(event: Any, deliveries: dict[Any, Delivery]) -> dict[str, Any]:
    """The event's delivery state as a badge linking to its attempts (a plain link without one)."""
    event_id = event["id"] if isinstance(event, dict) else event.pk
    return {"delivery": deliveries.get(event_id), "event_id": event_id}


@register.inclusion_tag("deliveries/_needs_attention.html", takes_context=True)
def needs_attention(context: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's list: triggers the scheduler stopped, and triggers whose deliveries
    failed in the last 24 hours."""
    user = context["request"].user
    since = now() - timedelta(hours=24)
    with connection.cursor() as cursor:
        cursor.execute(_needs_attention_sql(), {"owner": user.pk, "since": since})
        rows = cursor.fetchall()
    stopped = [{"id": row[0], "name": row[1], "reason": row[2]} for row in rows if row[3] == 0]
    failing = [
        {"trigger_uuid": row[0], "name": row[1], "exists": row[2] != "", "count": row[3]} for row in rows if row[3]
    ]
    return {"stopped": stopped, "failing": failing}


# One query for the dashboard: triggers the scheduler stopped (count 0), then triggers
# with deliveries that ended failed or rejected in the last day (their count).
def _needs_attention_sql() -> str:
    trigger_table = apps.get_model("triggers", "Trigger")._meta.db_table
    return _NEEDS_ATTENTION.replace("{_TRIGGER}", trigger_table)


_NEEDS_ATTENTION = f"""
    (SELECT t.id, t.name, t.disabled_reason, 0 AS failed FROM {{_TRIGGER}} AS t
     WHERE t.owner_id = %(owner)s AND NOT t.enabled AND t.disabled_reason <> '' ORDER BY t.updated_at DESC LIMIT 20)
    UNION ALL
    (SELECT d.trigger_uuid, COALESCE(t.name, 'a deleted trigger'), COALESCE(t.id::text, ''), count(*) AS failed
     FROM {Delivery._meta.db_table} AS d LEFT JOIN {{_TRIGGER}} AS t ON t.id = d.trigger_uuid
     WHERE d.owner_id = %(owner)s AND d.state IN ('failed', 'rejected') AND d.updated_at > %(since)s
     GROUP BY d.trigger_uuid, t.name, t.id ORDER BY max(d.updated_at) DESC LIMIT 20)
"""  # noqa: S608 (table names are constants, values are parameters)


@register.inclusion_tag("deliveries/_signing_secret.html", takes_context=True)
def signing_secret_panel(context: dict[str, Any]) -> dict[str, Any]:
    """The settings page's signing-secret section: prefix, age, and the button that shows a new one once."""
    user = context["request"].user
    secret = SigningSecret.objects.filter(owner_id=user.pk).first()
    return {
        "secret": secret,
        "revealed": signing_secret_reveal(owner_id=user.pk) if secret is not None and secret.shown_at is None else None,
        "csrf_token": context.get("csrf_token"),
    }
