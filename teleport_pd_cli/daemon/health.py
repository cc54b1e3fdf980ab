"""The daemon's health: whether PagerDuty is reachable, and whether tpd is ready (the one place).

`Health` follows the daemon's events (`Daemon.subscribe(health.on_event)`, done by the daemon
itself): each PagerDuty attempt says whether PagerDuty is reachable, each watch stream that
connects or ends whether Teleport is. `readiness()` combines them with the daemon's own state
(start-up done, shutting down) into one answer with its reasons; `/readyz` serves it and the
`tpd_ready`, `tpd_pagerduty_reachable` and `tpd_teleport_watch_connected` gauges read it.

While tpd does not call PagerDuty itself, its reachability would go stale: `keep_checking`
(run by whoever serves readiness) calls a cheap PagerDuty endpoint after `interval` seconds
without news and records the result here too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import attrs

from pagerduty_client import CallAttempt
from teleport_pd_cli.daemon.events import DaemonEvent, WatcherConnected, WatcherDisconnected

__all__ = ["Health", "Readiness"]

logger = logging.getLogger(__name__)

#: Statuses that say PagerDuty is up but will not serve us: the key is wrong or lacks rights.
_REFUSED = frozenset({401, 403})


@attrs.frozen(kw_only=True)
class Readiness:
    """Whether tpd can do its work now, and if not, why (one short reason per problem)."""

    ready: bool
    reasons: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "ready" if self.ready else "not ready: " + "; ".join(self.reasons)


def _judge(attempt: CallAttempt) -> str | None:
    """Why PagerDuty's answer to `attempt` shows it unusable, or None when it is usable."""
    call = f"{attempt.method} {attempt.endpoint}"
    if attempt.status is None:
        return f"no answer from PagerDuty to {call}"
    if attempt.status >= 500:
        return f"PagerDuty answered {attempt.status} to {call}"
    if attempt.status in _REFUSED:
        return f"PagerDuty refused the API key ({attempt.status} to {call})"
    return None


class Health:
    """Readiness and PagerDuty's reachability. `started()` says whether start-up is done (the
    first catch-up listing was read), `stopping()` whether the daemon is shutting down; `clock`
    (monotonic seconds) times PagerDuty's latest answer."""

    def __init__(
        self,
        *,
        started: Callable[[], bool],
        stopping: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._started = started
        self._stopping = stopping
        self._clock = clock
        #: True while a watch stream is open and initialised.
        self.watch_connected = False
        self._watch_error: str | None = None
        #: Whether PagerDuty's latest answer was usable; None before the first.
        self.pagerduty_reachable: bool | None = None
        self._pagerduty_problem = "PagerDuty not reached yet"
        self._pagerduty_at: float | None = None

    def on_event(self, event: DaemonEvent) -> None:
        """A daemon event: PagerDuty attempts and the watch stream's ends and starts count."""
        if isinstance(event, CallAttempt):
            problem = _judge(event)
            self.record_pagerduty(problem is None, problem or "")
        elif isinstance(event, WatcherConnected):
            self.watch_connected = True
            self._watch_error = None
        elif isinstance(event, WatcherDisconnected):
            self.watch_connected = False
            self._watch_error = event.error

    def record_pagerduty(self, reachable: bool, problem: str = "") -> None:
        """PagerDuty's latest answer (or its absence); `problem` says what was wrong. A change
        of reachability is logged."""
        previous = self.pagerduty_reachable
        self.pagerduty_reachable = reachable
        self._pagerduty_problem = problem
        self._pagerduty_at = self._clock()
        if reachable and previous is False:
            logger.info("PagerDuty is reachable again")
        elif not reachable and previous is not False:
            logger.warning("PagerDuty is not reachable: %s", problem, extra={"error": problem})

    def pagerduty_idle(self) -> float | None:
        """Seconds since PagerDuty's latest answer or failure; None before the first."""
        if self._pagerduty_at is None:
            return None
        return self._clock() - self._pagerduty_at

    def readiness(self) -> Readiness:
        reasons: list[str] = []
        if self._stopping():
            reasons.append("shutting down")
        started = self._started()
        if not self.watch_connected:
            detail = f" (last error: {self._watch_error})" if self._watch_error else ""
            reasons.append(
                f"Teleport watch stream not connected{'' if started else ' yet'}{detail}"
            )
        elif not started:
            reasons.append("starting: listing the existing access requests")
        if self.pagerduty_reachable is not True:
            idle = self.pagerduty_idle()
            ago = "" if idle is None else f", {idle:.0f} s ago"
            reasons.append(f"{self._pagerduty_problem}{ago}")
        return Readiness(ready=not reasons, reasons=tuple(reasons))

    # -- checking PagerDuty while tpd does not call it ------------------------------------------

    async def check_pagerduty(
        self, check: Callable[[], Awaitable[object]], *, time_limit: float = 10.0
    ) -> None:
        """Call `check` (e.g. a client's `abilities`) once, within `time_limit` seconds, and
        record how it went. Whatever it raises is recorded, never raised."""
        try:
            async with asyncio.timeout(time_limit):
                await check()
        except TimeoutError:
            self.record_pagerduty(False, f"PagerDuty health check timed out after {time_limit:g} s")
        except Exception as exc:  # whatever it is, it must not end the checking
            self.record_pagerduty(False, f"PagerDuty health check failed: {exc}")
        else:
            self.record_pagerduty(True)

    async def keep_checking(
        self,
        check: Callable[[], Awaitable[object]],
        *,
        interval: float = 30.0,
        time_limit: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Until cancelled: `check_pagerduty` whenever PagerDuty has not been heard from for
        `interval` seconds (at once if never)."""
        while True:
            idle = self.pagerduty_idle()
            if idle is None or idle >= interval:
                await self.check_pagerduty(check, time_limit=time_limit)
                await sleep(interval)
            else:
                await sleep(interval - idle)
