"""The database cache (used when REDIS_URL is unset): concurrent ``incr`` calls lose nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache, caches
from django.db import connection
from django.utils.timezone import now

from sigwise.cache import DatabaseCache

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6
INCREMENTS = 40


def test_the_default_cache_is_the_atomic_database_cache_without_redis(settings) -> None:
    if settings.REDIS_URL:
        pytest.skip("REDIS_URL is set: the cache is Redis, whose INCRBY is atomic")
    assert isinstance(caches["default"], DatabaseCache)


def test_concurrent_increments_of_one_counter_all_count() -> None:
    cache.set("counter", 0, 60)
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def add() -> None:
        try:
            start.wait()
            for _ in range(INCREMENTS):
                cache.incr("counter", 1)
        except BaseException as error:  # surfaced below, with the count
            failures.append(error)
        finally:
            connection.close()  # each thread has its own connection

    workers = [threading.Thread(target=add) for _ in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert cache.get("counter") == THREADS * INCREMENTS


def test_incr_and_decr_return_the_new_value_and_keep_the_expiry() -> None:
    cache.set("counter", 5, 60)
    assert cache.incr("counter", 10) == 15
    assert cache.decr("counter", 3) == 12
    assert cache.get("counter") == 12
    with time_machine.travel(now() + timedelta(seconds=61)):
        assert cache.get("counter") is None  # the increments did not extend its life


def test_incr_of_a_missing_or_expired_key_raises_value_error_as_django_does() -> None:
    with pytest.raises(ValueError, match="not found"):
        cache.incr("never-set")
    cache.set("short-lived", 1, 1)
    with time_machine.travel(now() + timedelta(seconds=5)), pytest.raises(ValueError, match="not found"):
        cache.incr("short-lived")
