from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.models import User
from accounts.services import user_register


class LoginForm(AuthenticationForm):
    # 254, the model's limit (forms.EmailField allows 320): a longer address is a form
    # error, never a look-up or a lock record that cannot hold it.
    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Check both and try again.",
    }


class RegisterForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False)
    password_confirm = forms.CharField(
        label="Password (again)", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", "The two passwords differ.")
        return cleaned

    def save(self) -> User:
        """Create the account through the one sign-up service; its errors become form errors."""
        try:
            return user_register(email=self.cleaned_data["email"], password=self.cleaned_data["password"])
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
