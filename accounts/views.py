from __future__ import annotations

import hashlib
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.views import (
    INTERNAL_RESET_SESSION_TOKEN,
    LoginView,
    PasswordChangeView,
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
)
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.timezone import localtime, now
from django.views import View
from django.views.decorators.http import require_http_methods

from accounts.forms import (
    ApiKeyForm,
    DeleteAccountForm,
    LoginForm,
    PasswordChangeCheckedForm,
    ProfileForm,
    RegisterForm,
)
from accounts.models import User
from accounts.security import client_address, rate_limited_per_address
from accounts.selectors import api_key_of_user, api_keys_of_user
from accounts.services import (
    api_key_create,
    api_key_revoke,
    user_change_password,
    user_delete,
    user_sign_out_everywhere,
    user_update_profile,
)
from accounts.timezones import timezone_names


@method_decorator(login_not_required, name="dispatch")
@method_decorator(rate_limited_per_address, name="dispatch")
class SigninView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@login_not_required
@rate_limited_per_address
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("/")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = form.save()
        except ValidationError:
            pass  # the form now carries the errors
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("/")
    context = {"form": form, "timezone_names": timezone_names()}
    return render(request, "accounts/register.html", context, status=400 if form.errors else 200)


@login_not_required
@require_http_methods(["GET", "POST"])
def signout(request: HttpRequest) -> HttpResponse:
    # Only a POST (the header's button, CSRF-checked) signs out: a GET, which any page or
    # image tag elsewhere can make a browser send, only asks.
    if request.method == "GET":
        if not request.user.is_authenticated:
            return redirect("/auth/login")
        return render(request, "accounts/logout_confirm.html")
    logout(request)
    return redirect("/auth/login")


class PasswordChangePage(PasswordChangeView):
    """Django's password change, through the service that also revokes every token and other session."""

    template_name = "accounts/password_change.html"
    form_class = PasswordChangeCheckedForm
    success_url = "/auth/password"

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        user_change_password(user=form.user, new_password=form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, form.user)
        messages.success(self.request, "Your password is changed. Every other session and API token is signed out.")
        return HttpResponseRedirect(self.get_success_url())


class SignOutEverywhereView(View):
    """The "Sign out everywhere" button: a POST only, so no link elsewhere can press it."""

    def post(self, request: HttpRequest) -> HttpResponse:
        user_sign_out_everywhere(user=request.user)
        update_session_auth_hash(request, request.user)
        messages.success(request, "Every other session and every API token is signed out; this one stays signed in.")
        return redirect("/auth/password")


def _settings_context(request: HttpRequest, **forms: object) -> dict[str, object]:
    user = request.user
    return {
        "profile_form": forms.get("profile_form") or ProfileForm(user=user, request=request),
        "key_form": forms.get("key_form") or ApiKeyForm(user=user),
        "delete_form": forms.get("delete_form") or DeleteAccountForm(user=user, request=request),
        "new_key": forms.get("new_key"),
        "api_keys": api_keys_of_user(user=user),
        "local_now": localtime(now(), user.zoneinfo),
        "timezone_names": timezone_names(),
    }


@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The account's settings: profile, API keys; each form posts here with its ``action``."""
    user = request.user
    action = request.POST.get("action")
    if request.method == "GET" or action not in ("profile", "create_key", "revoke_key"):
        return render(request, "accounts/settings.html", _settings_context(request))
    if action == "profile":
        form = ProfileForm(request.POST, user=user, request=request)
        if form.is_valid():
            try:
                user_update_profile(user=user, email=form.cleaned_data["email"], timezone=form.cleaned_data["timezone"])
            except ValidationError as error:
                for field, field_messages in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_messages)
            else:
                messages.success(request, "Your settings are saved.")
                return redirect("/settings")
        user.refresh_from_db()
        return render(request, "accounts/settings.html", _settings_context(request, profile_form=form), status=400)
    if action == "create_key":
        form = ApiKeyForm(request.POST, user=user)
        if form.is_valid():
            try:
                created = api_key_create(
                    user=user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    trigger_id=form.cleaned_data["trigger"],
                )
            except ValidationError as error:
                for field, field_messages in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_messages)
            else:
                # Rendered, not redirected: the key is in this one answer and stored nowhere.
                response = render(request, "accounts/settings.html", _settings_context(request, new_key=created))
                response["Cache-Control"] = "no-store"
                return response
        return render(request, "accounts/settings.html", _settings_context(request, key_form=form), status=400)
    try:
        key = api_key_of_user(user=user, key_id=uuid.UUID(request.POST.get("key", "")))
    except ValueError:
        key = None
    if key is None:
        raise Http404("No API key of yours has this id.")
    api_key_revoke(key=key)
    messages.success(request, f"The key “{key.name}” is revoked.")
    return redirect("/settings")


class DeleteAccountView(View):
    """The settings page's "Delete my account": a POST with the typed email and the password."""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = DeleteAccountForm(request.POST, user=request.user, request=request)
        if not form.is_valid():
            return render(request, "accounts/settings.html", _settings_context(request, delete_form=form), status=400)
        user_delete(user=request.user)
        logout(request)
        messages.success(request, "Your account and everything in it are deleted.")
        return redirect("/auth/login")


def _count_reset_request(kind: str, value: str) -> int:
    """This hour's reset requests for ``value``: one counter per hour, shared by every worker."""
    key = f"password-reset:{kind}:{hashlib.sha256(value.encode()).hexdigest()}:{int(time.time() // 3600)}"
    cache.add(key, 0, timeout=3600)
    return cache.incr(key)


@method_decorator(login_not_required, name="dispatch")
class PasswordResetPage(PasswordResetView):
    """Django's reset request, limited per client and per address. The answer is the same
    whether or not the address has an account, and whether or not its limit is spent."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = "/auth/password-reset/sent"

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if _count_reset_request("client", client_address(self.request)) > settings.PASSWORD_RESET_CLIENT_LIMIT:
            response = render(self.request, "accounts/rate_limited.html", {"retry_after": 3600}, status=429)
            response["Retry-After"] = "3600"
            return response
        email = User.objects.normalize_email(form.cleaned_data["email"])
        if _count_reset_request("account", email) > settings.PASSWORD_RESET_ACCOUNT_LIMIT:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


@method_decorator(login_not_required, name="dispatch")
class PasswordResetSentPage(PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


@method_decorator(login_not_required, name="dispatch")
class PasswordResetConfirmPage(PasswordResetConfirmView):
    """Django's link check; the new password is set through the service that also revokes
    every token, key and session."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = "/auth/reset/done"
    post_reset_login = False

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        user_change_password(user=form.user, new_password=form.cleaned_data["new_password1"])
        self.request.session.pop(INTERNAL_RESET_SESSION_TOKEN, None)
        return HttpResponseRedirect(self.get_success_url())


@method_decorator(login_not_required, name="dispatch")
class PasswordResetCompletePage(PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
