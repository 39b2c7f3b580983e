"""The trigger list's search, filters and sorting (django-filter), read from the query string.

The state is ``Trigger.state_at``'s, selected by ``triggers.selectors.triggers_in_state``;
"last fired" is the ``last_fired`` annotation of ``triggers.selectors.triggers_with_last_fired``.
"""

from __future__ import annotations

import django_filters
from django.db.models import F, QuerySet

from triggers.models import Trigger
from triggers.selectors import triggers_in_state

SORT_CHOICES = [
    ("-created", "Newest first"),
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("next", "Next firing, soonest first"),
    ("-last_fired", "Last fired, latest first"),
    ("last_fired", "Last fired, earliest first"),
]


class TriggerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search by name")
    type = django_filters.ChoiceFilter(choices=Trigger.Type.choices, empty_label="Any type", label="Type")
    state = django_filters.ChoiceFilter(
        choices=Trigger.State.choices, method="filter_state", empty_label="Any state", label="State"
    )
    sort = django_filters.ChoiceFilter(choices=SORT_CHOICES, method="sort_by", empty_label=None, label="Sort by")

    class Meta:
        model = Trigger
        fields: list[str] = []

    def filter_state(self, queryset: QuerySet[Trigger], name: str, value: str) -> QuerySet[Trigger]:
        return triggers_in_state(queryset, value)

    def sort_by(self, queryset: QuerySet[Trigger], name: str, value: str) -> QuerySet[Trigger]:
        # Triggers with no time to sort by (an API trigger has no next firing) go last either way.
        last_fired = F("last_fired")
        orders = {
            "name": [F("name").asc()],
            "-name": [F("name").desc()],
            "next": [F("next_fire_at").asc(nulls_last=True)],
            "-last_fired": [last_fired.desc(nulls_last=True)],
            "last_fired": [last_fired.asc(nulls_last=True)],
        }
        return queryset.order_by(*orders.get(value, [F("created_at").desc()]), "-id")
