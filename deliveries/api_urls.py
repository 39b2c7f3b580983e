from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from deliveries.api import (
    EventLogWithDeliveryViewSet,
    RedeliverFailedView,
    SigningSecretRotateView,
    SigningSecretView,
    TargetTestView,
)

router = SimpleRouter()
# Both /event_logs and /event_logs/ answer, never a redirect (APPEND_SLASH only acts on a 404).
router.trailing_slash = "/?"
router.register("event_logs", EventLogWithDeliveryViewSet, basename="api-event-log")

urlpatterns = [
    re_path(
        r"^triggers/(?P<pk>[^/.]+)/redeliver-failed/?$", RedeliverFailedView.as_view(), name="api-redeliver-failed"
    ),
    re_path(r"^triggers/(?P<pk>[^/.]+)/target/test/?$", TargetTestView.as_view(), name="api-target-test"),
    re_path(r"^signing-secret/?$", SigningSecretView.as_view(), name="api-signing-secret"),
    re_path(r"^signing-secret/rotate/?$", SigningSecretRotateView.as_view(), name="api-signing-secret-rotate"),
    *router.urls,
]
