"""Re-attempts of access requests whose handling failed, with per-request backoff.

The Go plugin drops a failed event: the request is only looked at again when Teleport sends its
next event, which for a request nobody touches any more may be never (an incident that was never
created, a resolution that never reached PagerDuty). tpd remembers each failed request and hands
it back to the daemon after a delay that doubles with every consecutive failure (2 s, 4 s, 8 s,
... at most 5 minutes, each shortened by up to half at random so a burst of failures does not
retry in lockstep). Any successful handling of the request resets its count. Because the policy
is state-based, the daemon re-handles the newest state it knows; it does not replay the event.

A second kind of timer, `recheck`, asks to look at a request again later without counting a
failure (used to give another replica time to finish a resolution it has claimed).
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
from collections.abc import Callable

import attrs

__all__ = ["RetryScheduler", "retry_delay"]

logger = logging.getLogger(__name__)


def retry_delay(attempt: int, *, base: float, cap: float, random_value: float) -> float:
    """The wait before re-attempt number `attempt` (1 for the first): `base * 2**(attempt-1)`,
    capped, then shortened by up to half (`random_value` in [0, 1))."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt!r}")
    full = min(cap, base * 2.0 ** min(attempt - 1, 60))
    return full / 2 + full / 2 * random_value


@attrs.define
class _Timer:
    handle: asyncio.TimerHandle
    when: float
    failure: bool


class RetryScheduler:
    """Per-request timers that call `fire(request_id)` when a re-attempt is due.

    Runs on the event loop that is current when a timer is first set. `close()` cancels every
    timer; nothing fires afterwards.
    """

    def __init__(
        self,
        fire: Callable[[str], object],
        *,
        base: float = 2.0,
        cap: float = 300.0,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self._fire = fire
        self._base = base
        self._cap = cap
        self._random = random
        self._attempts: dict[str, int] = {}
        self._timers: dict[str, _Timer] = {}
        self._closed = False

    def attempts(self, request_id: str) -> int:
        """Consecutive failures of this request so far."""
        return self._attempts.get(request_id, 0)

    @property
    def scheduled(self) -> frozenset[str]:
        """Requests with a timer set."""
        return frozenset(self._timers)

    def failed(self, request_id: str) -> tuple[int, float]:
        """Count a failure and set the re-attempt timer; returns (attempt, delay)."""
        attempt = self._attempts.get(request_id, 0) + 1
        self._attempts[request_id] = attempt
        delay = retry_delay(attempt, base=self._base, cap=self._cap, random_value=self._random())
        self._set(request_id, delay, failure=True)
        return attempt, delay

    def recheck(self, request_id: str, delay: float) -> None:
        """Look at the request again after `delay` seconds (not counted as a failure)."""
        self._set(request_id, delay, failure=False)

    def succeeded(self, request_id: str) -> None:
        """The request was handled without error: reset its count and drop a failure timer (a
        recheck stays)."""
        self._attempts.pop(request_id, None)
        timer = self._timers.get(request_id)
        if timer is not None and timer.failure:
            timer.handle.cancel()
            del self._timers[request_id]

    def forget(self, request_id: str) -> None:
        """Drop everything about the request."""
        self._attempts.pop(request_id, None)
        timer = self._timers.pop(request_id, None)
        if timer is not None:
            timer.handle.cancel()

    def close(self) -> None:
        self._closed = True
        for timer in self._timers.values():
            timer.handle.cancel()
        self._timers.clear()

    def _set(self, request_id: str, delay: float, *, failure: bool) -> None:
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + max(0.0, delay)
        existing = self._timers.get(request_id)
        if existing is not None:
            if existing.when <= when:
                # The earlier timer re-handles the request; that handling sets a new one if
                # still needed.
                existing.failure = existing.failure or failure
                return
            existing.handle.cancel()
        handle = loop.call_at(when, self._due, request_id)
        self._timers[request_id] = _Timer(handle=handle, when=when, failure=failure)

    def _due(self, request_id: str) -> None:
        self._timers.pop(request_id, None)
        if self._closed:
            return
        try:
            self._fire(request_id)
        except Exception:
            logger.exception("Re-attempting request %s failed", request_id)
