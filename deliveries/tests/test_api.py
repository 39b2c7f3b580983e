"""The delivery API: targets on triggers, deliveries on events, replays, test sends, secrets."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from deliveries.models import Attempt, Delivery, SigningSecret, Target
from deliveries.tests.receiver import Reply

pytestmark = pytest.mark.django_db

TARGET = {"url": "https://hooks.example.com/sigwise", "headers": {"X-Team": "billing"}, "timeout_seconds": 5}


def post_trigger(api, **extra):
    response = api.post("/api/v1/triggers", {"name": "Orders", "type": "api", **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_target_is_set_read_changed_and_removed_through_the_trigger(api):
    trigger = post_trigger(api, target=TARGET)
    assert trigger["target"] == TARGET
    assert api.get(f"/api/v1/triggers/{trigger['id']}").json()["target"] == TARGET
    assert api.get("/api/v1/triggers").json()["results"][0]["target"] == TARGET

    changed = api.patch(
        f"/api/v1/triggers/{trigger['id']}", {"target": {"url": "https://b.example.com/"}}, format="json"
    )
    assert changed.json()["target"] == {"url": "https://b.example.com/", "headers": {}, "timeout_seconds": 10}

    renamed = api.patch(f"/api/v1/triggers/{trigger['id']}", {"name": "Renamed"}, format="json")
    assert renamed.json()["target"]["url"] == "https://b.example.com/"

    removed = api.patch(f"/api/v1/triggers/{trigger['id']}", {"target": None}, format="json")
    assert removed.json()["target"] is None
    assert not Target.objects.exists()


def test_a_put_without_a_target_removes_it(api):
    trigger = post_trigger(api, target=TARGET)
    response = api.put(f"/api/v1/triggers/{trigger['id']}", {"name": "Orders", "type": "api"}, format="json")
    assert response.json()["target"] is None


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({}, "url"),
        ({"url": "http://127.0.0.1/"}, "url"),
        ({"url": "http://10.1.2.3/"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
        ({"url": "http://[::1]/"}, "url"),
        ({"url": "http://[::ffff:127.0.0.1]/"}, "url"),
        ({"url": "http://[fe80::1]/"}, "url"),
        ({"url": "http://224.0.0.1/"}, "url"),
        ({"url": "http://0.0.0.0/"}, "url"),
        ({"url": "http://localhost:8000/"}, "url"),
        ({"url": "https://user:pw@example.com/"}, "url"),
        ({"url": "https://example.com/", "headers": {"Host": "evil"}}, "headers"),
        ({"url": "https://example.com/", "headers": {"Content-Type": "text/plain"}}, "headers"),
        ({"url": "https://example.com/", "headers": {"Transfer-Encoding": "chunked"}}, "headers"),
        ({"url": "https://example.com/", "headers": {f"X-{n}": "v" for n in range(11)}}, "headers"),
        ({"url": "https://example.com/", "headers": {"X-Bad": "a\r\nInjected: 1"}}, "headers"),
        ({"url": "https://example.com/", "headers": {"Bad Name": "v"}}, "headers"),
        ({"url": "https://example.com/", "headers": ["X-A"]}, "headers"),
        ({"url": "https://example.com/", "timeout_seconds": 0}, "timeout_seconds"),
        ({"url": "https://example.com/", "timeout_seconds": 31}, "timeout_seconds"),
        ({"url": "https://example.com/", "timeout_seconds": "5"}, "timeout_seconds"),
        ({"url": "https://example.com/", "retries": 3}, "retries"),
    ],
)
def test_a_bad_target_is_refused_naming_its_field_and_nothing_is_saved(api, target, field):
    response = api.post("/api/v1/triggers", {"name": "Orders", "type": "api", "target": target}, format="json")
    assert response.status_code == 400
    assert field in response.json()["target"]
    assert not Target.objects.exists()


def test_a_target_that_is_not_an_object_is_refused(api):
    response = api.post("/api/v1/triggers", {"name": "Orders", "type": "api", "target": "https://x"}, format="json")
    assert response.status_code == 400
    assert "target" in response.json()


def test_an_event_shows_its_delivery_and_attempts(api, owner):
    trigger = post_trigger(api, target=TARGET)
    event = api.post(f"/api/v1/triggers/{trigger['id']}/fire", {"a": 1}, format="json").json()
    body = api.get(f"/api/v1/event_logs/{event['id']}").json()
    assert body["delivery"]["state"] == "pending"
    assert body["delivery"]["attempt_count"] == 0
    assert body["delivery"]["next_attempt_at"] is not None
    assert api.get(f"/api/v1/event_logs/{event['id']}/attempts").json() == []


def test_an_event_without_a_target_has_a_null_delivery(api):
    trigger = post_trigger(api)
    event = api.post(f"/api/v1/triggers/{trigger['id']}/fire", {}, format="json").json()
    assert api.get(f"/api/v1/event_logs/{event['id']}").json()["delivery"] is None
    assert api.post(f"/api/v1/event_logs/{event['id']}/redeliver").status_code == 409


def test_redeliver_starts_a_new_cycle_of_a_failed_delivery(api):
    trigger = post_trigger(api, target=TARGET)
    event = api.post(f"/api/v1/triggers/{trigger['id']}/fire", {}, format="json").json()
    Delivery.objects.filter(pk=event["id"]).update(state="failed", attempt_count=8, next_attempt_at=None)
    response = api.post(f"/api/v1/event_logs/{event['id']}/redeliver")
    assert response.status_code == 202
    assert response.json()["state"] == "pending"
    delivery = Delivery.objects.get(pk=event["id"])
    assert (delivery.state, delivery.attempt_count, delivery.cycle_start) == ("pending", 8, 8)


def test_redeliver_is_refused_while_an_attempt_runs(api):
    trigger = post_trigger(api, target=TARGET)
    event = api.post(f"/api/v1/triggers/{trigger['id']}/fire", {}, format="json").json()
    Delivery.objects.filter(pk=event["id"]).update(state="delivering")
    assert api.post(f"/api/v1/event_logs/{event['id']}/redeliver").status_code == 409


def test_redeliver_failed_restarts_only_the_triggers_failed_and_rejected_deliveries(api):
    trigger = post_trigger(api, target=TARGET)
    ids = [api.post(f"/api/v1/triggers/{trigger['id']}/fire", {}, format="json").json()["id"] for _ in range(3)]
    Delivery.objects.filter(pk=ids[0]).update(state="failed", next_attempt_at=None)
    Delivery.objects.filter(pk=ids[1]).update(state="rejected", next_attempt_at=None)
    Delivery.objects.filter(pk=ids[2]).update(state="delivered", next_attempt_at=None)
    response = api.post(f"/api/v1/triggers/{trigger['id']}/redeliver-failed")
    assert (response.status_code, response.json()) == (202, {"redelivering": 2})
    states = {str(pk): state for pk, state in Delivery.objects.values_list("pk", "state")}
    assert [states[i] for i in ids] == ["pending", "pending", "delivered"]


def test_another_users_event_and_trigger_are_404(api, other_api):
    trigger = post_trigger(api, target=TARGET)
    event = api.post(f"/api/v1/triggers/{trigger['id']}/fire", {}, format="json").json()
    assert other_api.get(f"/api/v1/event_logs/{event['id']}").status_code == 404
    assert other_api.get(f"/api/v1/event_logs/{event['id']}/attempts").status_code == 404
    assert other_api.post(f"/api/v1/event_logs/{event['id']}/redeliver").status_code == 404
    assert other_api.post(f"/api/v1/triggers/{trigger['id']}/redeliver-failed").status_code == 404
    assert other_api.post(f"/api/v1/triggers/{trigger['id']}/target/test").status_code == 404
    assert other_api.post("/api/v1/triggers/not-a-uuid/target/test").status_code == 404


def test_the_signing_secret_shows_only_its_prefix_and_a_rotation_shows_the_new_one_once(api, owner):
    shown = api.get("/api/v1/signing-secret").json()
    secret = SigningSecret.objects.get(owner=owner)
    assert shown["prefix"] == secret.secret[:10]
    assert "secret" not in shown
    assert shown["previous_expires_at"] is None

    rotated = api.post("/api/v1/signing-secret/rotate")
    assert rotated.status_code == 201
    new = rotated.json()["secret"]
    assert new.startswith("whsec_")
    assert new != secret.secret
    after = api.get("/api/v1/signing-secret").json()
    assert "secret" not in after
    assert after["previous_expires_at"] is not None


@pytest.mark.django_db(transaction=True)
def test_target_test_sends_a_signed_trigger_test_and_reports_the_answer(api, owner, receiver, allow_private):
    receiver.default = Reply(status=201, body=b"thanks")
    trigger = post_trigger(api, target={"url": receiver.url})
    response = api.post(f"/api/v1/triggers/{trigger['id']}/target/test")
    assert response.status_code == 200
    body = response.json()
    assert (body["status_code"], body["response_body"], body["error"]) == (201, "thanks", "")
    (got,) = receiver.received
    verified = Webhook(SigningSecret.objects.get(owner=owner).secret).verify(got.body, got.headers)
    assert verified["type"] == "trigger.test"
    assert not Delivery.objects.exists()
    assert not Attempt.objects.exists()


def test_target_test_without_a_target_is_409(api):
    trigger = post_trigger(api)
    assert api.post(f"/api/v1/triggers/{trigger['id']}/target/test").status_code == 409
