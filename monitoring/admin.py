from __future__ import annotations

from django.contrib import admin
from django.utils.timezone import now

from monitoring.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    """The running processes, read-only: the processes write these rows themselves."""

    list_display = ("kind", "host", "pid", "version", "started_at", "beat_at", "seconds_since_beat")
    list_filter = ("kind", "version")
    search_fields = ("host",)

    @admin.display(description="seconds since beat")
    def seconds_since_beat(self, heartbeat: Heartbeat) -> int:
        return int((now() - heartbeat.beat_at).total_seconds())

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
