"""`FakeClock`: virtual time shared by a client and the fake, so tests assert waits exactly.

    clock = FakeClock()
    fake = FakePagerDuty(clock=clock.monotonic, now=clock.now)
    client = AsyncPagerDutyClient(..., clock=clock.monotonic, sleep=clock.sleep)

Time moves only when something sleeps on the clock (or `advance()` is called). An async sleeper
waits for its deadline (`now + delay`); once every task that can run has run (the event loop has
gone round a few times with nothing else to do), the clock jumps to the earliest deadline and
wakes that sleeper. Concurrent sleepers therefore overlap as they would in real time: ten tasks
each sleeping 6 s take 6 virtual seconds, not 60. A client waiting 40 s for a rate-limit window
returns at once, with the fake's window really reset. Every delay is recorded in `sleeps`.

Meant for in-process use (`FakePagerDuty.client()`): a task blocked on real I/O does not stop
the clock from jumping. `sleep_blocking` (for the synchronous client) simply advances.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock"]

#: Event-loop rounds without anything else to do before time may jump.
_IDLE_ROUNDS = 10


class FakeClock:
    def __init__(self, start: datetime = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock start must be timezone-aware")
        self._start = start
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._advancing = False
        #: Every delay passed to `sleep` / `sleep_blocking`, in call order.
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
        """Move time forward (sleepers whose deadline passes wake on their next loop round)."""
        if seconds < 0:
            raise ValueError(f"time cannot go backwards ({seconds!r})")
        with self._lock:
            self._elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        """An `asyncio.sleep` stand-in that waits in virtual time."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self.sleeps.append(seconds)
            deadline = self._elapsed + max(0.0, seconds)
            heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        self._schedule(loop)
        await future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._advancing:
            self._advancing = True
            loop.call_soon(self._step, loop, 0)

    def _step(self, loop: asyncio.AbstractEventLoop, rounds: int) -> None:
        # Go round the loop a few times first, so every runnable task reaches its own sleep
        # (or finishes) before time jumps.
        if rounds < _IDLE_ROUNDS:
            loop.call_soon(self._step, loop, rounds + 1)
            return
        self._advancing = False
        with self._lock:
            while self._sleepers and self._sleepers[0][2].done():  # cancelled sleepers
                heapq.heappop(self._sleepers)
            if not self._sleepers:
                return
            deadline = self._sleepers[0][0]
            self._elapsed = max(self._elapsed, deadline)
            woken = []
            while self._sleepers and self._sleepers[0][0] <= self._elapsed:
                woken.append(heapq.heappop(self._sleepers)[2])
            pending = bool(self._sleepers)
        for future in woken:
            if not future.done():
                future.set_result(None)
        if pending:
            self._schedule(loop)

    def sleep_blocking(self, seconds: float) -> None:
        """A `time.sleep` stand-in for the synchronous client: records and advances."""
        with self._lock:
            self.sleeps.append(seconds)
            self._elapsed += max(0.0, seconds)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now().isoformat()}, sleeps={len(self.sleeps)})"
