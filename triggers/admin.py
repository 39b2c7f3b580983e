"""Operators' view of triggers.

Decision: the schedule (type, kind, run_at, interval, cron, payload, expiry) is read-only
here. A schedule belongs to its owner, who edits it on the pages or through the API;
an operator inspects, renames, pauses, resumes and test-fires. Every change an operator
can make still goes through ``triggers.services`` (the form validates with
``trigger_validate``, ``save_model`` calls ``trigger_update``, the actions call
``trigger_set_enabled``/``trigger_test``), so ``next_fire_at`` is recomputed and the
scheduler is notified exactly as for a change made by the owner. Triggers are created
by their owners only, so there is no "add" here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from triggers.models import Trigger
from triggers.selectors import triggers_in_state, triggers_with_last_fired
from triggers.services import (
    TriggerInvalid,
    trigger_delete,
    trigger_set_enabled,
    trigger_test,
    trigger_update,
    trigger_validate,
    trigger_values,
)

EDITABLE_IN_ADMIN = ("name", "enabled")


class TriggerAdminForm(forms.ModelForm):
    class Meta:
        model = Trigger
        fields = EDITABLE_IN_ADMIN

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The page carries the values it showed, so ``changed_data`` names what the operator
        # changed, not what someone else changed since the page was opened.
        for name in EDITABLE_IN_ADMIN:
            self.fields[name].show_hidden_initial = True

    def clean(self) -> dict[str, Any]:
        """Validate the whole trigger with the service's rules, so admin and API agree."""
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        stored = Trigger.objects.get(pk=self.instance.pk)
        values = {**trigger_values(stored), **{name: cleaned[name] for name in EDITABLE_IN_ADMIN if name in cleaned}}
        try:
            trigger_validate(owner=stored.owner, values=values, instance=stored)
        except TriggerInvalid as invalid:
            for field, problems in invalid.errors.items():
                self.add_error(field if field in self.fields else None, str(problems))
        return cleaned


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(Trigger.State.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Trigger]) -> QuerySet[Trigger]:
        if self.value() in Trigger.State.values:
            return triggers_in_state(queryset, self.value())
        return queryset


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    form = TriggerAdminForm

    class Media:
        css = {"all": ("triggers/states.css",)}

    list_display = (
        "name",
        "owner",
        "type",
        "schedule_kind",
        "state",
        "next_fire_at",
        "last_fired",
        "scheduled_firings",
    )
    list_filter = (StateFilter, "type", "schedule_kind", "enabled", "is_test")
    # id__exact casts the UUID to text, so a pasted id matches and a non-UUID term is not an error.
    search_fields = ("name", "owner__email", "id__exact")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    actions = ("pause", "resume", "test_fire")
    readonly_fields = (
        "id",
        "owner",
        "type",
        "schedule_kind",
        "run_at",
        "interval_seconds",
        "start_at",
        "cron_expression",
        "cron_timezone",
        "api_payload",
        "expires_at",
        "is_test",
        "state",
        "next_fire_at",
        "last_fired",
        "scheduled_firings",
        "disabled_reason",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("id", "owner", "name", "state", "enabled", "type", "is_test")}),
        (
            "Schedule (the owner edits it)",
            {
                "fields": (
                    "schedule_kind",
                    "run_at",
                    ("interval_seconds", "start_at"),
                    ("cron_expression", "cron_timezone"),
                    "expires_at",
                    "api_payload",
                )
            },
        ),
        (
            "Firing",
            {
                "fields": (
                    "next_fire_at",
                    "last_fired",
                    "scheduled_firings",
                    "disabled_reason",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Trigger]:
        return triggers_with_last_fired(super().get_queryset(request))

    @admin.display(description="State")
    def state(self, trigger: Trigger) -> str:
        state = trigger.state
        return format_html('<span class="badge state-{}" title="{}">{}</span>', state.code, state.reason, state.label)

    @admin.display(description="Scheduled firings", ordering="scheduled_fire_count")
    def scheduled_firings(self, trigger: Trigger) -> int:
        return trigger.scheduled_fire_count

    @admin.display(description="Last fired", ordering="last_fired")
    def last_fired(self, trigger: Trigger) -> Any:
        return trigger.last_fired

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Trigger, form: forms.ModelForm, change: bool) -> None:
        # Only the fields the operator changed, merged under the row's lock: a pause by the
        # owner or the scheduler since the form was opened is not undone by a rename.
        changes = {name: form.cleaned_data[name] for name in EDITABLE_IN_ADMIN if name in form.changed_data}
        trigger_update(trigger=obj, changes=changes)

    def delete_model(self, request: HttpRequest, obj: Trigger) -> None:
        trigger_delete(trigger=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Trigger]) -> None:
        for trigger in queryset:
            trigger_delete(trigger=trigger)

    @admin.action(description="Pause selected triggers")
    def pause(self, request: HttpRequest, queryset: QuerySet[Trigger]) -> None:
        self._set_enabled(request, queryset, enabled=False)

    @admin.action(description="Resume selected triggers")
    def resume(self, request: HttpRequest, queryset: QuerySet[Trigger]) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Test-fire selected triggers (log a test event)")
    def test_fire(self, request: HttpRequest, queryset: QuerySet[Trigger]) -> None:
        count = 0
        for trigger in queryset:
            trigger_test(trigger=trigger)
            count += 1
        self.message_user(request, f"Logged {count} test event{'s' if count != 1 else ''}.", messages.SUCCESS)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Trigger], *, enabled: bool) -> None:
        changed, refused = 0, []
        for trigger in queryset.filter(enabled=not enabled):
            try:
                trigger_set_enabled(trigger=trigger, enabled=enabled)
            except TriggerInvalid as invalid:
                refused.append(f"{trigger.name}: {' '.join(_messages(invalid.errors))}")
            else:
                changed += 1
        verb = "Resumed" if enabled else "Paused"
        self.message_user(request, f"{verb} {changed} trigger{'s' if changed != 1 else ''}.", messages.SUCCESS)
        for problem in refused:
            self.message_user(request, f"Not changed: {problem}", messages.ERROR)


def _messages(problems: Any) -> list[str]:
    if isinstance(problems, dict):
        return [message for value in problems.values() for message in _messages(value)]
    if isinstance(problems, (list, tuple)):
        return [message for value in problems for message in _messages(value)]
    return [str(problems)]
