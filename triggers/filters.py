"""The trigger list's search, filters and sorting (django-filter), read from the query string.

The states are the ones issue 15 names, decided in this order: a test trigger is "test"
whatever else holds, a trigger the scheduler stopped is "disabled", then "paused",
"expired", "completed" (a one-time trigger that fired) and "active".
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.timezone import now

from triggers.models import Trigger

STATE_CHOICES = [
    ("active", "Active"),
    ("paused", "Paused"),
    ("completed", "Completed"),
    ("expired", "Expired"),
    ("disabled", "Disabled"),
    ("test", "Test"),
]
SORT_CHOICES = [
    ("-created", "Newest first"),
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("next", "Next firing, soonest first"),
    ("-last_fired", "Last fired, latest first"),
    ("last_fired", "Last fired, earliest first"),
]


def state_filters(at: Any) -> dict[str, Q]:
    live = Q(is_test=False, enabled=True)
    expired = Q(expires_at__lte=at)
    completed = Q(schedule_kind=Trigger.ScheduleKind.ONCE, next_fire_at__isnull=True, last_fired_at__isnull=False)
    return {
        "test": Q(is_test=True),
        "disabled": Q(is_test=False, enabled=False) & ~Q(disabled_reason=""),
        "paused": Q(is_test=False, enabled=False, disabled_reason=""),
        "expired": live & expired,
        "completed": live & ~expired & completed,
        "active": live & ~expired & ~completed,
    }


class TriggerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search by name")
    type = django_filters.ChoiceFilter(choices=Trigger.Type.choices, empty_label="Any type", label="Type")
    state = django_filters.ChoiceFilter(
        choices=STATE_CHOICES, method="filter_state", empty_label="Any state", label="State"
    )
    sort = django_filters.ChoiceFilter(choices=SORT_CHOICES, method="sort_by", empty_label=None, label="Sort by")

    class Meta:
        model = Trigger
        fields: list[str] = []

    def filter_state(self, queryset: QuerySet[Trigger], name: str, value: str) -> QuerySet[Trigger]:
        return queryset.filter(state_filters(now())[value])

    def sort_by(self, queryset: QuerySet[Trigger], name: str, value: str) -> QuerySet[Trigger]:
        # Triggers with no time to sort by (an API trigger has no next firing) go last either way.
        last_fired = Coalesce("last_event_at", "last_fired_at")
        orders = {
            "name": [F("name").asc()],
            "-name": [F("name").desc()],
            "next": [F("next_fire_at").asc(nulls_last=True)],
            "-last_fired": [last_fired.desc(nulls_last=True)],
            "last_fired": [last_fired.asc(nulls_last=True)],
        }
        return queryset.order_by(*orders.get(value, [F("created_at").desc()]), "-id")
