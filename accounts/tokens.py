"""JWTs that can be revoked: every token of a user at once, or one refresh-token family.

Every token carries the user's ``token_generation`` at issue (``generation`` claim);
raising the generation (a password change, "sign out everywhere") makes every earlier
access and refresh token fail, checked where the user row is read anyway. A refresh
token and the ones rotated from it share a ``family`` claim; presenting a refresh
token that was already rotated (a replay, so one copy is in the wrong hands) revokes
the whole family's live token. Rotation and that check run under a lock on the user
row, so a refresh token sent several times at once is spent exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.timezone import now
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import User

if TYPE_CHECKING:
    from rest_framework_simplejwt.tokens import Token

GENERATION_CLAIM = "generation"
FAMILY_CLAIM = "family"


class TokenRevoked(InvalidToken):
    default_detail = "Token has been revoked; sign in again."


def token_generation(token: Token | dict) -> int:
    """The generation a token was issued under; tokens from before the claim existed count as 0."""
    return token.get(GENERATION_CLAIM, 0)


def refresh_token_for(*, user: User) -> RefreshToken:
    """A new refresh token (and through it an access token) for ``user``, starting a family."""
    refresh = RefreshToken.for_user(user)
    refresh[GENERATION_CLAIM] = user.token_generation
    refresh[FAMILY_CLAIM] = refresh[api_settings.JTI_CLAIM]
    return refresh


class _UncheckedRefreshToken(RefreshToken):
    """A refresh token verified for signature, expiry and type, but not yet against the
    blacklist: ``refresh_token_rotate`` makes that check itself, under its lock."""

    def check_blacklist(self) -> None:
        pass


def refresh_token_rotate(*, raw_token: str) -> RefreshToken:
    """Spend ``raw_token`` and return its successor in the same family.

    Raises ``InvalidToken`` (401) for a token that is not a valid refresh token, whose user
    is gone, inactive or has revoked it, or that was spent before; in the last case the
    family's live token is revoked as well.
    """
    try:
        refresh = _UncheckedRefreshToken(raw_token)
    except TokenError as error:
        raise InvalidToken(error.args[0]) from None
    replayed = False
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=refresh.get(api_settings.USER_ID_CLAIM)).first()
        if user is None or not user.is_active:
            raise InvalidToken("No active account found for the given token.")
        if token_generation(refresh) != user.token_generation:
            raise TokenRevoked()
        outstanding = _outstanding(refresh, user=user)
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            replayed = True
            _revoke_family(user=user, family=_family(refresh))
        else:
            BlacklistedToken.objects.create(token=outstanding)
            refresh[FAMILY_CLAIM] = _family(refresh)
            refresh.set_jti()
            refresh.set_exp()
            refresh.set_iat()
            refresh.outstand()
    if replayed:
        # Raised after the block so the family's revocation is committed.
        raise InvalidToken("Token is blacklisted")
    return refresh


def user_tokens_revoke(*, user: User) -> None:
    """Revoke every token ``user`` holds, inside the caller's transaction, which then saves
    ``user``: its generation is raised (from the locked row, so two revocations at once
    both count) and the refresh tokens still outstanding are blacklisted, so they read as spent."""
    current = User.objects.select_for_update().values_list("token_generation", flat=True).get(pk=user.pk)
    user.token_generation = current + 1
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=now(), blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in live], ignore_conflicts=True)


def _family(refresh: Token) -> str:
    return refresh.get(FAMILY_CLAIM) or refresh[api_settings.JTI_CLAIM]


def _outstanding(refresh: Token, *, user: User) -> OutstandingToken:
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=refresh[api_settings.JTI_CLAIM],
        defaults={
            "user": user,
            "created_at": refresh.current_time,
            "token": str(refresh),
            "expires_at": datetime_from_epoch(refresh["exp"]),
        },
    )
    return outstanding


def _revoke_family(*, user: User, family: str) -> None:
    """Blacklist the family's live refresh token (rotation leaves at most one)."""
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=now(), blacklistedtoken__isnull=True)
    for token in live:
        try:
            payload = UntypedToken(token.token, verify=False).payload
        except TokenError:
            continue  # a stored token that no longer decodes belongs to no family
        if (payload.get(FAMILY_CLAIM) or payload.get(api_settings.JTI_CLAIM)) == family:
            BlacklistedToken.objects.get_or_create(token=token)
