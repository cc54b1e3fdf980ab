"""Client-side pacing: keep under a request rate so a burst queues instead of drawing 429s.

PagerDuty allows 960 requests per minute per API key (fewer on some operations: incident
creation, `GET /oncalls`). `Pacer` spaces requests with the generic cell rate algorithm (a token
bucket without a timer): at most `burst` requests go out back to back, after which they are spaced
`60 / requests_per_minute` seconds apart. It also honours a *hold*: when any request draws a 429
whose headers say when the window resets, every request waits for that moment, not only the one
that was refused.

Pure apart from a lock: `reserve(now)` says how long the caller must wait before sending, and
reserves the slot. The caller sleeps (with its own injected `sleep`). Thread-safe, so one pacer can
serve the synchronous client from many threads as well as the async client from many tasks.
"""

from __future__ import annotations

import threading

__all__ = ["Pacer"]


class Pacer:
    """Spaces requests to `requests_per_minute` (None: no pacing, holds only) with a `burst`."""

    __slots__ = ("_hold_until", "_interval", "_lock", "_tat", "_tolerance", "burst", "rate")

    def __init__(self, requests_per_minute: float | None = None, *, burst: int | None = None):
        if requests_per_minute is not None and not requests_per_minute > 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute!r}")
        self.rate = requests_per_minute
        if burst is None:  # one second's worth: smooth, yet a handful of calls go out at once
            burst = max(1, int((requests_per_minute or 60.0) / 60.0))
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self.burst = burst
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._tolerance = (burst - 1) * self._interval
        self._tat = float("-inf")  # theoretical arrival time of the next request
        self._hold_until = float("-inf")
        self._lock = threading.Lock()

    def reserve(self, now: float) -> float:
        """Reserve the next slot; return the seconds to wait before using it (0.0: go now)."""
        with self._lock:
            wait = max(0.0, self._hold_until - now)
            if self._interval:
                start = max(now + wait, self._tat - self._tolerance)
                self._tat = max(self._tat, start) + self._interval
                wait = start - now
            return wait

    def held(self, now: float) -> float:
        """Seconds left of the current hold (0.0: none). A caller that reserved its slot before
        a 429 set the hold checks this after its wait, so it does not draw a 429 of its own."""
        with self._lock:
            return max(0.0, self._hold_until - now)

    def hold(self, until: float) -> None:
        """Let no request start before `until` (a 429 said the window resets then)."""
        with self._lock:
            self._hold_until = max(self._hold_until, until)

    def __repr__(self) -> str:
        return f"Pacer(requests_per_minute={self.rate!r}, burst={self.burst!r})"
