"""Operators' read-only view of event logs.

Event logs are a record of what fired: nobody edits them here, and only superusers may
delete them (for example to remove a customer's data before retention would). Such a
deletion goes through :func:`eventlogs.services.eventlogs_delete_counted`, which moves the
hourly rollup's mark back so the hours those events were counted in are counted again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from eventlogs.models import EventLog
from eventlogs.services import eventlogs_delete_counted


@admin.register(EventLog)
class EventLogAdmin(admin.ModelAdmin):
    list_display = (
        "fired_at",
        "trigger_name",
        "trigger_type",
        "source",
        "current_status",
        "archived_at",
        "is_test",
        "owner",
        "scheduled_for",
    )
    list_filter = ("source", "trigger_type", "is_test")
    date_hierarchy = "fired_at"
    # The *__exact lookups cast the UUIDs to text: a pasted id matches, other terms are no error.
    search_fields = ("trigger_name", "id__exact", "trigger_uuid__exact", "owner__email")
    list_select_related = ("owner",)
    ordering = ("-fired_at", "-id")
    # The trigger is shown by its snapshot; a raw id avoids a trigger query per row or a huge select.
    raw_id_fields = ("owner", "trigger")
    show_full_result_count = False  # the table can be large; skip the extra unfiltered COUNT(*)

    @admin.display(description="status")
    def current_status(self, obj: EventLog) -> str:
        """From the age, as the API reports it; ``archived_at`` is when the archive job got to it."""
        return obj.status_at()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def delete_model(self, request: HttpRequest, obj: EventLog) -> None:
        eventlogs_delete_counted(events=EventLog.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EventLog]) -> None:
        eventlogs_delete_counted(events=queryset)
