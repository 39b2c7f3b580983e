from __future__ import annotations

from django.urls import re_path

from accounts import views

urlpatterns = [
    re_path(r"^auth/login/?$", views.SigninView.as_view(), name="login"),
    re_path(r"^auth/register/?$", views.register, name="register"),
    re_path(r"^auth/password/?$", views.PasswordChangePage.as_view(), name="password-change"),
    re_path(r"^auth/logout-everywhere/?$", views.SignOutEverywhereView.as_view(), name="logout-everywhere"),
    re_path(r"^logout/?$", views.signout, name="logout"),
    re_path(r"^settings/?$", views.settings_page, name="settings"),
    re_path(r"^settings/delete-account/?$", views.DeleteAccountView.as_view(), name="delete-account"),
]
