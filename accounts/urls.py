from __future__ import annotations

from django.urls import path, re_path

from accounts import views

urlpatterns = [
    re_path(r"^auth/login/?$", views.SigninView.as_view(), name="login"),
    re_path(r"^auth/register/?$", views.register, name="register"),
    re_path(r"^auth/password/?$", views.PasswordChangePage.as_view(), name="password-change"),
    re_path(r"^auth/logout-everywhere/?$", views.SignOutEverywhereView.as_view(), name="logout-everywhere"),
    re_path(r"^logout/?$", views.signout, name="logout"),
    re_path(r"^auth/password-reset/?$", views.PasswordResetPage.as_view(), name="password-reset"),
    re_path(r"^auth/password-reset/sent/?$", views.PasswordResetSentPage.as_view(), name="password-reset-sent"),
    path("auth/reset/<uidb64>/<token>/", views.PasswordResetConfirmPage.as_view(), name="password-reset-confirm"),
    re_path(r"^auth/reset/done/?$", views.PasswordResetCompletePage.as_view(), name="password-reset-complete"),
    re_path(r"^settings/?$", views.settings_page, name="settings"),
    re_path(r"^settings/delete-account/?$", views.DeleteAccountView.as_view(), name="delete-account"),
]
