"""API rate limits: DRF's ``anon`` and ``user`` rates, counted per fixed window in the shared cache.

DRF's ``SimpleRateThrottle`` keeps, per client, the list of every request time in the
window and rewrites that whole list in the cache on each request: at the user rate of
100,000/hour the list grows to tens of thousands of entries, so each call pickles,
writes and reads back a list that grows with the traffic (the fire benchmark
collapsed on it). Here a client has one counter per window, and each process adds
its requests to that counter in batches: it counts locally and writes the sum to the
cache (one ``incr``) after ``batch`` requests or ``FLUSH_SECONDS``, whichever comes
first. A batch is 1/1000 of the limit (at least 1), so a small limit such as 60/minute
is counted exactly, request by request, and a large one overshoots by at most one
batch per worker process (0.1 % of the limit each). The price is
the usual one of fixed windows: a client can spend a full allowance at the end of one
window and another at the start of the next.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

FLUSH_SECONDS = 0.25


class _Window:
    """What this process knows of one client's counter in one window."""

    __slots__ = ("ends", "flushed_at", "pending", "shared")

    def __init__(self, now: float, ends: float) -> None:
        self.shared = 0  # the cache's count at our last write (every process's requests)
        self.pending = 0  # our requests not yet added to the cache
        self.flushed_at = now
        self.ends = ends


class FixedWindowRateThrottle(SimpleRateThrottle):
    """``SimpleRateThrottle``'s rates and cache keys, counted per fixed window."""

    _lock = threading.Lock()
    _windows: dict[str, _Window] = {}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        index = int(self.now // self.duration)
        self.window_ends = (index + 1) * self.duration
        key = f"{self.key}:{index}"
        batch = max(1, self.num_requests // 1000)
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                self._forget_ended_windows(self.now)
                window = self._windows[key] = _Window(self.now, self.window_ends)
            # With batches, refuse from what this process knows; without, the cache decides.
            if batch > 1 and window.shared + window.pending >= self.num_requests:
                return False
            window.pending += 1
            due = window.pending >= batch or self.now - window.flushed_at >= FLUSH_SECONDS
            if not due:
                return True
            delta, window.pending, window.flushed_at = window.pending, 0, self.now
        shared = self._add(key, delta)
        with self._lock:
            window.shared = shared
        # The request that completed the batch is refused if the other processes had
        # already used the allowance; the rest of the batch was let through (the bounded
        # overshoot described above).
        return shared <= self.num_requests

    def _add(self, key: str, delta: int) -> int:
        try:
            return self.cache.incr(key, delta)
        except ValueError:
            # The first write of this window; if another process added the key a moment
            # ago, add to it.
            if self.cache.add(key, delta, self.duration + 1):
                return delta
            return self.cache.incr(key, delta)

    @classmethod
    def _forget_ended_windows(cls, now: float) -> None:
        for ended in [key for key, window in cls._windows.items() if window.ends <= now]:
            del cls._windows[ended]

    def wait(self) -> float:
        return max(0.0, self.window_ends - self.now)


class UserFixedWindowThrottle(FixedWindowRateThrottle, UserRateThrottle):
    """The ``user`` rate, per authenticated user (per address for anonymous calls)."""


class AnonFixedWindowThrottle(FixedWindowRateThrottle, AnonRateThrottle):
    """The ``anon`` rate, per client address."""
