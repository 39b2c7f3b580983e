from __future__ import annotations

from django.apps import AppConfig


class EventlogsConfig(AppConfig):
    name = "eventlogs"
    default_auto_field = "django.db.models.BigAutoField"
