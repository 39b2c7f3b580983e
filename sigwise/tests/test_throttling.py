"""The API's rate limits: fixed-window counters in the shared cache, written in batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIRequestFactory

from sigwise.throttling import FLUSH_SECONDS, FixedWindowRateThrottle, UserFixedWindowThrottle

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)


class _User:
    is_authenticated = True

    def __init__(self, pk: int) -> None:
        self.pk = pk


def _request(user_id: int):
    request = APIRequestFactory().post("/api/v1/triggers/x/fire")
    request.user = _User(user_id)
    return request


def _throttle(rate: str) -> UserFixedWindowThrottle:
    class Limited(UserFixedWindowThrottle):
        pass

    Limited.rate = rate
    return Limited()


@pytest.fixture(autouse=True)
def _forget_local_windows():
    FixedWindowRateThrottle._windows.clear()
    yield
    FixedWindowRateThrottle._windows.clear()


def test_a_small_limit_is_exact_and_the_next_window_starts_afresh() -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        allowed = [_throttle("3/minute").allow_request(_request(7), None) for _ in range(5)]
        assert allowed == [True, True, True, False, False]
        refused = _throttle("3/minute")
        refused.allow_request(_request(7), None)
        assert refused.wait() == pytest.approx(30)  # the rest of this minute
        assert _throttle("3/minute").allow_request(_request(8), None)  # another user has their own
        clock.move_to(NOW + timedelta(seconds=30))
        assert _throttle("3/minute").allow_request(_request(7), None)


def test_the_cache_holds_one_counter_however_many_requests() -> None:
    with time_machine.travel(NOW, tick=False):
        for _ in range(50):
            assert _throttle("1000/minute").allow_request(_request(7), None)
        window = int(NOW.timestamp() // 60)
        assert cache.get(f"throttle_user_7:{window}") == 50


def test_a_large_limit_is_written_in_batches_and_counts_every_process() -> None:
    with time_machine.travel(NOW, tick=False):
        key = f"throttle_user_7:{int(NOW.timestamp() // 3600)}"
        throttle = _throttle("10000/hour")  # a batch is 10 requests
        for _ in range(9):
            assert throttle.allow_request(_request(7), None)
        assert cache.get(key) is None  # nothing written yet
        assert throttle.allow_request(_request(7), None)
        assert cache.get(key) == 10
        # Other processes used up the rest of the hour: the next batch learns it and refuses.
        cache.incr(key, 9990)
        answers = [throttle.allow_request(_request(7), None) for _ in range(20)]
        assert answers[:9] == [True] * 9  # at most one batch past the limit
        assert answers[9:] == [False] * 11


def test_a_quiet_process_writes_its_count_after_a_quarter_second() -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        key = f"throttle_user_7:{int(NOW.timestamp() // 3600)}"
        throttle = _throttle("10000/hour")
        assert throttle.allow_request(_request(7), None)
        assert cache.get(key) is None
        clock.move_to(NOW + timedelta(seconds=FLUSH_SECONDS))
        assert throttle.allow_request(_request(7), None)
        assert cache.get(key) == 2


def test_the_api_answers_429_with_retry_after_past_the_user_rate(owner, monkeypatch) -> None:
    from tests.support import bearer_client

    monkeypatch.setitem(UserFixedWindowThrottle.THROTTLE_RATES, "user", "2/minute")
    with time_machine.travel(NOW, tick=False):
        api = bearer_client(owner)
        statuses = [api.get("/api/v1/triggers").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = api.get("/api/v1/triggers")
        assert int(refused["Retry-After"]) == 30
        assert "detail" in refused.json()
