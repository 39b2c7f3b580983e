"""Writes for accounts."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User


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
