"""REST endpoints for triggers under /api/v1/triggers.

Thin: shapes are checked by ``triggers.serializers``, every rule is applied by
``triggers.services``, and every queryset is scoped to ``request.user`` so another
user's trigger is a 404 for every verb.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

from accounts.authentication import ApiKeyCaller, ApiKeyStatelessAuthentication, api_key_refusal, check_api_key
from accounts.services import api_key_touch
from core.openapi import FIELD_ERRORS, HTML, HTML_UNAUTHENTICATED, TOO_LARGE, UNAUTHENTICATED, UNSUPPORTED_MEDIA
from core.pagination import StrictPageSizeMixin
from core.serializers import DetailSerializer
from deliveries.hooks import signing_secret_reveal
from triggers.describe import describe_schedule
from triggers.models import Trigger
from triggers.selectors import trigger_of_api_key, trigger_of_user, triggers_of_owner
from triggers.serializers import (
    IDEMPOTENCY_KEY_PATTERN,
    FiredEventOutputSerializer,
    SchedulePreviewInputSerializer,
    SchedulePreviewOutputSerializer,
    TriggerInputSerializer,
    TriggerListFilterSerializer,
    TriggerOutputSerializer,
    TriggerWrittenSerializer,
    fired_event_body,
)
from triggers.services import (
    IdempotencyKeyReused,
    TriggerInvalid,
    TriggerLimitReached,
    TriggerNotFireable,
    TriggerPausedOrExpired,
    schedule_preview,
    trigger_create,
    trigger_delete,
    trigger_fire,
    trigger_test,
    trigger_update,
)

FRAGMENT_ROWS = 100
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)

# PUT replaces the whole trigger: an omitted optional field takes its default.
_PUT_DEFAULTS: dict[str, Any] = {
    "schedule_details": None,
    "api_payload": {},
    "expires_at": None,
    "is_test": False,
    "enabled": True,
    "target": None,
}


class NotFireable(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "This trigger cannot be fired through the API."
    default_code = "not_fireable"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The trigger cannot be fired in its current state."
    default_code = "conflict"


class TriggerPagination(StrictPageSizeMixin, PageNumberPagination):
    page_size = 50


NOT_FOUND = OpenApiResponse(DetailSerializer, description="No such trigger among yours.")
BODY_ERRORS = {400: FIELD_ERRORS, 401: UNAUTHENTICATED, 413: TOO_LARGE, 415: UNSUPPORTED_MEDIA}


@extend_schema(tags=["triggers"])
@extend_schema_view(
    list=extend_schema(
        summary="List your triggers",
        parameters=[TriggerListFilterSerializer],
        responses={
            200: TriggerOutputSerializer(many=True),
            400: FIELD_ERRORS,
            401: UNAUTHENTICATED,
            404: OpenApiResponse(DetailSerializer, description="No such page."),
        },
    ),
    create=extend_schema(
        summary="Create a trigger",
        request=TriggerInputSerializer,
        responses={
            201: TriggerWrittenSerializer,
            **BODY_ERRORS,
            403: OpenApiResponse(DetailSerializer, description="You already have TRIGGER_MAX_PER_USER triggers."),
        },
    ),
    retrieve=extend_schema(
        summary="Read one of your triggers",
        responses={200: TriggerOutputSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    ),
    update=extend_schema(
        summary="Replace a trigger (omitted optional fields take their defaults)",
        request=TriggerInputSerializer,
        responses={200: TriggerWrittenSerializer, 404: NOT_FOUND, **BODY_ERRORS},
    ),
    partial_update=extend_schema(
        summary='Change some fields of a trigger ({"enabled": false} pauses it)',
        request=TriggerInputSerializer,
        responses={200: TriggerWrittenSerializer, 404: NOT_FOUND, **BODY_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a trigger (its event logs stay until retention removes them)",
        responses={204: None, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    ),
)
class TriggerViewSet(viewsets.GenericViewSet):
    serializer_class = TriggerOutputSerializer
    pagination_class = TriggerPagination
    queryset = Trigger.objects.none()  # only for the schema; get_queryset() scopes to the user

    def get_queryset(self) -> QuerySet[Trigger]:
        if getattr(self, "swagger_fake_view", False):
            return Trigger.objects.none()
        return triggers_of_owner(owner_id=self.request.user.pk)

    def _written(self, trigger: Trigger, *, given: dict[str, Any], status_code: int = status.HTTP_200_OK) -> Response:
        """The trigger as read back with ``last_fired`` and, when the write set a target, the
        owner's signing secret if it was never shown (made by this write, or by an earlier
        one before secrets were shown)."""
        revealed = signing_secret_reveal(owner_id=trigger.owner_id) if given.get("target") else None
        trigger = triggers_of_owner(owner_id=trigger.owner_id).get(pk=trigger.pk)
        context = {"signing_secret": revealed.secret if revealed is not None else None}
        return Response(TriggerWrittenSerializer(trigger, context=context).data, status=status_code)

    def list(self, request: Request) -> Response:
        # A plain dict: given a QueryDict, DRF reads a missing boolean as an unticked checkbox (False).
        filters = TriggerListFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        queryset = triggers_of_owner(
            owner_id=request.user.pk,
            trigger_type=filters.validated_data.get("type"),
            enabled=filters.validated_data.get("enabled"),
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(TriggerOutputSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        given = TriggerInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            trigger = trigger_create(owner=request.user, values=given.validated_data)
        except TriggerInvalid as invalid:
            raise serializers.ValidationError(invalid.errors) from None
        except TriggerLimitReached as refused:
            raise PermissionDenied(refused.message) from None
        return self._written(trigger, given=given.validated_data, status_code=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(TriggerOutputSerializer(self.get_object()).data)

    def update(self, request: Request, pk: str | None = None) -> Response:
        trigger = self.get_object()
        given = TriggerInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        return self._apply(trigger, values={**_PUT_DEFAULTS, **given.validated_data})

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        trigger = self.get_object()
        given = TriggerInputSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        # Merged into the row as read under its lock, so a concurrent pause is not undone.
        return self._apply(trigger, changes=given.validated_data)

    def _apply(
        self, trigger: Trigger, *, values: dict[str, Any] | None = None, changes: dict[str, Any] | None = None
    ) -> Response:
        try:
            trigger = trigger_update(trigger=trigger, values=values, changes=changes)
        except TriggerInvalid as invalid:
            raise serializers.ValidationError(invalid.errors) from None
        return self._written(trigger, given=values if values is not None else changes or {})

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        trigger_delete(trigger=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Log a test event now (any type of trigger)",
        request=None,
        responses={201: FiredEventOutputSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        event = trigger_test(trigger=self.get_object())
        body = FiredEventOutputSerializer(event, context={"message": "Test Event Triggered"}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Fire an API trigger",
        description=(
            "The JSON object body becomes the event's payload; an empty body uses the trigger's api_payload. "
            "With an Idempotency-Key, a repeat on the same trigger within 48 h answers 200 with the first "
            "event and writes nothing; the same key with a different body answers 409."
        ),
        request=OpenApiTypes.OBJECT,
        # The same schemes as every endpoint; named, because the stateless JWT class below
        # would otherwise be a second "jwtAuth" component.
        auth=[{"apiKeyAuth": []}, {"jwtAuth": []}, {"cookieAuth": []}],
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                pattern=IDEMPOTENCY_KEY_PATTERN,
                description="1 to 255 printable ASCII characters, no surrounding spaces.",
            )
        ],
        responses={
            201: FiredEventOutputSerializer,
            200: OpenApiResponse(FiredEventOutputSerializer, description="A repeat: the key's first event."),
            **BODY_ERRORS,
            404: NOT_FOUND,
            409: OpenApiResponse(
                DetailSerializer,
                description="The trigger is paused or expired, or the Idempotency-Key came with another body.",
            ),
        },
    )
    # The hottest endpoint. simplejwt's stateless authentication reads no user row, nor
    # does the key's: ``_own_trigger`` reads the user's (or key's) state together with
    # the trigger in one query.
    @action(
        detail=True,
        methods=["post"],
        authentication_classes=[ApiKeyStatelessAuthentication, JWTStatelessUserAuthentication, SessionAuthentication],
    )
    def fire(self, request: Request, pk: str | None = None) -> Response:
        trigger = self._own_trigger(pk)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
            raise serializers.ValidationError(
                {"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters without surrounding spaces."]}
            )
        # DRF reads a body with no length as "no body": then the trigger's own payload is used.
        payload = None
        if request.stream is not None:
            payload = request.data
            if not isinstance(payload, dict):
                raise serializers.ValidationError({"payload": ["The body must be a JSON object (or empty)."]})
        try:
            result = trigger_fire(trigger=trigger, payload=payload, idempotency_key=key)
        except IdempotencyKeyReused as reused:
            raise Conflict(reused.message) from None
        except TriggerPausedOrExpired as refused:
            raise Conflict(refused.message) from None
        except TriggerNotFireable as refused:
            raise NotFireable(refused.message) from None
        body = fired_event_body(result.event, message="API Trigger Fired")
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    def _own_trigger(self, pk: str | None) -> Trigger:
        """The caller's trigger, refusing a token whose user is gone or inactive with the
        401 simplejwt's stateful authentication gives, and another user's trigger with 404."""
        try:
            trigger_id = uuid.UUID(str(pk))
        except ValueError:
            trigger_id = None
        if isinstance(self.request.user, ApiKeyCaller):
            return self._key_trigger(pk, trigger_id)
        found = trigger_of_user(user_id=self.request.user.pk, trigger_id=trigger_id)
        if not found.user_exists:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if not found.user_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        # A bearer token revoked by a password change or "sign out everywhere" (as
        # accounts' RevocableJWTAuthentication refuses it elsewhere); a session has no token.
        token = self.request.auth
        if token is not None and token.get("generation", 0) != found.token_generation:
            raise AuthenticationFailed("Token has been revoked; sign in again.", code="token_not_valid")
        if found.trigger is None:
            raise Http404(f"No {Trigger._meta.object_name} matches the given query.")
        return found.trigger

    def _key_trigger(self, pk: str | None, trigger_id: uuid.UUID | None) -> Trigger:
        """``_own_trigger`` for an API key: 401 for a bad key, 403 for a key limited to another trigger."""
        found = trigger_of_api_key(key_digest=self.request.user.digest, trigger_id=trigger_id)
        check_api_key(
            key_exists=found.key_exists,
            user_active=found.user_active,
            key_generation=found.key_generation,
            user_generation=found.user_generation,
        )
        refusal = api_key_refusal(scope="fire", key_trigger_id=found.key_trigger_id, url_name="api-trigger-fire", pk=pk)
        if refusal is not None:
            raise PermissionDenied(refusal)
        api_key_touch(key_id=found.key_id, last_used_at=found.key_last_used_at)
        if found.trigger is None:
            raise Http404(f"No {Trigger._meta.object_name} matches the given query.")
        return found.trigger

    @extend_schema(
        summary="Your newest triggers as an HTML table, for embedding in a page",
        responses={(200, "text/html"): HTML, (401, "text/html"): HTML_UNAUTHENTICATED},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="triggers_html",
        # OPTIONS metadata cannot be rendered as an HTML table: answer it 405, not 500.
        metadata_class=None,
        renderer_classes=[TemplateHTMLRenderer],
        pagination_class=None,
    )
    def triggers_html(self, request: Request) -> Response:
        triggers = self.get_queryset()[:FRAGMENT_ROWS]
        return Response(
            {"triggers": triggers, "limit": FRAGMENT_ROWS, "zone": request.user.timezone},
            template_name="triggers/fragments/triggers_table.html",
        )


class SchedulePreviewApi(APIView):
    """``POST /schedules/preview``: a schedule in words and its next five firings, before saving."""

    @extend_schema(
        tags=["triggers"],
        summary="Preview a schedule: in words, with its next five firings",
        description=(
            "Checks schedule_details (and expires_at) by the same rules as creating a trigger (or, with "
            "`trigger`, as editing that trigger of yours), and "
            "answers what the trigger would do, the firings shown in your time zone or the one given. "
            "Nothing is saved."
        ),
        request=SchedulePreviewInputSerializer,
        responses={200: SchedulePreviewOutputSerializer, 404: NOT_FOUND, **BODY_ERRORS},
    )
    def post(self, request: Request) -> Response:
        given = SchedulePreviewInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        zone_name = given.validated_data.get("timezone") or request.user.timezone
        zone = zoneinfo.ZoneInfo(zone_name)
        instance = None
        if "trigger" in given.validated_data:
            instance = triggers_of_owner(owner_id=request.user.pk).filter(pk=given.validated_data["trigger"]).first()
            if instance is None:
                raise NotFound("No such trigger among yours.")
        try:
            preview = schedule_preview(
                owner=request.user,
                schedule_details=given.validated_data["schedule_details"],
                expires_at=given.validated_data.get("expires_at"),
                instance=instance,
            )
        except TriggerInvalid as invalid:
            raise serializers.ValidationError(invalid.errors) from None
        body = {
            "description": describe_schedule(preview.trigger, zone=zone),
            "timezone": zone_name,
            # Written out: DRF's DateTimeField would show them in UTC, not in ``zone``.
            "next_firings": [moment.astimezone(zone).isoformat() for moment in preview.firings],
        }
        return Response(body)
