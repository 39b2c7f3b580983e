"""Schemathesis against the project's own OpenAPI schema, in-process (WSGI), as a real user.

Every operation in ``/api/schema/`` becomes one test. Each runs Schemathesis' generated
cases (positive and negative) through the WSGI application with the user's Bearer token,
and every response must pass Schemathesis' default checks (no server error, status code,
content type and headers as documented, body matching the schema, negative data rejected,
positive data accepted, authentication enforced, ...). Nothing is excluded.

Generation is derandomized (reproducible) and bounded (``max_examples``) so CI stays quick.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

import pytest
import schemathesis
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone as django_timezone
from django.utils.dateparse import parse_datetime
from django.utils.timezone import now
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.core.parameters import ParameterLocation

from accounts.models import User
from eventlogs.models import EventLog
from sigwise.wsgi import application
from triggers.models import Trigger
from triggers.schedules import parse_cron
from triggers.services import trigger_create, trigger_fire

MAX_EXAMPLES = 100
FUZZ_PASSWORD = "fuzzing-Passphrase-4821"

# What ran, for the summary printed at the end of the session (tests/fuzz/conftest.py).
CASES: Counter[str] = Counter()
CHECKS: Counter[str] = Counter()
FAILED_CHECKS: Counter[str] = Counter()

# Path ids the generator may pick besides random UUIDs; the test swaps each for the id of
# a real object of the user's, so updates, fires and deletes reach real rows too.
REAL_API_TRIGGER = "00000000-0000-4000-8000-00000000a001"
REAL_SCHEDULED_TRIGGER = "00000000-0000-4000-8000-00000000a002"
REAL_EVENT = "00000000-0000-4000-8000-00000000e001"


def _sometimes_a_real_object(context: schemathesis.HookContext, path_parameters: dict[str, Any]) -> Any:
    from hypothesis import strategies

    if not path_parameters or "id" not in path_parameters:
        return strategies.just(path_parameters)
    value = path_parameters["id"]
    try:
        uuid.UUID(str(value))
    except ValueError:
        return strategies.just(path_parameters)  # a negative (malformed) id stays as generated
    path = context.operation.path if context.operation is not None else ""
    if path.startswith("/api/v1/event_logs"):
        stand_ins = [REAL_EVENT]
    elif path.endswith("/fire/"):
        # Firing a scheduled trigger is a 400 by the API's contract (as the seed had it), a
        # rule about the stored trigger that no request schema can carry: aim at API triggers.
        stand_ins = [REAL_API_TRIGGER]
    else:
        stand_ins = [REAL_API_TRIGGER, REAL_SCHEDULED_TRIGGER]
    return strategies.sampled_from([path_parameters, *({**path_parameters, "id": real} for real in stand_ins)])


# --- Rules no JSON Schema can state -------------------------------------------------------
# A schema cannot say "run_at is in the future", "expires_at is after start_at", "a cron
# expression APScheduler can read", "a password Django's validators accept" or "an email
# nobody has registered". Positive cases (data the schema calls valid) are nudged to meet
# those rules so positive_data_acceptance tests what it means to; negative cases are left
# exactly as generated.

SAMPLE_CRONS = ["*/5 * * * *", "0 9 * * 1-5", "30 2 1 * *", "15 */6 * * *", "0 0 * * 0"]
STRONG_PASSWORD_SUFFIX = "-unusual-Fz9!qLx7Tw"


def _later(value: Any, than: datetime) -> str:
    """``value`` if it is a date-time comfortably after ``than``, else a date-time a day after it."""
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is not None and not django_timezone.is_naive(parsed) and parsed > than + timedelta(hours=1):
        return value
    return (than + timedelta(days=1)).isoformat()


def _schedule_begins(details: Any, at: datetime) -> datetime:
    moments = [at]
    if isinstance(details, dict):
        for key in ("run_at", "start_at"):
            parsed = parse_datetime(details[key]) if isinstance(details.get(key), str) else None
            if parsed is not None and not django_timezone.is_naive(parsed):
                moments.append(parsed)
    return max(moments)


def _valid_schedule(details: Any, at: datetime) -> dict[str, Any]:
    if not isinstance(details, dict):
        return {"interval_seconds": 3600}
    if "run_at" in details:
        return {"run_at": _later(details["run_at"], at)}
    if "cron" in details:
        expression = details["cron"]
        try:
            if not parse_cron(expression).can_fire():
                raise ValueError(expression)
        except (ValueError, TypeError, AttributeError):
            expression = SAMPLE_CRONS[len(str(expression)) % len(SAMPLE_CRONS)]
        valid = {"cron": expression}
        if isinstance(details.get("timezone"), str) and details["timezone"] in available_timezones():
            valid["timezone"] = details["timezone"]
        return valid
    return details


def _valid_trigger_body(body: dict[str, Any], stored_type: str | None) -> dict[str, Any]:
    at = now()
    body = dict(body)
    kind = body.get("type", stored_type)
    if kind == "scheduled":
        if "schedule_details" in body or stored_type != "scheduled":
            body["schedule_details"] = _valid_schedule(body.get("schedule_details"), at)
    elif kind == "api" and ("schedule_details" in body or stored_type == "scheduled"):
        body["schedule_details"] = None
    if body.get("expires_at") is not None:
        try:
            begins = _schedule_begins(body.get("schedule_details"), at)
            body["expires_at"] = _later(body["expires_at"], begins + timedelta(days=400))
        except OverflowError:
            body["expires_at"] = None
    if isinstance(body.get("target"), dict):
        body["target"] = _valid_target(body["target"])
    return body


def _valid_target(target: dict[str, Any]) -> dict[str, Any]:
    """A header map's keys have no schema in OpenAPI 3.0 (no ``propertyNames``), and "a URL
    that resolves to a public address" is no JSON Schema rule: keep the header names that are
    HTTP tokens (and not set by Sigwise), and aim a refused URL at a public example host."""
    from deliveries.targets import FORBIDDEN_HEADERS, TargetInvalid, target_validate

    target = dict(target)
    headers = target.get("headers")
    if isinstance(headers, dict):
        target["headers"] = {
            name: value
            for name, value in headers.items()
            if re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}", name) and name.lower() not in FORBIDDEN_HEADERS
        }
    try:
        target_validate(values=target)
    except TargetInvalid as invalid:
        if "url" in invalid.errors:
            target["url"] = "https://hooks.example.com/fuzz"
    return target


def _without_nul(value: Any) -> Any:
    """PostgreSQL cannot store U+0000 in text or jsonb, so the API refuses it anywhere in a body;
    JSON Schema has no way to say "no string, at any depth, contains U+0000"."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _not_blank(value: Any) -> Any:
    """DRF trims surrounding whitespace from strings, so a whitespace-only string is blank
    (refused as "may not be blank") though the schema's ``minLength: 1`` allows it."""
    if isinstance(value, str) and value and not value.strip():
        return "x" + value
    return value


