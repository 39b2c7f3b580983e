"""Serializer building blocks every API module shares."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """The body of every error that is not about one input field."""

    detail = serializers.CharField()


# An input serializer that refuses a field it does not declare with 400, rather than ignoring
# it, so a client never believes it set something it did not. ``read_only_names`` are fields a
# client may have read in an answer: they are refused as read-only rather than unknown. (A
# comment, not a docstring: the OpenAPI schema would show it for every subclass.)
class ClosedSerializer(serializers.Serializer):
    read_only_names: ClassVar[frozenset[str]] = frozenset()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            refused = {
                name: ["This field is read-only." if name in self.read_only_names else "Unknown field."]
                for name in sorted(set(data) - set(self.fields))
            }
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


class ClosedSerializerSchema(OpenApiSerializerExtension):
    """The schema says what :class:`ClosedSerializer` enforces: no field beyond the listed ones."""

    target_class = ClosedSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema
