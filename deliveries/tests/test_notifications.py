"""Emails to the owner: a trigger stopped by the scheduler, at most one per trigger per hour."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils.timezone import now

from deliveries.notifications import notify_owner
from triggers.dispatch import dispatch_pending
from triggers.models import Trigger
from triggers.services import trigger_create

pytestmark = pytest.mark.django_db


def test_the_owner_is_emailed_when_the_scheduler_stops_a_trigger(owner):
    trigger = trigger_create(
        owner=owner,
        values={"name": "Nightly", "type": "scheduled", "schedule_details": {"cron": "0 9 * * *", "timezone": "UTC"}},
    )
    Trigger.objects.filter(pk=trigger.pk).update(
        cron_timezone="Mars/Olympus_Mons", next_fire_at=now() - timedelta(seconds=1)
    )
    dispatch_pending()
    (message,) = mail.outbox
    assert message.to == [owner.email]
    assert "Nightly" in message.subject
    assert "cannot be computed" in message.body


def test_at_most_one_email_per_trigger_per_hour(owner, time_machine):
    time_machine.move_to(now(), tick=False)
    trigger_id = trigger_create(owner=owner, values={"name": "T", "type": "api"}).id
    send = {"owner_id": owner.pk, "email": owner.email, "trigger_id": trigger_id, "subject": "s", "body": "b"}
    assert notify_owner(**send) is True
    assert notify_owner(**send) is False
    time_machine.shift(timedelta(minutes=59))
    assert notify_owner(**send) is False
    time_machine.shift(timedelta(minutes=2))
    assert notify_owner(**send) is True
    assert len(mail.outbox) == 2
