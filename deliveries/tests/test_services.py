"""Rules that need no receiver: retry timing, Retry-After, retention, the production warning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils.timezone import now

from deliveries.engine import Outcome, next_attempt, parse_retry_after
from deliveries.models import Attempt, Delivery
from deliveries.network import address_is_public
from deliveries.services import deliveries_delete_old
from triggers.services import trigger_create, trigger_fire

AT = now()


def outcome(status: int | None = None, error: str = "", retry_after: float | None = None) -> Outcome:
    return Outcome(started_at=AT, duration_ms=1, status_code=status, error=error, retry_after=retry_after)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_these_statuses_are_retried(status, settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 100]
    state, at = next_attempt(attempt_in_cycle=1, outcome=outcome(status), at=AT)
    assert state == "retrying"
    assert AT + timedelta(seconds=80) <= at <= AT + timedelta(seconds=120)


def test_connection_errors_and_timeouts_are_retried(settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 5]
    assert next_attempt(attempt_in_cycle=1, outcome=outcome(error="ConnectError"), at=AT)[0] == "retrying"
    assert next_attempt(attempt_in_cycle=1, outcome=outcome(error="Timeout"), at=AT)[0] == "retrying"


def test_the_jitter_stays_within_twenty_percent(settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 30]
    delays = [
        (next_attempt(attempt_in_cycle=1, outcome=outcome(503), at=AT)[1] - AT).total_seconds() for _ in range(500)
    ]
    assert 24 <= min(delays) < 26
    assert 34 < max(delays) <= 36


def test_the_default_schedule_ends_well_inside_retention(settings):
    assert sum(settings.DELIVERY_RETRY_SCHEDULE) * 1.2 < 12 * 3600
    assert settings.DELIVERY_RETRY_SCHEDULE == [0, 5, 30, 120, 600, 1800, 7200, 21600]


def test_after_the_last_attempt_of_the_schedule_the_delivery_fails(settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 5, 30]
    assert next_attempt(attempt_in_cycle=3, outcome=outcome(503), at=AT) == ("failed", None)


def test_retry_after_wins_when_later_and_is_capped_at_an_hour(settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 5]
    _, later = next_attempt(attempt_in_cycle=1, outcome=outcome(429, retry_after=600), at=AT)
    assert later == AT + timedelta(seconds=600)
    _, capped = next_attempt(attempt_in_cycle=1, outcome=outcome(503, retry_after=86400), at=AT)
    assert capped == AT + timedelta(hours=1)


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("120", at=AT) == 120
    in_a_minute = (AT + timedelta(seconds=60)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 58 <= parse_retry_after(in_a_minute, at=AT) <= 60
    assert parse_retry_after("soon", at=AT) is None


@pytest.mark.parametrize("status", [301, 302, 400, 403, 404, 410, 422])
def test_redirects_and_other_client_errors_reject(status):
    assert next_attempt(attempt_in_cycle=1, outcome=outcome(status), at=AT) == ("rejected", None)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",  # noqa: S104
     "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
     "::ffff:169.254.169.254", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_these_addresses_are_not_public(address):
    import ipaddress

    assert not address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_these_addresses_are_public(address):
    import ipaddress

    assert address_is_public(ipaddress.ip_address(address))


@pytest.mark.django_db
def test_deliveries_past_retention_are_deleted_with_their_attempts(owner, settings):
    settings.DELIVERY_ALLOW_PRIVATE_TARGETS = True
    trigger = trigger_create(owner=owner, values={"name": "T", "type": "api", "target": {"url": "http://127.0.0.1/"}})
    old = trigger_fire(trigger=trigger, payload={}).event
    young = trigger_fire(trigger=trigger, payload={}).event
    Delivery.objects.filter(pk=old.id).update(created_at=now() - timedelta(hours=49))
    Attempt.objects.create(delivery_id=old.id, number=1, started_at=now(), duration_ms=1, status_code=500)
    assert deliveries_delete_old() == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [young.id]
    assert not Attempt.objects.exists()


def test_production_settings_warn_when_private_targets_are_allowed(settings, capsys):
    from deliveries.checks import private_targets_allowed_in_production

    settings.DEBUG = False
    settings.DELIVERY_ALLOW_PRIVATE_TARGETS = True
    (warning,) = private_targets_allowed_in_production(None)
    assert warning.id == "deliveries.W001"
    settings.DELIVERY_ALLOW_PRIVATE_TARGETS = False
    assert private_targets_allowed_in_production(None) == []
    call_command("check")  # a warning, not an error: the process still starts
