from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework_simplejwt.serializers import PasswordField, TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import ApiKey, User, validate_timezone
from accounts.tokens import refresh_token_for, refresh_token_rotate
from core.serializers import ClosedSerializer


class RegisterInputSerializer(ClosedSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    timezone = serializers.CharField(required=False, max_length=64)

    def validate_timezone(self, value: str) -> str:
        try:
            validate_timezone(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return value


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "timezone", "date_joined"]
        read_only_fields = fields


class RegisterOutputSerializer(serializers.Serializer):
    user = UserOutputSerializer()
    access = serializers.CharField()
    refresh = serializers.CharField()


class TokenObtainInputSerializer(TokenObtainPairSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # simplejwt's field trims spaces; sign-up and the login page keep them, so a password
        # with surrounding spaces must reach authenticate() unchanged here too.
        self.fields["password"] = PasswordField(trim_whitespace=False)
        # As long as an address can be (the model's limit): a longer one is a 400 naming
        # the field, never a look-up or a lock record that cannot hold it.
        self.fields[self.username_field] = serializers.CharField(
            write_only=True, max_length=User._meta.get_field("email").max_length
        )

    @classmethod
    def get_token(cls, user: User) -> RefreshToken:
        return refresh_token_for(user=user)

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        data = super().validate(attrs)
        # simplejwt sends no ``user_logged_in``; without it django-axes never clears the
        # account's earlier failures (AXES_RESET_ON_SUCCESS) after a good API sign-in, as the
        # login page does, and ``last_login`` is never recorded.
        user_logged_in.send(sender=type(self.user), request=self.context["request"], user=self.user)
        return data


class TokenRefreshInputSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, spent atomically and revocable (accounts/tokens.py)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = refresh_token_rotate(raw_token=attrs["refresh"])
        return {"access": str(refresh.access_token), "refresh": str(refresh)}


class PasswordChangeInputSerializer(serializers.Serializer):
    current_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    new_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)


class ApiKeyInputSerializer(ClosedSerializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiKey.Scope.choices)
    trigger = serializers.UUIDField(required=False, allow_null=True, help_text="Limit a fire key to this trigger.")


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    trigger = serializers.UUIDField(source="trigger_id", allow_null=True, read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "scope", "trigger", "prefix", "created_at", "last_used_at"]
        read_only_fields = fields


class ApiKeyCreatedSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(read_only=True, help_text="The key itself, shown this once: store it now.")

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]
        read_only_fields = fields


class AccountDeleteInputSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
