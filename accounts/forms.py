from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.models import ApiKey, User
from accounts.services import user_register
from accounts.timezones import canonical_timezone


class TimezoneField(forms.CharField):
    """An IANA zone typed with suggestions from a ``<datalist>`` of every zone
    (``accounts/_timezone_datalist.html``); any letter case, kept in canonical spelling."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Time zone")
        kwargs.setdefault(
            "help_text", "Times you type without an offset are read in this zone, and times are shown in it."
        )
        super().__init__(
            max_length=64,
            widget=forms.TextInput(attrs={"list": "timezone-names", "autocomplete": "off", "spellcheck": "false"}),
            **kwargs,
        )

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value and not self.required:
            return ""
        canonical = canonical_timezone(value)
        if canonical is None:
            raise ValidationError(f"“{value}” is not an IANA time zone name, such as Europe/Berlin or UTC.")
        return canonical


# The model's limit (254) on every page (forms.EmailField allows 320): a longer address is a
# form error, never a look-up or a lock record that cannot hold it, and the same everywhere.
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email",
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Check both and try again.",
    }


class RegisterForm(forms.Form):
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False)
    password_confirm = forms.CharField(
        label="Password (again)", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )
    # Optional, so a form posted without it (a script, an old page) gets the default zone.
    timezone = TimezoneField(
        required=False, help_text="Preselected from your browser. Times you type are read in this zone."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].initial = settings.DEFAULT_USER_TIMEZONE
        if not self.is_bound:
            # static/accounts/timezone.js replaces the default with the browser's zone.
            self.fields["timezone"].widget.attrs["data-browser-timezone"] = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", "The two passwords differ.")
        return cleaned

    def save(self) -> User:
        """Create the account through the one sign-up service; its errors become form errors."""
        try:
            return user_register(
                email=self.cleaned_data["email"],
                password=self.cleaned_data["password"],
                timezone=self.cleaned_data.get("timezone") or None,
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
            raise


class PasswordChangeCheckedForm(PasswordChangeForm):
    """Django's form, checking the old password through ``authenticate()`` so that guesses
    made here (from a stolen session) are counted and locked like any other sign-in."""

    def __init__(self, user: User, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        checked = authenticate(self.request, email=self.user.email, password=old_password)
        if checked is None or checked.pk != self.user.pk:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class ProfileForm(forms.Form):
    email = forms.EmailField(max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    timezone = TimezoneField()
    current_password = forms.CharField(
        label="Current password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Needed only to change the email address.",
    )

    def __init__(self, *args: Any, user: User, request: HttpRequest, **kwargs: Any) -> None:
        self.user = user
        self.request = request
        kwargs.setdefault("initial", {"email": user.email, "timezone": user.timezone})
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        email = cleaned.get("email")
        if email and User.objects.normalize_email(email) != self.user.email:
            # The address is where a password reset goes: changing it takes the password.
            checked = authenticate(self.request, email=self.user.email, password=cleaned.get("current_password") or "")
            if checked is None or checked.pk != self.user.pk:
                self.add_error("current_password", "Give your current password to change the email address.")
        return cleaned


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where the key will be used, such as “deploy script”.")
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.FIRE)
    trigger = forms.TypedChoiceField(
        label="Only for trigger",
        required=False,
        coerce=uuid.UUID,
        empty_value=None,
        help_text="A fire key can be limited to one trigger.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Through the user's reverse relation: accounts imports no trigger code.
        triggers = user.triggers.order_by("name").values_list("id", "name")
        self.fields["trigger"].choices = [("", "Any of my triggers"), *((str(pk), name) for pk, name in triggers)]


class DeleteAccountForm(forms.Form):
    confirmation = forms.CharField(
        label="Type your email address to confirm", widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    password = forms.CharField(
        label="Current password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args: Any, user: User, request: HttpRequest, **kwargs: Any) -> None:
        self.user = user
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"]
        if User.objects.normalize_email(value) != self.user.email:
            raise ValidationError("Type your email address exactly to confirm.")
        return value

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        checked = authenticate(self.request, email=self.user.email, password=password)
        if checked is None or checked.pk != self.user.pk:
            raise ValidationError("This is not your current password.")
        return password
