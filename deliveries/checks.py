from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=False)
def private_targets_allowed_in_production(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Delivering to private addresses lets any user make the server call its own network."""
    if settings.DELIVERY_ALLOW_PRIVATE_TARGETS and not settings.DEBUG:
        return [
            checks.Warning(
                "DELIVERY_ALLOW_PRIVATE_TARGETS is on with DEBUG off: any user can make Sigwise send requests "
                "to loopback, private and link-local addresses (such as 169.254.169.254).",
                hint="Turn DELIVERY_ALLOW_PRIVATE_TARGETS off outside development and tests.",
                id="deliveries.W001",
            )
        ]
    return []
