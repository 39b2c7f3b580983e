from __future__ import annotations

from django.urls import re_path

from accounts.api_keys_api import ApiKeyDetailApi, ApiKeyListApi

urlpatterns = [
    re_path(r"^api-keys/?$", ApiKeyListApi.as_view(), name="api-keys"),
    # Both /api-keys/{id} and /api-keys/{id}/ answer, never a redirect.
    re_path(r"^api-keys/(?P<key_id>[0-9a-fA-F-]{36})/?$", ApiKeyDetailApi.as_view(), name="api-key-detail"),
]
