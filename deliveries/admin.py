"""Operators' view of targets, deliveries and attempts. Deliveries and attempts are
read-only: they record what happened, and a replay goes through the Redeliver action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from deliveries.models import Attempt, Delivery, SigningSecret, Target
from deliveries.services import RedeliveryRefused, delivery_redeliver, signing_secret_for
from deliveries.targets import TargetInvalid, target_validate


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ("trigger", "url", "timeout_seconds", "updated_at")
    search_fields = ("url", "trigger__name")
    raw_id_fields = ("trigger",)

    def save_model(self, request: HttpRequest, obj: Target, form: Any, change: bool) -> None:
        # The same rules as the API and the pages (forbidden headers, private addresses).
        try:
            fields = target_validate(
                values={"url": obj.url, "headers": obj.headers, "timeout_seconds": obj.timeout_seconds}
            )
        except TargetInvalid as invalid:
            messages.error(request, f"Not saved: {invalid.errors}")
            return
        for name, value in fields.items():
            setattr(obj, name, value)
        super().save_model(request, obj, form, change)
        signing_secret_for(owner_id=obj.trigger.owner_id)


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "duration_ms", "status_code", "error", "outcome", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_id", "owner", "state", "attempt_count", "last_status", "next_attempt_at", "created_at")
    list_filter = ("state",)
    search_fields = ("event__id", "owner__email")
    readonly_fields = [field.name for field in Delivery._meta.fields]
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        done = 0
        for delivery in queryset:
            try:
                delivery_redeliver(owner_id=delivery.owner_id, event_id=delivery.event_id)
                done += 1
            except RedeliveryRefused:
                continue
        messages.success(request, f"Redelivering {done} of {queryset.count()}.")


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("delivery", "number", "started_at", "status_code", "error", "duration_ms", "outcome")
    list_filter = ("outcome",)
    readonly_fields = [field.name for field in Attempt._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SigningSecret)
class SigningSecretAdmin(admin.ModelAdmin):
    list_display = ("owner", "prefix", "created_at", "previous_expires_at")
    fields = ("owner", "prefix", "created_at", "previous_expires_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