def _meets_the_unwritten_rules(case: schemathesis.Case) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if case.operation.path.startswith("/api/v1/auth/me") and case.method.upper() == "DELETE":
        # The account is made again after the case. The schema cannot mark a DELETE's body
        # required, so a case may come without one: it is given one.
        case.body = {"password": FUZZ_PASSWORD}
        case.media_type = "application/json"
        return
    if not isinstance(case.body, dict):
        return
    case.body = {key: _not_blank(value) for key, value in _without_nul(case.body).items()}
    path, method = case.operation.path, case.method.upper()
    if path.startswith("/api/v1/triggers") and method in ("POST", "PUT", "PATCH") and not path.endswith("fire/"):
        stand_in = (case.path_parameters or {}).get("id")
        stored = {REAL_API_TRIGGER: "api", REAL_SCHEDULED_TRIGGER: "scheduled"}.get(stand_in)
        if method == "PUT":
            stored = None  # a replacement: nothing stored carries over
        case.body = _valid_trigger_body(case.body, stored)
    elif path.startswith("/api/v1/schedules/preview"):
        # The same rules as a scheduled trigger's create, and a zone to show the firings in.
        body = _valid_trigger_body({**case.body, "type": "scheduled"}, None)
        del body["type"]
        if "timezone" in body and body["timezone"] not in available_timezones():
            del body["timezone"]
        case.body = body
    elif path.startswith("/api/v1/auth/register"):
        body = dict(case.body)
        if isinstance(body.get("password"), str):
            body["password"] = body["password"][: 128 - len(STRONG_PASSWORD_SUFFIX)] + STRONG_PASSWORD_SUFFIX
        if "timezone" in body and body["timezone"] not in available_timezones():
            del body["timezone"]
        case.body = body
    elif path.startswith("/api/v1/api-keys") and method == "POST":
        # A trigger limit must name one of the user's triggers, on a fire key.
        case.body = {key: value for key, value in case.body.items() if key != "trigger"}
    elif path.startswith("/api/v1/auth/password"):
        body = {**case.body, "current_password": FUZZ_PASSWORD}
        if isinstance(body.get("new_password"), str):
            body["new_password"] = body["new_password"][: 128 - len(STRONG_PASSWORD_SUFFIX)] + STRONG_PASSWORD_SUFFIX
        case.body = body


