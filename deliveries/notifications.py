"""Email to a trigger's owner when its deliveries fail for good or the scheduler stops it,
at most one per trigger per hour (the last one sent is kept in :class:`Notification`)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils.timezone import now

from deliveries.models import Delivery, Notification
from eventlogs.models import EventLog

logger = logging.getLogger(__name__)

NOTIFY_AT_MOST_EVERY = timedelta(hours=1)


def notify_owner(*, owner_id: int, email: str, trigger_id: uuid.UUID, subject: str, body: str) -> bool:
    """Send one email about ``trigger_id`` unless one was sent in the last hour; return
    whether it was sent. The row lock makes two workers agree on who sends."""
    at = now()
    try:
        with transaction.atomic():
            previous = Notification.objects.select_for_update().filter(trigger_uuid=trigger_id).first()
            if previous is not None and previous.sent_at > at - NOTIFY_AT_MOST_EVERY:
                return False
            Notification.objects.update_or_create(
                trigger_uuid=trigger_id, defaults={"owner_id": owner_id, "sent_at": at, "subject": subject[:200]}
            )
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
    except IntegrityError:  # a concurrent first notification of the same trigger won
        return False
    except OSError:
        logger.warning("Could not send the email about trigger %s", trigger_id, exc_info=True)
        return False
    return True


def notify_failed_deliveries(*, event_ids: list[uuid.UUID]) -> int:
    """One email per trigger among these deliveries that ended failed or rejected."""
    sent = 0
    ended = (
        Delivery.objects.filter(pk__in=event_ids)
        .select_related("owner")
        .order_by("trigger_uuid")
        .distinct("trigger_uuid")
    )
    names = dict(EventLog.objects.filter(pk__in=event_ids).values_list("trigger_uuid", "trigger_name"))
    for delivery in ended:
        name = names.get(delivery.trigger_uuid) or str(delivery.trigger_uuid)
        link = f"{settings.SITE_URL}/events/{delivery.event_id}/"
        body = (
            f"A delivery of your trigger {name!r} ended {delivery.state} (last result: {delivery.last_status}).\n\n"
            f"See its attempts and redeliver it: {link}\n\n"
            "You get at most one such email per trigger per hour."
        )
        sent += notify_owner(
            owner_id=delivery.owner_id,
            email=delivery.owner.email,
            trigger_id=delivery.trigger_uuid,
            subject=f"Sigwise: delivery {delivery.state} for {name}",
            body=body,
        )
    return sent


def notify_trigger_disabled(*, owner_id: int, email: str, trigger_id: uuid.UUID, name: str, reason: str) -> bool:
    body = f"The scheduler stopped your trigger {name!r}.\n\n{reason}\n\n{settings.SITE_URL}/triggers/{trigger_id}/"
    return notify_owner(
        owner_id=owner_id, email=email, trigger_id=trigger_id, subject=f"Sigwise: trigger {name} stopped", body=body
    )


def notify_disabled_triggers(*, disabled: list[tuple[uuid.UUID, str]]) -> int:
    """Email the owners of triggers the scheduler has just stopped: ``(trigger id, reason)``."""
    from django.apps import apps
    from django.contrib.auth import get_user_model

    # Looked up by label: this app never imports ``triggers`` (it calls this function).
    trigger_model = apps.get_model("triggers", "Trigger")
    sent = 0
    for trigger_id, reason in disabled:
        found = trigger_model.objects.filter(pk=trigger_id).values_list("owner_id", "name").first()
        if found is None:
            continue
        owner_id, name = found
        email = get_user_model().objects.filter(pk=owner_id).values_list("email", flat=True).first()
        if email:
            sent += notify_trigger_disabled(
                owner_id=owner_id, email=email, trigger_id=trigger_id, name=name, reason=reason
            )
    return sent
