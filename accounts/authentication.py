"""simplejwt's authentication, refusing tokens revoked by a password change or "sign out everywhere"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.tokens import TokenRevoked, token_generation

if TYPE_CHECKING:
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
