"""JSON sign-up and token endpoints under /api/v1/auth."""

from __future__ import annotations

from django.contrib.auth import authenticate, logout, update_session_auth_hash
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import (
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.views import TokenBlacklistView, TokenObtainPairView, TokenRefreshView

from accounts.security import lockout_response
from accounts.serializers import (
    AccountDeleteInputSerializer,
    PasswordChangeInputSerializer,
    RegisterInputSerializer,
    RegisterOutputSerializer,
    TokenObtainInputSerializer,
    TokenRefreshInputSerializer,
    UserOutputSerializer,
)
from accounts.services import user_change_password, user_delete, user_register, user_sign_out_everywhere
from accounts.tokens import refresh_token_for
from core.openapi import BODY_ERRORS, UNAUTHENTICATED

BAD_TOKEN = OpenApiResponse(OpenApiTypes.OBJECT, description="The refresh token is invalid, expired or blacklisted.")
TOO_MANY = OpenApiResponse(OpenApiTypes.OBJECT, description="Throttled, or sign-in is locked after repeated failures.")


@extend_schema(tags=["auth"])
class RegisterApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        request=RegisterInputSerializer,
        responses={201: RegisterOutputSerializer, **BODY_ERRORS, 429: TOO_MANY},
        summary="Create an account and receive a token pair",
    )
    def post(self, request: Request) -> Response:
        payload = RegisterInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            user = user_register(**payload.validated_data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        refresh = refresh_token_for(user=user)
        body = {"user": UserOutputSerializer(user).data, "access": str(refresh.access_token), "refresh": str(refresh)}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"])
class TokenObtainApi(TokenObtainPairView):
    """simplejwt's token view, answering 429 while django-axes has the account or address locked.

    axes marks the request it was handed during ``authenticate()``; here that is DRF's
    ``Request``, which axes' middleware never sees, so the lockout is turned into a
    response here.
    """

    serializer_class = TokenObtainInputSerializer

    # simplejwt's own serializer, which drf-spectacular's simplejwt extension documents.
    @extend_schema(
        request=TokenObtainPairSerializer,
        responses={
            200: TokenObtainPairSerializer,
            **BODY_ERRORS,
            401: OpenApiResponse(OpenApiTypes.OBJECT, description="Wrong email or password."),
            429: TOO_MANY,
        },
        summary="Exchange email and password for an access and a refresh token",
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        response = super().post(request, *args, **kwargs)
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request)
        return response

    def handle_exception(self, exc: Exception) -> Response:
        if getattr(self.request, "axes_locked_out", False):
            return lockout_response(self.request)
        return super().handle_exception(exc)


@extend_schema(tags=["auth"])
@extend_schema_view(
    post=extend_schema(
        request=TokenRefreshSerializer,
        responses={200: TokenRefreshSerializer, **BODY_ERRORS, 401: BAD_TOKEN},
        summary="Exchange a refresh token for a new pair (the one sent is spent)",
        description=(
            "Each refresh token works once. Sending one that was already spent signs out the "
            "chain it belongs to: its successor stops working too."
        ),
    )
)
class TokenRefreshApi(TokenRefreshView):
    serializer_class = TokenRefreshInputSerializer


@extend_schema(tags=["auth"])
@extend_schema_view(
    post=extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Signed out."), **BODY_ERRORS, 401: BAD_TOKEN},
        summary="Sign out: blacklist the refresh token",
    )
)
class LogoutApi(TokenBlacklistView):
    serializer_class = TokenBlacklistSerializer


def _keep_this_session(request: Request) -> None:
    """After a revocation, keep a browser's own session signed in (as Django's password change does)."""
    if isinstance(request.successful_authenticator, SessionAuthentication):
        update_session_auth_hash(request._request, request.user)


def _confirm_password(request: Request, *, password: str, field: str) -> Response | None:
    """Check the caller's current password: the lockout answer, or None when it is right.

    Through authenticate(), so guesses here are counted and locked like any sign-in; a
    wrong password is a 400 naming ``field``.
    """
    checked = authenticate(request, email=request.user.email, password=password)
    if getattr(request, "axes_locked_out", False):
        return lockout_response(request)
    if checked is None or checked.pk != request.user.pk:
        raise serializers.ValidationError({field: ["This is not your current password."]})
    return None


@extend_schema(tags=["account"])
class PasswordChangeApi(APIView):
    @extend_schema(
        request=PasswordChangeInputSerializer,
        responses={204: None, **BODY_ERRORS, 401: UNAUTHENTICATED, 429: TOO_MANY},
        summary="Change your password; every token issued before stops working",
        description=(
            "400 names `current_password` when it is wrong and `new_password` when the password "
            "validators refuse it. Wrong current passwords count as failed sign-ins."
        ),
    )
    def post(self, request: Request) -> Response:
        payload = PasswordChangeInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = request.user
        current = payload.validated_data["current_password"]
        locked = _confirm_password(request, password=current, field="current_password")
        if locked is not None:
            return locked
        try:
            user_change_password(user=user, new_password=payload.validated_data["new_password"])
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        _keep_this_session(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["account"])
class LogoutEverywhereApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None, 401: UNAUTHENTICATED},
        summary="Sign out everywhere: revoke every access and refresh token and your other sessions",
    )
    def post(self, request: Request) -> Response:
        user_sign_out_everywhere(user=request.user)
        _keep_this_session(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["account"])
class MeApi(APIView):
    @extend_schema(
        request=AccountDeleteInputSerializer,
        responses={204: None, **BODY_ERRORS, 401: UNAUTHENTICATED, 429: TOO_MANY},
        summary="Delete your account with every trigger, event log and API key",
        description="400 names `password` when it is not your current password (counted as a failed sign-in).",
    )
    def delete(self, request: Request) -> Response:
        payload = AccountDeleteInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = request.user
        locked = _confirm_password(request, password=payload.validated_data["password"], field="password")
        if locked is not None:
            return locked
        user_delete(user=user)
        if isinstance(request.successful_authenticator, SessionAuthentication):
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