def _signed_in_again(context: schemathesis.HookContext, case: Any, response: Any, results: list[Any]) -> None:
    """A password change or "sign out everywhere" that succeeded revoked the fuzz user's
    token; after each case the password and a valid token are back for the next. (A hook,
    so the test's own body, from which Hypothesis derives its seed, is unchanged.)"""
    User.objects.filter(email="fuzzer@example.com").update(password=make_password(FUZZ_PASSWORD), token_generation=0)


def _count_checks(context: schemathesis.HookContext, case: Any, response: Any, results: list[Any]) -> None:
    for result in results:
        CHECKS[result.name] += 1
        if result.failure is not None:
            FAILED_CHECKS[result.name] += 1


class FuzzUser:
    """The user the fuzzer acts as, with one object of each kind to aim path ids at."""

    def __init__(self) -> None:
        self.user = User.objects.create_user(email="fuzzer@example.com", password=FUZZ_PASSWORD)
        self.token = str(RefreshToken.for_user(self.user).access_token)
        self.objects: dict[str, str] = {}

    def restore(self) -> None:
        """Make the account again after a case deleted it (DELETE /auth/me)."""
        if not User.objects.filter(pk=self.user.pk).exists():
            self.__init__()

    def real_id(self, stand_in: str) -> str:
        """The id of a live object standing for ``stand_in``, made again if a case deleted it."""
        current = self.objects.get(stand_in)
        if stand_in == REAL_EVENT:
            if current is None or not EventLog.objects.filter(pk=current).exists():
                self.objects[stand_in] = str(self._event().id)
        else:
            wanted = "api" if stand_in == REAL_API_TRIGGER else "scheduled"
            # A case may have deleted it, or replaced it (PUT) with the other type.
            if current is None or not Trigger.objects.filter(pk=current, type=wanted).exists():
                self.objects[stand_in] = str(self._trigger(api=wanted == "api").id)
        return self.objects[stand_in]

    def _trigger(self, *, api: bool) -> Trigger:
        if api:
            values = {"name": "fuzz api trigger", "type": "api", "api_payload": {"from": "fuzz"}}
        else:
            values = {"name": "fuzz scheduled", "type": "scheduled", "schedule_details": {"interval_seconds": 3600}}
        return trigger_create(owner=self.user, values=values)

    def _event(self) -> EventLog:
        trigger = Trigger.objects.get(pk=self.real_id(REAL_API_TRIGGER))
        if not trigger.enabled:
            trigger.enabled = True
            trigger.save(update_fields=["enabled"])
        return trigger_fire(trigger=trigger, payload={"from": "fuzz"}).event


@pytest.fixture
def fuzz_user(transactional_db) -> Any:
    # The WSGI handler closes "old" connections at each request's start and end; inside a
    # test that would drop the test's own connection. Django's test client disconnects
    # the same receivers for the same reason.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield FuzzUser()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _load_schema() -> schemathesis.BaseSchema:
    """The schema exactly as /api/schema/ serves it, fetched through the WSGI app at collection.

    Collection may not touch the database, and the anonymous-rate throttle keeps its
    counters in the (database) cache, so that one request uses an in-memory cache.
    """
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        loaded = schemathesis.openapi.from_wsgi("/api/schema/", application)
    loaded.hook("flatmap_path_parameters")(_sometimes_a_real_object)
    loaded.hook("after_validate")(_count_checks)
    loaded.hook("after_validate")(_signed_in_again)
    return loaded


schema = _load_schema()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # The user and their objects are meant to outlive each case (a case may delete a trigger;
    # the next one sees that), so a function-scoped fixture shared by the examples is intended.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_every_operation_conforms_to_the_schema(case: schemathesis.Case, fuzz_user: FuzzUser) -> None:
    # Throttle counters and lockouts are per client, and every case here is the same client;
    # each case starts fresh so what is checked is the endpoint, not the rate limiter.
    cache.clear()
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()
    # Applied here, not in a generation hook, so that every phase's cases (examples, coverage,
    # fuzzing) get it and a failure report shows the request exactly as sent.
    _meets_the_unwritten_rules(case)
    stand_in = (case.path_parameters or {}).get("id")
    if stand_in in (REAL_API_TRIGGER, REAL_SCHEDULED_TRIGGER, REAL_EVENT) and not (
        case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    ):
        case.path_parameters = {**case.path_parameters, "id": fuzz_user.real_id(stand_in)}
    if case.operation.path.startswith("/api/v1/auth/register") and isinstance(case.body, dict):
        email = case.body.get("email")
        if isinstance(email, str) and "\x00" not in email:
            # An address is registered once; a repeat is a (documented) 400, not what this case tests.
            User.objects.filter(email=User.objects.normalize_email(email)).exclude(pk=fuzz_user.user.pk).delete()
    CASES[case.operation.label] += 1
    try:
        case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_user.token}"})
    finally:
        fuzz_user.restore()
