from __future__ import annotations

from rest_framework.routers import SimpleRouter

from triggers.api import TriggerViewSet

router = SimpleRouter()
# Both /triggers and /triggers/ answer, never a redirect (APPEND_SLASH only acts on a 404).
router.trailing_slash = "/?"
router.register("triggers", TriggerViewSet, basename="api-trigger")

urlpatterns = router.urls
