from __future__ import annotations

from django.urls import re_path
from rest_framework_simplejwt.views import TokenBlacklistView, TokenRefreshView

from accounts.api import RegisterApi, TokenObtainApi

urlpatterns = [
    re_path(r"^register/?$", RegisterApi.as_view(), name="api-register"),
    re_path(r"^token/?$", TokenObtainApi.as_view(), name="api-token"),
    re_path(r"^token/refresh/?$", TokenRefreshView.as_view(), name="api-token-refresh"),
    re_path(r"^logout/?$", TokenBlacklistView.as_view(), name="api-logout"),
]
