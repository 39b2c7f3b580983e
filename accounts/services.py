"""Writes for accounts."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.timezone import now

from accounts.models import API_KEY_PREFIX, ApiKey, User
from accounts.tokens import user_tokens_revoke


def user_email_taken(*, email: str) -> bool:
    return User.objects.filter(email=User.objects.normalize_email(email)).exists()


def user_register(*, email: str, password: str, timezone: str | None = None) -> User:
    """Create a customer account after Django's password validators accept the password.

    Raises ``ValidationError`` keyed by field for a taken email or a weak password.
    """
    email = User.objects.normalize_email(email)
    candidate = User(email=email)
    if timezone:
        candidate.timezone = timezone
    errors: dict[str, list[str]] = {}
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if user_email_taken(email=email):
        errors["email"] = ["An account with this email already exists."]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, timezone=candidate.timezone)
    except IntegrityError:
        # Two sign-ups raced past the check above; the unique index decided.
        raise ValidationError({"email": ["An account with this email already exists."]}) from None


@transaction.atomic
def user_change_password(*, user: User, new_password: str) -> None:
    """Set ``new_password`` after Django's validators accept it, and revoke every token and
    session issued before (the caller keeps its own session with ``update_session_auth_hash``).

    Raises ``ValidationError`` keyed ``new_password`` for a weak password.
    """
    try:
        validate_password(new_password, user=user)
    except ValidationError as error:
        raise ValidationError({"new_password": list(error.messages)}) from None
    user.set_password(new_password)
    user_tokens_revoke(user=user)
    user.save(update_fields=["password", "token_generation"])


@transaction.atomic
def user_sign_out_everywhere(*, user: User) -> None:
    """Revoke every access and refresh token of ``user`` and end their other sessions."""
    user_tokens_revoke(user=user)
    user.save(update_fields=["token_generation"])


# A key's last use is written at most this often: the fire path stays read-only
# between writes, and "last used" to the minute is what a user reads it for.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    """A created key and its secret, which exists only here: the database keeps its hash."""

    key: ApiKey
    raw_key: str


def api_key_create(*, user: User, name: str, scope: str, trigger_id: uuid.UUID | None = None) -> NewApiKey:
    """Create a key for ``user``; the returned ``raw_key`` is shown once and never stored.

    Raises ``ValidationError`` keyed ``trigger`` for a trigger the user does not own, or
    a trigger limit on a ``full`` key.
    """
    if trigger_id is not None:
        if scope != ApiKey.Scope.FIRE:
            raise ValidationError({"trigger": ["Only a fire key can be limited to one trigger."]})
        # Through the user's reverse relation, so accounts imports no trigger code.
        if not user.triggers.filter(pk=trigger_id).exists():
            raise ValidationError({"trigger": ["You have no trigger with this id."]})
    # Keys ended by a password change or "sign out everywhere" are only dead rows now.
    ApiKey.objects.filter(user=user).exclude(generation=user.token_generation).delete()
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        user=user,
        name=name,
        scope=scope,
        trigger_id=trigger_id,
        digest=ApiKey.digest_of(raw_key),
        prefix=raw_key[:11],
        generation=user.token_generation,
    )
    return NewApiKey(key=key, raw_key=raw_key)


def api_key_revoke(*, key: ApiKey) -> None:
    """Delete the key: its hash goes with it, so its next request is a 401."""
    key.delete()


def api_key_touch(*, key_id: uuid.UUID, last_used_at: datetime | None) -> None:
    """Record a use of the key, at most once per ``API_KEY_TOUCH_INTERVAL``.

    Conditional, so of several workers seeing the same stale time only one writes.
    """
    at = now()
    if last_used_at is not None and at - last_used_at < API_KEY_TOUCH_INTERVAL:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=at - API_KEY_TOUCH_INTERVAL)
    ApiKey.objects.filter(stale, pk=key_id).update(last_used_at=at)


def user_update_profile(*, user: User, email: str, timezone: str) -> User:
    """Change the address and zone (the caller has checked the password for a new address).

    Raises ``ValidationError`` keyed ``email`` when another account has the address.
    """
    email = User.objects.normalize_email(email)
    if email != user.email and user_email_taken(email=email):
        raise ValidationError({"email": ["An account with this email already exists."]})
    user.email, user.timezone = email, timezone
    user.full_clean(exclude=["password"])
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "timezone"])
    except IntegrityError:
        raise ValidationError({"email": ["An account with this email already exists."]}) from None
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete the account with its triggers, event logs and API keys, in one transaction.

    The user's triggers are locked first: the dispatcher claims due triggers with
    ``SKIP LOCKED``, so from then on it passes them by, and a firing it already holds
    commits before they go. Sessions and JWTs need no sweep: they name a user id
    that no longer resolves, so their next request is anonymous (401).
    """
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    list(user.triggers.select_for_update().values_list("pk", flat=True))
    user.delete()
