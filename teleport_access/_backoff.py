"""Decorrelated-jitter backoff: how long to wait before the next retry.

The "decorrelated jitter" schedule (AWS Architecture Blog, "Exponential Backoff and Jitter"):

    delay = min(cap, uniform(base, previous_delay * multiplier)),   previous_delay starts at base

Delays grow roughly geometrically but are spread out, so many clients that lost the same server
do not come back in lock-step. The Go plugins use it with base 20 ms, cap 5 s, multiplier 3 to
reconnect the watcher; the plugin-data compare-and-swap helper uses it between attempts.

Pure: this module only computes delays. The caller sleeps (with its own, injectable `sleep`), and
calls `reset()` after a success so the next failure starts from `base` again.
"""

from __future__ import annotations

import random
from typing import Protocol

__all__ = ["Backoff", "DecorrelatedJitter"]


class Backoff(Protocol):
    """Anything that yields retry delays; `DecorrelatedJitter` is the implementation we ship."""

    def next_delay(self) -> float:
        """The delay, in seconds, to wait before the next attempt."""
        ...

    def reset(self) -> None:
        """Forget past failures: the next delay starts from the beginning of the schedule."""
        ...


class DecorrelatedJitter:
    """Decorrelated-jitter delays between `base` and `cap` seconds.

    >>> backoff = DecorrelatedJitter(0.02, 5.0, rng=random.Random(1))
    >>> [round(backoff.next_delay(), 4) for _ in range(4)]
    [0.0254, 0.0676, 0.1595, 0.137]

    Pass a seeded `random.Random` as `rng` for reproducible sequences (tests, simulations); by
    default each instance has its own generator seeded from the OS.
    """

    __slots__ = ("_previous", "_rng", "attempts", "base", "cap", "multiplier")

    def __init__(
        self,
        base: float,
        cap: float,
        *,
        multiplier: float = 3.0,
        rng: random.Random | None = None,
    ) -> None:
        if not base > 0:
            raise ValueError(f"backoff base must be positive, got {base!r}")
        if not cap >= base:
            raise ValueError(f"backoff cap ({cap!r}) must be at least its base ({base!r})")
        if not multiplier >= 1:
            raise ValueError(f"backoff multiplier must be at least 1, got {multiplier!r}")
        self.base = float(base)
        self.cap = float(cap)
        self.multiplier = float(multiplier)
        self._rng = rng if rng is not None else random.Random()
        self._previous = self.base
        #: Delays handed out since construction or the last `reset()`.
        self.attempts = 0

    def next_delay(self) -> float:
        # previous >= base and multiplier >= 1, so the range is never empty or inverted.
        delay = min(self.cap, self._rng.uniform(self.base, self._previous * self.multiplier))
        self._previous = delay
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self._previous = self.base
        self.attempts = 0

    def __repr__(self) -> str:
        return (
            f"DecorrelatedJitter(base={self.base!r}, cap={self.cap!r}, "
            f"multiplier={self.multiplier!r}, attempts={self.attempts})"
        )
