from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.http import require_http_methods

from accounts.forms import LoginForm, PasswordChangeCheckedForm, RegisterForm
from accounts.security import rate_limited_per_address
from accounts.services import user_change_password, user_sign_out_everywhere


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
    return render(request, "accounts/register.html", {"form": form}, status=400 if form.errors else 200)


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
