from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from triggers.api import SchedulePreviewApi, TriggerViewSet

router = SimpleRouter()
# Both /triggers and /triggers/ answer, never a redirect (APPEND_SLASH only acts on a 404).
router.trailing_slash = "/?"
router.register("triggers", TriggerViewSet, basename="api-trigger")

urlpatterns = [
    re_path(r"^schedules/preview/?$", SchedulePreviewApi.as_view(), name="api-schedule-preview"),
    *router.urls,
]
