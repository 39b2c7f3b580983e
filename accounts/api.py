"""JSON sign-up and token endpoints under /api/v1/auth."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView

from accounts.security import lockout_response
from accounts.serializers import RegisterInputSerializer, RegisterOutputSerializer, UserOutputSerializer
from accounts.services import user_register


class RegisterApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        request=RegisterInputSerializer,
        responses={201: RegisterOutputSerializer},
        summary="Create an account and receive a token pair",
    )
    def post(self, request: Request) -> Response:
        payload = RegisterInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            user = user_register(**payload.validated_data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        refresh = RefreshToken.for_user(user)
        body = {"user": UserOutputSerializer(user).data, "access": str(refresh.access_token), "refresh": str(refresh)}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenObtainApi(TokenObtainPairView):
    """simplejwt's token view, answering 429 while django-axes has the account or address locked.

    axes marks the request it was handed during ``authenticate()``; here that is DRF's
    ``Request``, which axes' middleware never sees, so the lockout is turned into a
    response here.
    """

    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        response = super().post(request, *args, **kwargs)
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request._request)
        return response

    def handle_exception(self, exc: Exception) -> Response:
        if getattr(self.request, "axes_locked_out", False):
            return lockout_response(self.request._request)
        return super().handle_exception(exc)
