"""The delivery worker against a real receiver on 127.0.0.1 and real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.core import mail
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import User
from deliveries.engine import DeliveryWorker, connection_kwargs
from deliveries.models import Attempt, Delivery, SigningSecret, Target
from deliveries.services import signing_secret_rotate
from deliveries.tests.receiver import Receiver, Reply
from triggers.services import trigger_create, trigger_fire, trigger_test

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_private")]


def api_trigger(owner: Any, url: str, **target: Any) -> Any:
    return trigger_create(
        owner=owner, values={"name": "Orders", "type": "api", "api_payload": {"n": 1}, "target": {"url": url, **target}}
    )


def wait_until(predicate: Any, *, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def delivery_state(event_id: Any) -> str:
    return Delivery.objects.get(pk=event_id).state


def test_a_fired_event_arrives_signed_and_verifies_with_standardwebhooks(owner, receiver: Receiver, start_worker):
    trigger = api_trigger(owner, receiver.url, headers={"X-Team": "billing"})
    event = trigger_fire(trigger=trigger, payload={"order": 42}).event
    start_worker()

    (got,) = receiver.wait_for(1)
    secret = SigningSecret.objects.get(owner=owner).secret
    body = Webhook(secret).verify(got.body, got.headers)
    assert body["type"] == "trigger.fired"
    assert body["data"]["event_id"] == str(event.id)
    assert body["data"]["payload"] == {"order": 42}
    assert body["data"]["source"] == "api"
    assert got.headers["webhook-id"] == str(event.id)
    assert got.headers["user-agent"].startswith("Sigwise/")
    assert got.headers["x-team"] == "billing"
    assert wait_until(lambda: delivery_state(event.id) == "delivered")
    (attempt,) = Attempt.objects.filter(delivery_id=event.id)
    assert (attempt.number, attempt.status_code, attempt.response_body, attempt.outcome) == (1, 200, "ok", "delivered")


def test_a_tampered_body_does_not_verify(owner, receiver: Receiver, start_worker):
    trigger = api_trigger(owner, receiver.url)
    trigger_fire(trigger=trigger, payload={"order": 42})
    start_worker()
    (got,) = receiver.wait_for(1)
    with pytest.raises(WebhookVerificationError):
        Webhook(SigningSecret.objects.get(owner=owner).secret).verify(got.body.replace(b"42", b"43"), got.headers)


def test_after_a_rotation_either_secret_verifies_for_24_hours(owner, receiver: Receiver, start_worker, time_machine):
    trigger = api_trigger(owner, receiver.url)
    old = SigningSecret.objects.get(owner=owner).secret
    new = signing_secret_rotate(owner_id=owner.pk).secret
    trigger_fire(trigger=trigger, payload={})
    worker = start_worker()
    (got,) = receiver.wait_for(1)
    worker.stop()
    assert Webhook(old).verify(got.body, got.headers)
    assert Webhook(new).verify(got.body, got.headers)
    assert len(got.headers["webhook-signature"].split(" ")) == 2

    # A day later only the new secret signs.
    secret = SigningSecret.objects.get(owner=owner)
    assert secret.signing_secrets(at=secret.previous_expires_at + timedelta(seconds=1)) == [new]


def test_scheduled_api_and_test_firings_each_create_their_delivery(owner, receiver: Receiver):
    from triggers.dispatch import triggers_dispatch_due

    trigger = api_trigger(owner, receiver.url)
    fired = trigger_fire(trigger=trigger, payload={}).event
    tested = trigger_test(trigger=trigger)
    scheduled = trigger_create(
        owner=owner,
        values={
            "name": "Every minute",
            "type": "scheduled",
            "schedule_details": {"interval_seconds": 60},
            "target": {"url": receiver.url},
        },
    )
    scheduled.refresh_from_db()
    (outcome,) = triggers_dispatch_due(at=scheduled.next_fire_at + timedelta(seconds=1))
    ids = {fired.id, tested.id, outcome.event_id}
    assert set(Delivery.objects.values_list("pk", flat=True)) == ids
    assert set(Delivery.objects.values_list("state", flat=True)) == {"pending"}


def test_a_trigger_without_a_target_gets_no_delivery(owner):
    trigger = trigger_create(owner=owner, values={"name": "Plain", "type": "api"})
    trigger_fire(trigger=trigger, payload={})
    trigger_test(trigger=trigger)
    assert not Delivery.objects.exists()


def test_server_errors_are_retried_on_the_schedule_until_delivered(owner, receiver, start_worker, settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 0.5, 1.0]
    receiver.script = [Reply(status=503), Reply(status=500)]
    event = trigger_fire(trigger=api_trigger(owner, receiver.url), payload={}).event
    start_worker()
    got = receiver.wait_for(3)
    assert len(got) == 3
    assert {request.headers["webhook-id"] for request in got} == {str(event.id)}
    assert 0.4 <= got[1].at - got[0].at <= 0.9  # 0.5 s ± 20 %, plus the worker's reaction
    assert 0.8 <= got[2].at - got[1].at <= 1.5
    assert wait_until(lambda: delivery_state(event.id) == "delivered")
    assert list(Attempt.objects.filter(delivery_id=event.id).values_list("status_code", "outcome")) == [
        (503, "retrying"),
        (500, "retrying"),
        (200, "delivered"),
    ]


def test_after_the_last_attempt_the_delivery_fails_and_the_owner_gets_one_email(
    owner, receiver, start_worker, settings
):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 0.2]
    receiver.default = Reply(status=502)
    trigger = api_trigger(owner, receiver.url)
    first = trigger_fire(trigger=trigger, payload={}).event
    second = trigger_fire(trigger=trigger, payload={}).event
    start_worker()
    assert wait_until(lambda: {delivery_state(first.id), delivery_state(second.id)} == {"failed"})
    assert len(receiver.received) == 4
    assert wait_until(lambda: len(mail.outbox) >= 1)
    time.sleep(0.3)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]
    assert "failed" in mail.outbox[0].subject


def test_retry_after_is_honoured(owner, receiver, start_worker, settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 0.1]
    receiver.script = [Reply(status=429, headers={"Retry-After": "2"})]
    event = trigger_fire(trigger=api_trigger(owner, receiver.url), payload={}).event
    start_worker()
    got = receiver.wait_for(2, timeout=6)
    assert len(got) == 2
    assert got[1].at - got[0].at >= 1.9
    assert wait_until(lambda: delivery_state(event.id) == "delivered")


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_other_client_errors_reject_at_once(owner, receiver, start_worker, settings, status):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 0.1, 0.1]
    receiver.default = Reply(status=status, body=b"no such hook")
    event = trigger_fire(trigger=api_trigger(owner, receiver.url), payload={}).event
    start_worker()
    assert wait_until(lambda: delivery_state(event.id) == "rejected")
    time.sleep(0.3)
    assert len(receiver.received) == 1
    delivery = Delivery.objects.get(pk=event.id)
    assert (delivery.attempt_count, delivery.last_status) == (1, str(status))
    assert Attempt.objects.get(delivery_id=event.id).response_body == "no such hook"


def test_redirects_are_not_followed(owner, receiver, start_worker):
    receiver.default = Reply(status=302, headers={"Location": receiver.url + "/elsewhere"})
    event = trigger_fire(trigger=api_trigger(owner, receiver.url), payload={}).event
    start_worker()
    assert wait_until(lambda: delivery_state(event.id) == "rejected")
    time.sleep(0.3)
    assert len(receiver.received) == 1


def test_a_receiver_slower_than_the_timeout_is_retried(owner, receiver, start_worker, settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 0.1]
    receiver.script = [Reply(delay=2.5)]
    event = trigger_fire(trigger=api_trigger(owner, receiver.url, timeout_seconds=1), payload={}).event
    start_worker()
    assert wait_until(lambda: delivery_state(event.id) == "delivered", timeout=10)
    first, second = Attempt.objects.filter(delivery_id=event.id).order_by("number")
    assert (first.status_code, first.error) == (None, "Timeout")
    assert 900 <= first.duration_ms <= 1500
    assert second.status_code == 200


def test_a_body_that_never_ends_is_read_to_64_kib_and_dropped(owner, receiver, start_worker):
    receiver.default = Reply(endless=True)
    event = trigger_fire(trigger=api_trigger(owner, receiver.url, timeout_seconds=5), payload={}).event
    start_worker()
    assert wait_until(lambda: delivery_state(event.id) == "delivered", timeout=10)
    attempt = Attempt.objects.get(delivery_id=event.id)
    assert attempt.response_body == "x" * 1024
    assert attempt.duration_ms < 5000


def test_a_private_address_is_refused_at_send_without_any_traffic(owner, receiver, start_worker, settings):
    trigger = api_trigger(owner, receiver.url)
    event = trigger_fire(trigger=trigger, payload={}).event
    settings.DELIVERY_ALLOW_PRIVATE_TARGETS = False
    start_worker()
    assert wait_until(lambda: delivery_state(event.id) == "rejected")
    assert Attempt.objects.get(delivery_id=event.id).error == "AddressRefused"
    assert receiver.received == []


def test_a_name_resolving_to_loopback_is_refused_at_send(owner, receiver, start_worker, settings):
    url = receiver.url.replace("127.0.0.1", "localhost")
    event = trigger_fire(trigger=api_trigger(owner, url), payload={}).event
    settings.DELIVERY_ALLOW_PRIVATE_TARGETS = False
    start_worker()
    assert wait_until(lambda: delivery_state(event.id) == "rejected")
    assert receiver.received == []


def test_two_workers_attempt_every_delivery_exactly_once(owner, receiver, start_worker):
    trigger = api_trigger(owner, receiver.url)
    events = {str(trigger_fire(trigger=trigger, payload={"i": i}).event.id) for i in range(300)}
    start_worker(concurrency=20)
    start_worker(concurrency=20)
    got = receiver.wait_for(300, timeout=30)
    time.sleep(0.5)
    ids = [request.headers["webhook-id"] for request in receiver.received]
    assert sorted(ids) == sorted(events)
    assert wait_until(lambda: Delivery.objects.filter(state="delivered").count() == 300)
    assert len(got) == 300


def test_a_removed_target_fails_the_delivery(owner, receiver, start_worker):
    trigger = api_trigger(owner, receiver.url)
    event = trigger_fire(trigger=trigger, payload={}).event
    Target.objects.filter(trigger=trigger).delete()
    start_worker()
    assert wait_until(lambda: delivery_state(event.id) == "failed")
    assert Attempt.objects.get(delivery_id=event.id).error == "TargetRemoved"


def test_the_body_has_the_standard_webhooks_shape(owner, receiver, start_worker):
    trigger = api_trigger(owner, receiver.url)
    trigger_fire(trigger=trigger, payload={"a": [1, 2]})
    start_worker()
    (got,) = receiver.wait_for(1)
    body = json.loads(got.body)
    assert set(body) == {"type", "timestamp", "data"}
    assert set(body["data"]) == {
        "event_id",
        "trigger_id",
        "trigger_name",
        "source",
        "fired_at",
        "scheduled_for",
        "payload",
    }


def test_a_hanging_target_does_not_delay_another_targets_deliveries(owner, receiver, start_worker):
    hanging = Receiver().start()
    try:
        hanging.default = Reply(delay=4.0)
        stuck = api_trigger(owner, hanging.url, timeout_seconds=5)
        for number in range(100):
            trigger_fire(trigger=stuck, payload={"n": number})
        start_worker(concurrency=50, per_host=5)
        assert hanging.wait_for(5, timeout=10)
        fine = api_trigger(owner, receiver.url)
        fired = time.time()
        trigger_fire(trigger=fine, payload={})
        (got,) = receiver.wait_for(1, timeout=10)
        assert got.at - fired < 1.0
        assert len(hanging.received) <= 10  # its own slots, and its queue, only
    finally:
        hanging.stop()


def test_when_more_owners_are_due_than_a_claim_holds_every_owner_is_reached_in_turn(receiver):
    """A flood from the first owners must not keep a later owner waiting: claims go round."""
    owners = [User.objects.create_user(email=f"owner{n}@example.com", password="x" * 12) for n in range(3)]
    for each in owners[:2]:
        trigger = api_trigger(each, receiver.url)
        for i in range(10):
            trigger_fire(trigger=trigger, payload={"i": i})
    last = trigger_fire(trigger=api_trigger(owners[2], receiver.url), payload={}).event

    async def three_claims() -> list[list[Any]]:
        worker = DeliveryWorker(per_owner=2)
        async with await psycopg.AsyncConnection.connect(**connection_kwargs()) as claims:
            claimed = []
            for _ in range(3):
                claimed.append([each.event_id for each in await worker._claim(claims, limit=2, busy=[])])
                await claims.commit()
            return claimed

    owner_of = dict(Delivery.objects.values_list("event_id", "owner_id"))
    rounds = [{owner_of[event_id] for event_id in claim} for claim in asyncio.run(three_claims())]

    assert rounds[:2] == [{owners[0].pk}, {owners[1].pk}]
    assert owners[2].pk in rounds[2]
    assert Delivery.objects.get(pk=last.id).state == "delivering"
