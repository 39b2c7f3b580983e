"""Reads of triggers: what the pages, the API and the admin list, and the fire path's one read.

"Last fired" is defined once, by :func:`triggers_with_last_fired`; a trigger's state once,
by ``Trigger.state_at`` (and :func:`triggers_in_state` as a query).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet
from django.db.models.functions import Greatest
from django.utils.timezone import now

from accounts.models import ApiKey
from deliveries.models import Target
from eventlogs.models import delete_after
from eventlogs.selectors import eventlog_last_fired
from triggers.models import Trigger


def triggers_with_last_fired(queryset: QuerySet[Trigger], *, at: datetime | None = None) -> QuerySet[Trigger]:
    """Annotate ``last_fired``: the later of the trigger's newest retained event (any source,
    tests included) and the row's ``last_fired_at``.

    API firings do not write to the trigger's row, so that concurrent fires of one trigger never
    wait for each other: their time comes from the events. The row's value, kept by the
    scheduler, still answers for a scheduled trigger whose last event is past retention.
    GREATEST skips NULLs in PostgreSQL.
    """
    newest_event = eventlog_last_fired(trigger_id=OuterRef("pk"), at=at)
    return queryset.annotate(last_fired=Greatest("last_fired_at", newest_event))


def triggers_of_owner(
    *, owner_id: int, trigger_type: str | None = None, enabled: bool | None = None, at: datetime | None = None
) -> QuerySet[Trigger]:
    """The owner's triggers, newest first, with ``last_fired`` and their target, optionally only
    those of ``trigger_type`` or ``enabled`` (the API's list and detail)."""
    queryset = Trigger.objects.filter(owner_id=owner_id).select_related("target")
    if trigger_type is not None:
        queryset = queryset.filter(type=trigger_type)
    if enabled is not None:
        queryset = queryset.filter(enabled=enabled)
    return triggers_with_last_fired(queryset, at=at)


def triggers_for_list_page(*, owner_id: int, at: datetime | None = None) -> QuerySet[Trigger]:
    """The owner's triggers for the list page: ``last_fired`` and ``recent_events``, the
    number of retained events of any source."""
    at = at or now()
    retained = Q(event_logs__fired_at__gt=at - delete_after())
    queryset = Trigger.objects.filter(owner_id=owner_id).annotate(recent_events=Count("event_logs", filter=retained))
    return triggers_with_last_fired(queryset, at=at).order_by("-created_at", "-id")


def triggers_counts(*, owner_id: int, at: datetime | None = None) -> dict[str, Any]:
    """The dashboard's figures on the owner's triggers, in one query; ``states`` holds
    (state, count) for each state some trigger is in, by the rule of ``Trigger.state_at``."""
    by_state = {
        f"state_{code}": Count("id", filter=condition) for code, condition in _state_conditions(at or now()).items()
    }
    counts: dict[str, Any] = Trigger.objects.filter(owner_id=owner_id).aggregate(
        total=Count("id"),
        once=Count("id", filter=Q(schedule_kind=Trigger.ScheduleKind.ONCE)),
        interval=Count("id", filter=Q(schedule_kind=Trigger.ScheduleKind.INTERVAL)),
        cron=Count("id", filter=Q(schedule_kind=Trigger.ScheduleKind.CRON)),
        api=Count("id", filter=Q(type=Trigger.Type.API)),
        **by_state,
    )
    counts["states"] = [
        (state, counts.pop(f"state_{state.value}")) for state in Trigger.State if counts[f"state_{state.value}"]
    ]
    return counts


def _state_conditions(at: datetime) -> dict[str, Q]:
    """``Trigger.state_at`` as one condition per state, each excluding the states ranked before it."""
    completed = Q(schedule_kind=Trigger.ScheduleKind.ONCE, next_fire_at__isnull=True, last_fired_at__isnull=False)
    expired = ~completed & Q(expires_at__lte=at)
    can_fire = ~completed & ~Q(expires_at__lte=at)
    return {
        Trigger.State.COMPLETED: completed,
        Trigger.State.EXPIRED: expired,
        Trigger.State.DISABLED: can_fire & Q(enabled=False) & ~Q(disabled_reason=""),
        Trigger.State.PAUSED: can_fire & Q(enabled=False, disabled_reason=""),
        Trigger.State.TEST: can_fire & Q(enabled=True, is_test=True),
        Trigger.State.ACTIVE: can_fire & Q(enabled=True, is_test=False),
    }


def triggers_in_state(queryset: QuerySet[Trigger], state: str, *, at: datetime | None = None) -> QuerySet[Trigger]:
    """The triggers of ``queryset`` whose ``state_at(at)`` has the code ``state``."""
    return queryset.filter(_state_conditions(at or now())[state])


_COLUMNS = ("id", "owner_id", "name", "type", "api_payload", "expires_at", "enabled")
_PAYLOAD = Trigger._meta.get_field("api_payload")

# The fire path's one read: the caller's account and, in the same round trip, their
# trigger. Starting from the user row lets the API refuse a token whose user was
# deleted or deactivated (401, as simplejwt's own user look-up does) without a query
# of its own; the LEFT JOIN on (id, owner) scopes the trigger to its owner.
_OWN_TRIGGER = f"""
    SELECT u.is_active, u.token_generation, {", ".join(f"t.{column}" for column in _COLUMNS)},
           EXISTS (SELECT 1 FROM {Target._meta.db_table} AS target WHERE target.trigger_id = t.id)
    FROM {get_user_model()._meta.db_table} AS u
    LEFT JOIN {Trigger._meta.db_table} AS t ON t.owner_id = u.id AND t.id = %s
    WHERE u.id = %s
"""  # noqa: S608 (table and column names come from the models; values are parameters)


@dataclass(frozen=True)
class OwnTrigger:
    """The caller's account state and their trigger (None when they have no such trigger)."""

    user_exists: bool
    user_active: bool
    trigger: Trigger | None
    # The user's token generation: a token issued under an earlier one is revoked.
    token_generation: int = 0


def trigger_of_user(*, user_id: int, trigger_id: uuid.UUID | None) -> OwnTrigger:
    """``trigger_id`` if ``user_id`` owns it, with the fields firing needs, and the user's state.

    Raw SQL because this is the hottest read of the API (every fire): the ORM's query
    building cost more CPU than PostgreSQL spends answering.
    """
    with connection.cursor() as cursor:
        cursor.execute(_OWN_TRIGGER, [trigger_id, user_id])
        row = cursor.fetchone()
    if row is None:
        return OwnTrigger(user_exists=False, user_active=False, trigger=None)
    is_active, generation, *values, has_target = row
    if values[0] is None:
        return OwnTrigger(user_exists=True, user_active=is_active, trigger=None, token_generation=generation)
    fields = dict(zip(_COLUMNS, values, strict=True))
    fields["api_payload"] = _PAYLOAD.from_db_value(fields["api_payload"], None, connection)
    trigger = Trigger.from_db(connection.alias, _COLUMNS, list(fields.values()))
    trigger.has_target = has_target  # so firing knows whether a delivery must be enqueued
    return OwnTrigger(user_exists=True, user_active=is_active, trigger=trigger, token_generation=generation)


# The fire path's one read for an API key: the key, its user and, in the same round
# trip, the user's trigger, as ``_OWN_TRIGGER`` does for a JWT.
_KEY_TRIGGER = f"""
    SELECT u.is_active, u.token_generation, k.id, k.generation, k.trigger_id, k.last_used_at,
           {", ".join(f"t.{column}" for column in _COLUMNS)},
           EXISTS (SELECT 1 FROM {Target._meta.db_table} AS target WHERE target.trigger_id = t.id)
    FROM {ApiKey._meta.db_table} AS k
    JOIN {get_user_model()._meta.db_table} AS u ON u.id = k.user_id
    LEFT JOIN {Trigger._meta.db_table} AS t ON t.owner_id = u.id AND t.id = %s
    WHERE k.digest = %s
"""  # noqa: S608 (table and column names come from the models; values are parameters)


@dataclass(frozen=True)
class KeyTrigger:
    """An API key's state, its user's, and the user's trigger (None when they have no such trigger)."""

    key_exists: bool
    user_active: bool = False
    user_generation: int = 0
    key_id: uuid.UUID | None = None
    key_generation: int = 0
    key_trigger_id: uuid.UUID | None = None
    key_last_used_at: datetime | None = None
    trigger: Trigger | None = None


def trigger_of_api_key(*, key_digest: str, trigger_id: uuid.UUID | None) -> KeyTrigger:
    """The key with ``key_digest``, its user's state, and ``trigger_id`` if that user owns it."""
    with connection.cursor() as cursor:
        cursor.execute(_KEY_TRIGGER, [trigger_id, key_digest])
        row = cursor.fetchone()
    if row is None:
        return KeyTrigger(key_exists=False)
    is_active, user_generation, key_id, key_generation, key_trigger_id, last_used_at, *values, has_target = row
    trigger = None
    if values[0] is not None:
        fields = dict(zip(_COLUMNS, values, strict=True))
        fields["api_payload"] = _PAYLOAD.from_db_value(fields["api_payload"], None, connection)
        trigger = Trigger.from_db(connection.alias, _COLUMNS, list(fields.values()))
        trigger.has_target = has_target  # so firing knows whether a delivery must be enqueued
    return KeyTrigger(
        key_exists=True,
        user_active=is_active,
        user_generation=user_generation,
        key_id=key_id,
        key_generation=key_generation,
        key_trigger_id=key_trigger_id,
        key_last_used_at=last_used_at,
        trigger=trigger,
    )
