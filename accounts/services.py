"""Writes for accounts."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
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
