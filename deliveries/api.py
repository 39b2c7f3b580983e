"""REST endpoints of deliveries.

The event-log resource gains its ``delivery`` field and its ``attempts`` and ``redeliver``
actions here, in :class:`EventLogWithDeliveryViewSet`, a subclass of the event-log
viewset: ``eventlogs`` imports no other app, so it cannot know about deliveries, while
this app may import ``eventlogs``. ``sigwise/urls.py`` routes ``/api/v1/event_logs`` to
the subclass. Triggers are looked up by model label, for the same one-way rule.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.apps import apps
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import UNAUTHENTICATED
from core.serializers import DetailSerializer
from deliveries.models import Attempt, Delivery, Target
from deliveries.selectors import signing_secret_of
from deliveries.serializers import (
    AttemptSerializer,
    DeliverySerializer,
    NewSigningSecretSerializer,
    RedeliveredSerializer,
    SigningSecretSerializer,
    TestSendSerializer,
)
from deliveries.services import (
    RedeliveryRefused,
    deliveries_redeliver_failed,
    delivery_redeliver,
    signing_secret_rotate,
    target_test_send,
)
from eventlogs.api import EventLogViewSet
from eventlogs.serializers import EventLogOutputSerializer

NOT_FOUND = OpenApiResponse(DetailSerializer, description="No such event among yours (or it is past 48 h).")
TRIGGER_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The trigger's id.")
TRIGGER_NOT_FOUND = OpenApiResponse(DetailSerializer, description="No such trigger among yours.")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The delivery cannot start again now."
    default_code = "conflict"


class EventLogWithDeliverySerializer(EventLogOutputSerializer):
    """One event and its delivery (null when its trigger had no target)."""

    delivery = serializers.SerializerMethodField()

    class Meta(EventLogOutputSerializer.Meta):
        fields = [*EventLogOutputSerializer.Meta.fields, "delivery"]

    @extend_schema_field(DeliverySerializer(allow_null=True))
    def get_delivery(self, event: Any) -> dict[str, Any] | None:
        delivery = Delivery.objects.filter(pk=event.pk).first()
        return DeliverySerializer(delivery).data if delivery is not None else None


class EventLogWithDeliveryViewSet(EventLogViewSet):
    """``/event_logs`` with deliveries: see the module docstring."""

    @extend_schema(
        summary="Read one of your event logs, with its delivery",
        responses={200: EventLogWithDeliverySerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(EventLogWithDeliverySerializer(self.get_object()).data)

    @extend_schema(
        summary="The delivery attempts of one of your events, oldest first",
        responses={200: AttemptSerializer(many=True), 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def attempts(self, request: Request, pk: str | None = None) -> Response:
        event = self.get_object()
        attempts = Attempt.objects.filter(delivery_id=event.pk).order_by("number")
        return Response(AttemptSerializer(attempts, many=True).data)

    @extend_schema(
        summary="Deliver one of your events again (a new cycle, the same webhook-id)",
        request=None,
        responses={
            202: DeliverySerializer,
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
            409: OpenApiResponse(DetailSerializer, description="No target, or an attempt is running now."),
        },
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        event = self.get_object()
        try:
            delivery = delivery_redeliver(owner_id=request.user.pk, event_id=event.pk)
        except RedeliveryRefused as refused:
            raise Conflict(refused.reason) from None
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


def _own_trigger(request: Request, pk: Any) -> Any:
    try:
        trigger_id = uuid.UUID(str(pk))
    except ValueError:
        raise Http404("No such trigger.") from None
    trigger = apps.get_model("triggers", "Trigger").objects.filter(owner=request.user, pk=trigger_id).first()
    if trigger is None:
        raise Http404("No such trigger.")
    return trigger


class RedeliverFailedView(APIView):
    @extend_schema(
        tags=["triggers"],
        summary="Deliver again every failed or rejected delivery of your trigger in the last 48 h",
        request=None,
        parameters=[TRIGGER_ID],
        responses={202: RedeliveredSerializer, 401: UNAUTHENTICATED, 404: TRIGGER_NOT_FOUND},
    )
    def post(self, request: Request, pk: str) -> Response:
        trigger = _own_trigger(request, pk)
        count = deliveries_redeliver_failed(owner_id=request.user.pk, trigger_id=trigger.pk)
        return Response({"redelivering": count}, status=status.HTTP_202_ACCEPTED)


class TargetTestView(APIView):
    @extend_schema(
        tags=["triggers"],
        summary="Send a signed trigger.test request to your trigger's target now",
        description="Creates no event. Answers with what the target returned: status, time, first 1 KiB.",
        request=None,
        parameters=[TRIGGER_ID],
        responses={
            200: TestSendSerializer,
            401: UNAUTHENTICATED,
            404: TRIGGER_NOT_FOUND,
            409: OpenApiResponse(DetailSerializer, description="The trigger has no target."),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        trigger = _own_trigger(request, pk)
        target = Target.objects.filter(trigger_id=trigger.pk).first()
        if target is None:
            raise Conflict("This trigger has no target; set one first.")
        outcome = target_test_send(trigger=trigger, target=target)
        return Response(
            {
                "status_code": outcome.status_code,
                "error": outcome.error,
                "duration_ms": outcome.duration_ms,
                "response_body": outcome.body,
            }
        )


class SigningSecretView(APIView):
    @extend_schema(
        tags=["signing secret"],
        summary="Your webhook signing secret: its prefix and creation time",
        responses={200: SigningSecretSerializer, 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(SigningSecretSerializer(signing_secret_of(owner_id=request.user.pk)).data)


class SigningSecretRotateView(APIView):
    @extend_schema(
        tags=["signing secret"],
        summary="Make a new signing secret (shown once); the old one keeps signing for 24 h",
        request=None,
        responses={201: NewSigningSecretSerializer, 401: UNAUTHENTICATED},
    )
    def post(self, request: Request) -> Response:
        secret = signing_secret_rotate(owner_id=request.user.pk)
        return Response(NewSigningSecretSerializer(secret).data, status=status.HTTP_201_CREATED)
