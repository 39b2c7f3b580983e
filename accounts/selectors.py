"""Reads for accounts."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.models import ApiKey, User


def api_keys_of_user(*, user: User) -> QuerySet[ApiKey]:
    """The user's keys that still work (a password change or "sign out everywhere" ends the older ones)."""
    return ApiKey.objects.filter(user=user, generation=user.token_generation)


def api_key_of_user(*, user: User, key_id: uuid.UUID) -> ApiKey | None:
    return api_keys_of_user(user=user).filter(pk=key_id).first()
