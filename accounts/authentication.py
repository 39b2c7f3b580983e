"""simplejwt's authentication, refusing tokens revoked by a password change or "sign out everywhere";
and API keys (``Bearer sw_…``) with their scopes."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.models import API_KEY_PREFIX, ApiKey
from accounts.services import api_key_touch
from accounts.tokens import TokenRevoked, token_generation

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework_simplejwt.tokens import Token

    from accounts.models import User


class RevocableJWTAuthentication(JWTAuthentication):
    """Compares the token's generation with the user row simplejwt reads anyway: no extra query."""

    def get_user(self, validated_token: Token) -> User:
        user = super().get_user(validated_token)
        if token_generation(validated_token) != user.token_generation:
            raise TokenRevoked()
        return user


class RevocableJWTScheme(SimpleJWTScheme):
    """The schema's "jwtAuth" bearer scheme, as for simplejwt's own class."""

    target_class = "accounts.authentication.RevocableJWTAuthentication"


# API routes (URL names) a "fire" key may call; every other route refuses it with 403.
FIRE_KEY_ROUTES = frozenset({"api-trigger-fire", "api-trigger-test"})
# API routes no key may call: managing keys, and what only the password holder may do.
ACCOUNT_ROUTES = frozenset(
    {"api-keys", "api-key-detail", "api-password", "api-logout-everywhere", "api-me", "api-logout", "api-token-refresh"}
)
KEY_INVALID = "Invalid or revoked API key."


def api_key_from_header(request: Request) -> str | None:
    """The ``sw_…`` key of an ``Authorization: Bearer sw_…`` header, or None for any other header."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    keyword, _, credential = header.partition(" ")
    credential = credential.strip()
    if keyword != "Bearer" or not credential.startswith(API_KEY_PREFIX):
        return None
    return credential


def api_key_refusal(
    *, scope: str, key_trigger_id: uuid.UUID | None, url_name: str | None, pk: str | None
) -> str | None:
    """Why a key of ``scope`` (limited to ``key_trigger_id``) may not call route ``url_name``
    on object ``pk``, or None when it may."""
    if url_name in ACCOUNT_ROUTES:
        return "API keys cannot manage keys, the password or the account; sign in instead."
    if scope == ApiKey.Scope.FIRE and url_name not in FIRE_KEY_ROUTES:
        return "This key may only fire triggers (POST …/fire and …/test)."
    if key_trigger_id is not None and _as_uuid(pk) != key_trigger_id:
        # Decided from the key alone, whether or not ``pk`` exists: a 403 here tells nothing of other triggers.
        return "This key may only fire its own trigger."
    return None


def _as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def check_api_key(*, key_exists: bool, user_active: bool, key_generation: int, user_generation: int) -> None:
    """Raise 401 for a key that is unknown, revoked, or whose user is inactive or has signed out everywhere."""
    if not key_exists or not user_active or key_generation != user_generation:
        raise AuthenticationFailed(KEY_INVALID, code="api_key_invalid")


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer sw_…``: one query for the key and its user, and the key's scope
    checked against the route (403). First among the classes, because simplejwt's would
    answer 401 to a bearer credential that is not a JWT."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        raw_key = api_key_from_header(request)
        if raw_key is None:
            return None
        key = ApiKey.objects.select_related("user").filter(digest=ApiKey.digest_of(raw_key)).first()
        check_api_key(
            key_exists=key is not None,
            user_active=key is not None and key.user.is_active,
            key_generation=key.generation if key else 0,
            user_generation=key.user.token_generation if key else 0,
        )
        match = request._request.resolver_match
        refusal = api_key_refusal(
            scope=key.scope,
            key_trigger_id=key.trigger_id,
            url_name=match.url_name if match else None,
            pk=match.kwargs.get("pk") if match else None,
        )
        if refusal is not None:
            raise PermissionDenied(refusal)
        api_key_touch(key_id=key.pk, last_used_at=key.last_used_at)
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyCaller:
    """The caller of the fire route with a key, before anything is read: the route reads
    the key, its user and the trigger in one query (``triggers.selectors.trigger_of_api_key``).

    Throttled per key (``pk``), since the user is not known before that query.
    """

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, raw_key: str) -> None:
        self.digest = ApiKey.digest_of(raw_key)
        self.pk = self.id = f"key:{self.digest[:32]}"


class ApiKeyStatelessAuthentication(BaseAuthentication):
    """The fire route's key authentication: no query here (as simplejwt's stateless class)."""

    def authenticate(self, request: Request) -> tuple[ApiKeyCaller, ApiKeyCaller] | None:
        raw_key = api_key_from_header(request)
        if raw_key is None:
            return None
        caller = ApiKeyCaller(raw_key)
        return caller, caller

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"
    match_subclasses = True

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from the settings page or POST /api/v1/api-keys: `Bearer sw_…`.",
        }


class ApiKeyStatelessScheme(ApiKeyScheme):
    target_class = "accounts.authentication.ApiKeyStatelessAuthentication"
