"""Template filters of the trigger pages."""

from __future__ import annotations

from datetime import tzinfo

from django import template

from triggers.describe import describe_schedule
from triggers.models import Trigger

register = template.Library()


@register.filter
def schedule_words(trigger: Trigger, zone: tzinfo) -> str:
    return describe_schedule(trigger, zone=zone)
