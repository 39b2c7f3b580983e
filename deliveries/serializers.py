"""JSON shapes of targets, deliveries, attempts and signing secrets."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deliveries.models import Attempt, Delivery, SigningSecret
from deliveries.targets import MAX_HEADERS, MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS

TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "nullable": True,
    "description": (
        "Where each firing is sent as a signed webhook (docs/delivery.md); null for none. "
        "Loopback, private and link-local addresses are refused."
    ),
    "properties": {
        "url": {"type": "string", "format": "uri", "maxLength": 2000, "example": "https://example.com/hooks"},
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 1000, "pattern": r"^[\x20-\x7e\t]*$"},
            "maxProperties": MAX_HEADERS,
            "description": (
                "Extra request headers; names are HTTP tokens, not Host, Content-Type, Content-Length, "
                "hop-by-hop or webhook-* ones."
            ),
        },
        "timeout_seconds": {
            "type": "integer",
            "minimum": MIN_TIMEOUT_SECONDS,
            "maximum": MAX_TIMEOUT_SECONDS,
            "default": 10,
        },
    },
    "required": ["url"],
    "additionalProperties": False,
}


@extend_schema_field(TARGET_SCHEMA)
class TargetInputField(serializers.JSONField):
    """Any JSON value: the rules are ``deliveries.targets.target_validate``'s, applied by the service."""


def target_body(trigger: Any) -> dict[str, Any] | None:
    try:
        target = trigger.target
    except ObjectDoesNotExist:
        return None
    return {"url": target.url, "headers": target.headers, "timeout_seconds": target.timeout_seconds}


@extend_schema_field(TARGET_SCHEMA)
class TargetOutputField(serializers.Field):
    """The trigger's target, or null."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, trigger: Any) -> dict[str, Any] | None:
        return target_body(trigger)


class DeliverySerializer(serializers.ModelSerializer):
    next_attempt_at = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = ["state", "attempt_count", "next_attempt_at", "last_status"]
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery: Delivery) -> str | None:
        # While an attempt runs the column holds its lease, not a planned attempt.
        if delivery.state not in (Delivery.State.PENDING, Delivery.State.RETRYING):
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class AttemptSerializer(serializers.ModelSerializer):
    outcome = serializers.CharField(read_only=True, help_text="The delivery's state after this attempt.")

    class Meta:
        model = Attempt
        fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_body", "outcome"]
        read_only_fields = fields


class TestSendSerializer(serializers.Serializer):
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    duration_ms = serializers.IntegerField()
    response_body = serializers.CharField(allow_blank=True, help_text="The first 1 KiB of the response body.")


class SigningSecretSerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(read_only=True)
    previous_expires_at = serializers.SerializerMethodField()

    class Meta:
        model = SigningSecret
        fields = ["prefix", "created_at", "previous_expires_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_previous_expires_at(self, secret: SigningSecret) -> str | None:
        """Until when the previous secret still signs, during a rotation."""
        active = len(secret.signing_secrets()) > 1
        return serializers.DateTimeField().to_representation(secret.previous_expires_at) if active else None


class NewSigningSecretSerializer(SigningSecretSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(SigningSecretSerializer.Meta):
        fields = ["secret", *SigningSecretSerializer.Meta.fields]


class RedeliveredSerializer(serializers.Serializer):
    redelivering = serializers.IntegerField()
