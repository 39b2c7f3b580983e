"""Pagination shared by the API's lists."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class StrictPageSizeMixin:
    """Refuse a malformed ``page_size`` with 400 naming it; DRF would silently use the default."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int | None:
        given = request.query_params.get(self.page_size_query_param)
        if given is not None:
            try:
                int(given)
            except ValueError:
                raise ValidationError({self.page_size_query_param: ["Must be a whole number."]}) from None
        return super().get_page_size(request)  # type: ignore[misc]
