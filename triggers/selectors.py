"""Reads of triggers that need more than an owner-scoped queryset."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection

from accounts.models import ApiKey
from deliveries.models import Target
from triggers.models import Trigger

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
