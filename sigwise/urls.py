from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from monitoring.views import metrics
from sigwise.health import healthz, ping

# Under /api/ an unknown path is a JSON 404 like every other API error, never an HTML page.
handler404 = "sigwise.api.not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^healthz/?$", healthz, name="healthz"),
    re_path(r"^ping/?$", ping, name="ping"),
    re_path(r"^metrics/?$", metrics, name="metrics"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (/docs?script=), so the
    # Content-Security-Policy needs no inline script; its template keeps one inline <style>.
    re_path(
        r"^docs/?$",
        csp_update({"style-src": [UNSAFE_INLINE]})(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="swagger-ui",
    ),
    path("api/v1/auth/", include("accounts.api_urls")),
    path("api/v1/", include("accounts.api_keys_urls")),
    path("api/v1/", include("triggers.api_urls")),
    # /event_logs is served by deliveries' subclass of the event-log viewset, which adds
    # each event's delivery (eventlogs imports no other app; deliveries/api.py).
    path("api/v1/", include("deliveries.api_urls")),
    path("", include("accounts.urls")),
    path("", include("triggers.urls")),
    path("", include("eventlogs.urls")),
    path("", include("deliveries.urls")),
]
