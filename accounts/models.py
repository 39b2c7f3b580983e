from __future__ import annotations

import hashlib
import uuid
import zoneinfo
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from django.utils.timezone import now


def default_timezone() -> str:
    return settings.DEFAULT_USER_TIMEZONE


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"“{value}” is not an IANA time zone name, such as Asia/Kolkata or UTC.") from None


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        # The whole address is folded to lower case: two sign-ups that differ only in
        # case are the same person, and the unique index on lower(email) agrees.
        return (email or "").strip().lower()

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=self.normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer (or an operator, with ``is_staff``). The email address is the login."""

    email = models.EmailField("email address", max_length=254, unique=True)
    timezone = models.CharField(
        max_length=64,
        default=default_timezone,
        validators=[validate_timezone],
        help_text="IANA time zone used to show times and to read date-times given without an offset.",
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the admin site.")
    date_joined = models.DateTimeField(default=now)
    # Raised by a password change and by "sign out everywhere". Every token carries the
    # value it was issued under and is refused once it differs; sessions sign it too.
    token_generation = models.PositiveIntegerField(
        default=0, editable=False, help_text="Raised to revoke every token and session issued before."
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            # Serves sign-in (get_by_natural_key) and refuses a second account whose
            # address differs only in letter case.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = User.objects.normalize_email(self.email)

    def get_session_auth_hash(self) -> str:
        return self._session_auth_hash()

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_auth_hash(secret=fallback_secret)

    def _session_auth_hash(self, secret: str | None = None) -> str:
        """Django's session hash (an HMAC of the password hash), also over the token
        generation, so raising the generation ends every other session as a password change does."""
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.token_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def zoneinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


API_KEY_PREFIX = "sw_"


class ApiKey(models.Model):
    """A named credential for scripts: ``Authorization: Bearer sw_…``.

    Only the SHA-256 of the key is stored. A key is 256 random bits, so a fast hash is
    enough (nothing to guess from a dictionary) and lets the fire path find the key by
    an indexed equality. ``trigger_id`` limits a ``fire`` key to one trigger; it is a
    plain UUID, not a foreign key, because accounts depends on no domain app: a key
    whose trigger was deleted simply finds nothing to fire.
    """

    class Scope(models.TextChoices):
        FULL = "full", "Full: the whole API except keys and the password"
        FIRE = "fire", "Fire: only POST …/fire and …/test"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=8, choices=Scope.choices)
    trigger_id = models.UUIDField(null=True, blank=True, help_text="The one trigger a fire key may fire, if limited.")
    digest = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of the key, hex.")
    prefix = models.CharField(max_length=12, editable=False, help_text="The key's first characters, to recognise it.")
    # The user's token generation at creation: a password change or "sign out
    # everywhere" raises it, and every key made before stops working with the JWTs.
    generation = models.PositiveIntegerField(editable=False)
    created_at = models.DateTimeField(default=now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # GET /api-keys and the settings page: WHERE user_id = ? ORDER BY created_at DESC.
            models.Index(fields=["user", "-created_at"], name="apikey_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @property
    def is_current(self) -> bool:
        return self.generation == self.user.token_generation
