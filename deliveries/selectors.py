"""Reads of the deliveries app."""

from __future__ import annotations

import uuid
from typing import Any

from deliveries.models import Delivery, SigningSecret
from deliveries.services import signing_secret_for


def signing_secret_of(*, owner_id: int) -> SigningSecret:
    """The owner's signing secret (created on first read, so there is always one to show)."""
    return signing_secret_for(owner_id=owner_id)


def deliveries_by_event(*, owner_id: int, event_ids: list[Any]) -> dict[uuid.UUID, Delivery]:
    """The deliveries of these events of the owner, by event id (for a page of events)."""
    return {delivery.pk: delivery for delivery in Delivery.objects.filter(owner_id=owner_id, pk__in=event_ids)}
