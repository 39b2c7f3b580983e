"""The owner's objects the security matrix aims at, and the marks that must never leak."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import ApiKey, User
from accounts.services import api_key_create
from deliveries.services import signing_secret_for
from eventlogs.models import EventLog
from triggers.models import Trigger
from triggers.services import trigger_create, trigger_fire

SECRET_MARK = "owner-secret-payload-7f3a"


@dataclass
class OwnedObjects:
    api_trigger: Trigger
    scheduled_trigger: Trigger
    event: EventLog
    api_key: ApiKey

    @property
    def ids(self) -> list[str]:
        return [str(self.api_trigger.id), str(self.scheduled_trigger.id), str(self.event.id), str(self.api_key.id)]

    def marks(self, owner: User) -> list[str]:
        """Strings that identify the owner's data; none may appear in another user's responses."""
        marks = [owner.email, SECRET_MARK, self.api_trigger.name, self.scheduled_trigger.name, *self.ids]
        return [*marks, signing_secret_for(owner_id=owner.pk).prefix]


@pytest.fixture
def owned(owner: User) -> OwnedObjects:
    api_trigger = trigger_create(
        owner=owner,
        values={"name": "owner-api-trigger-k9", "type": "api", "api_payload": {"mark": SECRET_MARK}},
    )
    scheduled_trigger = trigger_create(
        owner=owner,
        values={
            "name": "owner-scheduled-trigger-k9",
            "type": "scheduled",
            "schedule_details": {"interval_seconds": 3600},
        },
    )
    event = trigger_fire(trigger=api_trigger, payload={"mark": SECRET_MARK}).event
    api_key = api_key_create(user=owner, name="owner-api-key-k9", scope="fire", trigger_id=api_trigger.id).key
    return OwnedObjects(api_trigger=api_trigger, scheduled_trigger=scheduled_trigger, event=event, api_key=api_key)
