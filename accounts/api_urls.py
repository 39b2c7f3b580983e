from __future__ import annotations

from django.urls import re_path

from accounts.api import (
    LogoutApi,
    LogoutEverywhereApi,
    MeApi,
    PasswordChangeApi,
    RegisterApi,
    TokenObtainApi,
    TokenRefreshApi,
)

urlpatterns = [
    re_path(r"^register/?$", RegisterApi.as_view(), name="api-register"),
    re_path(r"^token/?$", TokenObtainApi.as_view(), name="api-token"),
    re_path(r"^token/refresh/?$", TokenRefreshApi.as_view(), name="api-token-refresh"),
    re_path(r"^logout/?$", LogoutApi.as_view(), name="api-logout"),
    re_path(r"^logout-everywhere/?$", LogoutEverywhereApi.as_view(), name="api-logout-everywhere"),
    re_path(r"^password/?$", PasswordChangeApi.as_view(), name="api-password"),
    re_path(r"^me/?$", MeApi.as_view(), name="api-me"),
]
