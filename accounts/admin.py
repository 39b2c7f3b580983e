from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.http import HttpRequest

from accounts.models import ApiKey, User


class SigwiseUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "timezone")


class SigwiseUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = SigwiseUserChangeForm
    add_form = SigwiseUserCreationForm
    ordering = ("email",)
    list_display = ("email", "timezone", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email",)
    readonly_fields = ("date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password", "timezone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "timezone", "password1", "password2")}),)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Operators can see and revoke (delete) keys; the keys themselves exist nowhere to show."""

    list_display = ("name", "user", "scope", "prefix", "created_at", "last_used_at")
    list_filter = ("scope",)
    search_fields = ("name", "user__email", "prefix")
    list_select_related = ("user",)
    readonly_fields = ("user", "name", "scope", "trigger_id", "prefix", "generation", "created_at", "last_used_at")
    exclude = ("digest",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is shown once to its owner, so only they create it
