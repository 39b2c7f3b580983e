from __future__ import annotations

from rest_framework.routers import SimpleRouter

from eventlogs.api import EventLogViewSet

router = SimpleRouter()
# Both /event_logs and /event_logs/ answer, never a redirect (APPEND_SLASH only acts on a 404).
router.trailing_slash = "/?"
router.register("event_logs", EventLogViewSet, basename="api-event-log")

urlpatterns = router.urls
