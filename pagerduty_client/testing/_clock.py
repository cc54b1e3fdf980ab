"""`FakeClock`: manual time shared by a client and the fake, so tests assert waits exactly.

    clock = FakeClock()
    fake = FakePagerDuty(clock=clock.monotonic, now=clock.now)
    client = AsyncPagerDutyClient(..., clock=clock.monotonic, sleep=clock.sleep)

Time moves only when something sleeps on the clock (or `advance()` is called): a client waiting
40 s for a rate-limit window returns at once, with the fake's window really reset. Every sleep
is recorded in `sleeps`. Concurrent sleepers each advance the clock by their own delay (time
does not run in parallel here), which over-counts elapsed time but never under-counts it.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock"]


class FakeClock:
    def __init__(self, start: datetime = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock start must be timezone-aware")
        self._start = start
        self._elapsed = 0.0
        self._lock = threading.Lock()
        #: Every delay passed to `sleep` / `sleep_blocking`, in order.
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Seconds since the clock was made (a `time.monotonic` stand-in)."""
        with self._lock:
            return self._elapsed

    def now(self) -> datetime:
        """Wall time: `start` plus the elapsed seconds."""
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"time cannot go backwards ({seconds!r})")
        with self._lock:
            self._elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        """An `asyncio.sleep` stand-in: records, advances, and yields to other tasks once."""
        with self._lock:
            self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def sleep_blocking(self, seconds: float) -> None:
        """A `time.sleep` stand-in for the synchronous client."""
        with self._lock:
            self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now().isoformat()}, sleeps={len(self.sleeps)})"
