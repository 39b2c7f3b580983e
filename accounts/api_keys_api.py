"""API keys under /api/v1/api-keys: create (the key is in this answer only), list, revoke.

Managed with a sign-in (JWT or session) only: an API key is refused here (403), so a
leaked key cannot mint more keys or outlive its own revocation.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import api_key_of_user, api_keys_of_user
from accounts.serializers import ApiKeyCreatedSerializer, ApiKeyInputSerializer, ApiKeyOutputSerializer
from accounts.services import api_key_create, api_key_revoke
from core.openapi import BODY_ERRORS, UNAUTHENTICATED


@extend_schema(tags=["api-keys"])
class ApiKeyListApi(APIView):
    @extend_schema(
        summary="List your API keys (without the keys themselves)",
        responses={200: ApiKeyOutputSerializer(many=True), 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(ApiKeyOutputSerializer(api_keys_of_user(user=request.user), many=True).data)

    @extend_schema(
        summary="Create an API key; the answer holds the key, shown this once",
        request=ApiKeyInputSerializer,
        responses={201: ApiKeyCreatedSerializer, **BODY_ERRORS, 401: UNAUTHENTICATED},
    )
    def post(self, request: Request) -> Response:
        given = ApiKeyInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            created = api_key_create(
                user=request.user,
                name=given.validated_data["name"],
                scope=given.validated_data["scope"],
                trigger_id=given.validated_data.get("trigger"),
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        body = {**ApiKeyOutputSerializer(created.key).data, "key": created.raw_key}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["api-keys"])
class ApiKeyDetailApi(APIView):
    @extend_schema(
        summary="Revoke an API key: its next request is a 401",
        parameters=[OpenApiParameter("key_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={
            204: None,
            401: UNAUTHENTICATED,
            403: OpenApiResponse(OpenApiTypes.OBJECT, description="Sent with an API key: keys cannot manage keys."),
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="No API key of yours has this id."),
        },
    )
    def delete(self, request: Request, key_id: str) -> Response:
        try:
            key = api_key_of_user(user=request.user, key_id=uuid.UUID(key_id))
        except ValueError:
            key = None
        if key is None:
            raise Http404("No API key of yours has this id.")
        api_key_revoke(key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)
