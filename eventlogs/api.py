"""REST endpoints for event logs under /api/v1/event_logs.

Read-only and always scoped to ``request.user``; every read goes through
``eventlogs.selectors`` so the lifecycle (archived at 2 h, gone at 48 h) is applied at
read time even when the lifecycle jobs are late.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.openapi import HTML, HTML_BAD_QUERY, HTML_UNAUTHENTICATED, UNAUTHENTICATED
from core.pagination import StrictPageSizeMixin
from core.serializers import DetailSerializer
from eventlogs.models import EventLog
from eventlogs.selectors import STATUS_ALL, eventlogs_aggregated, eventlogs_visible
from eventlogs.serializers import (
    LISTED_COLUMNS,
    EventLogAggregateSerializer,
    EventLogFilterSerializer,
    EventLogOutputSerializer,
    eventlog_rows_body,
)

FRAGMENT_ROWS = 100


class EventLogCursorPagination(StrictPageSizeMixin, CursorPagination):
    """Newest first. A cursor, not a page number, so events written while a client pages
    through never make it see a row twice or skip one."""

    ordering = ("-fired_at", "-id")
    page_size = 50

    def decode_cursor(self, request: Request) -> Cursor | None:
        # DRF trusts the position inside a well-formed cursor; a crafted one that is not a
        # date-time would reach the fired_at filter and fail there with a 500.
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and _parse_moment(cursor.position) is None:
            raise NotFound(self.invalid_cursor_message)
        return cursor


def _parse_moment(text: str) -> datetime | None:
    try:
        return parse_datetime(text)
    except ValueError:
        return None


@extend_schema(tags=["event logs"])
@extend_schema_view(
    list=extend_schema(
        summary="List your event logs, newest first",
        parameters=[EventLogFilterSerializer],
        responses={
            200: EventLogOutputSerializer(many=True),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A query parameter is invalid; it is named."),
            401: UNAUTHENTICATED,
            404: OpenApiResponse(DetailSerializer, description="The cursor is invalid."),
        },
    ),
    retrieve=extend_schema(
        summary="Read one of your event logs",
        responses={
            200: EventLogOutputSerializer,
            401: UNAUTHENTICATED,
            404: OpenApiResponse(DetailSerializer, description="No such event among yours (or it is past 48 h)."),
        },
    ),
)
class EventLogViewSet(viewsets.GenericViewSet):
    serializer_class = EventLogOutputSerializer
    pagination_class = EventLogCursorPagination
    queryset = EventLog.objects.none()  # only for the schema; get_queryset() scopes to the user

    def get_queryset(self) -> QuerySet[EventLog]:
        if getattr(self, "swagger_fake_view", False):
            return EventLog.objects.none()
        return eventlogs_visible(owner_id=self.request.user.pk, status=STATUS_ALL)

    def _filtered(self, request: Request) -> QuerySet[EventLog]:
        filters = EventLogFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        chosen = filters.validated_data
        return eventlogs_visible(
            owner_id=request.user.pk,
            status=chosen["status"],
            trigger_id=chosen.get("trigger"),
            source=chosen.get("source"),
        )

    def list(self, request: Request) -> Response:
        # Plain rows: DRF's cursor reads the position from a dict as well as from a model.
        page = self.paginate_queryset(self._filtered(request).values(*LISTED_COLUMNS))
        return self.get_paginated_response(eventlog_rows_body(page))

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(EventLogOutputSerializer(self.get_object()).data)

    @extend_schema(
        summary="Per trigger, your events over the last 48 hours",
        description=(
            "One entry per trigger with retained events (a deleted trigger by its last known id and name): "
            "total, active, archived and test counts, and the last firing. Newest last firing first."
        ),
        responses={200: EventLogAggregateSerializer(many=True), 401: UNAUTHENTICATED},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def aggregated(self, request: Request) -> Response:
        rows = eventlogs_aggregated(owner_id=request.user.pk)
        return Response(EventLogAggregateSerializer(rows, many=True).data)

    @extend_schema(
        summary="Your newest event logs as an HTML table, for embedding in a page",
        parameters=[EventLogFilterSerializer],
        responses={
            (200, "text/html"): HTML,
            (400, "text/html"): HTML_BAD_QUERY,
            (401, "text/html"): HTML_UNAUTHENTICATED,
        },
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="event_logs_html",
        # OPTIONS metadata cannot be rendered as an HTML table: answer it 405, not 500.
        metadata_class=None,
        renderer_classes=[TemplateHTMLRenderer],
        pagination_class=None,
    )
    def event_logs_html(self, request: Request) -> Response:
        events = self._filtered(request)[:FRAGMENT_ROWS]
        return Response(
            {"events": events, "limit": FRAGMENT_ROWS, "zone": request.user.timezone},
            template_name="eventlogs/fragments/event_logs_table.html",
        )
