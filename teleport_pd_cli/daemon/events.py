"""What the daemon tells the outside world: counters, typed events for listeners, and health.

The daemon reports everything worth measuring through one `Observer`:

* `DaemonStats`: running totals (events handled by op and result, PagerDuty calls by endpoint
  and status, retries, 429s, reconnects, approvals, handler time), cheap to read at any moment,
  e.g. by a Prometheus collector at scrape time;
* listeners (`Observer.subscribe`) receive each `DaemonEvent` as it happens, e.g. to feed a
  latency histogram. A listener runs synchronously on the event loop, so it must be quick; an
  exception in one is logged and ignored.

PagerDuty calls and retries come from the client's own hook (`AsyncPagerDutyClient(observer=
Observer.on_pagerduty)`) and are passed on unchanged as `pagerduty_client.CallAttempt` and
`CallRetry` events.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import TypeAlias

import attrs

from pagerduty_client import CallAttempt, CallRetry

__all__ = [
    "ApprovalOutcome",
    "CallAttempt",
    "CallRetry",
    "DaemonEvent",
    "DaemonStats",
    "EventHandled",
    "Health",
    "IncidentCreated",
    "IncidentResolved",
    "NotesPosted",
    "Observer",
    "RetryScheduled",
    "WatcherConnected",
    "WatcherDisconnected",
]

logger = logging.getLogger(__name__)


# -- events ---------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EventHandled:
    """One access-request event finished. `result` is ok, error, timeout, cancelled, coalesced
    or dropped; `retry` is true for a re-attempt the daemon scheduled after a failure."""

    request_id: str
    op: str
    result: str
    duration: float
    retry: bool = False


@attrs.frozen(kw_only=True)
class WatcherConnected:
    """A watch stream sent INIT; `connections` counts them (1 for the first)."""

    connections: int


@attrs.frozen(kw_only=True)
class WatcherDisconnected:
    """A connected watch stream ended; `error` says why (None: the daemon stopped it)."""

    error: str | None


@attrs.frozen(kw_only=True)
class ApprovalOutcome:
    """The end of an approval attempt: approved, already_reviewed, refused (Teleport said no)
    or failed (an error; retried)."""

    request_id: str
    result: str


@attrs.frozen(kw_only=True)
class IncidentCreated:
    """tpd opened a PagerDuty incident (`adopted`: found one an earlier run had opened)."""

    request_id: str
    incident_id: str
    service_name: str
    adopted: bool = False


@attrs.frozen(kw_only=True)
class NotesPosted:
    """`count` review notes were posted to the request's incident."""

    request_id: str
    incident_id: str
    count: int


@attrs.frozen(kw_only=True)
class IncidentResolved:
    """tpd resolved the request's incident; `resolution` is approved, denied, expired or
    promoted."""

    request_id: str
    incident_id: str
    resolution: str


@attrs.frozen(kw_only=True)
class RetryScheduled:
    """A failed request will be handled again after `delay` seconds (attempt counts from 1)."""

    request_id: str
    attempt: int
    delay: float


DaemonEvent: TypeAlias = (
    EventHandled
    | CallAttempt
    | CallRetry
    | WatcherConnected
    | WatcherDisconnected
    | IncidentCreated
    | NotesPosted
    | IncidentResolved
    | ApprovalOutcome
    | RetryScheduled
)


# -- totals ---------------------------------------------------------------------------------------


@attrs.define
class DaemonStats:
    """Running totals since the daemon was created."""

    #: Events finished, by (op, result): `events["put", "ok"]`.
    events: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    #: HTTP attempts by (method, endpoint template, status); status "none" for no answer.
    pagerduty_calls: Counter[tuple[str, str, str]] = attrs.field(factory=Counter)
    #: Retries announced by the PagerDuty client, by (method, endpoint template).
    pagerduty_retries: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    #: PagerDuty answers with status 429.
    rate_limited: int = 0
    #: Watch streams that reached INIT, and those that ended.
    connections: int = 0
    disconnects: int = 0
    #: Approval attempts by result (approved, already_reviewed, refused, failed).
    approvals: Counter[str] = attrs.field(factory=Counter)
    #: Incidents opened (or adopted), review notes posted, incidents resolved by resolution.
    incidents_created: int = 0
    notes_posted: int = 0
    incidents_resolved: Counter[str] = attrs.field(factory=Counter)
    #: Re-attempts scheduled after failed handling.
    retries_scheduled: int = 0
    #: Total and count of handler durations (seconds), for an average.
    handler_seconds: float = 0.0
    handled: int = 0

    @property
    def reconnects(self) -> int:
        """Connections after the first one."""
        return max(0, self.connections - 1)


@attrs.frozen(kw_only=True)
class Health:
    """What a readiness probe needs. `pagerduty_reachable` is None before the first call."""

    ready: bool
    watcher_connected: bool
    pagerduty_reachable: bool | None
    stopping: bool

    @property
    def ok(self) -> bool:
        return (
            self.ready
            and self.watcher_connected
            and self.pagerduty_reachable is not False
            and not self.stopping
        )


class Observer:
    """Collects `DaemonEvent`s into `stats` and hands each to the subscribed listeners."""

    def __init__(self) -> None:
        self.stats = DaemonStats()
        self._listeners: list[Callable[[DaemonEvent], object]] = []
        #: The outcome of the latest PagerDuty attempt: True answered (< 500), False not.
        self.pagerduty_reachable: bool | None = None

    def subscribe(self, listener: Callable[[DaemonEvent], object]) -> Callable[[], None]:
        """Call `listener(event)` for every event from now on; returns an unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def on_pagerduty(self, event: CallAttempt | CallRetry) -> None:
        """`AsyncPagerDutyClient(observer=...)`."""
        self.emit(event)

    def emit(self, event: DaemonEvent) -> None:
        self._count(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("A daemon event listener failed")

    def _count(self, event: DaemonEvent) -> None:
        stats = self.stats
        if isinstance(event, EventHandled):
            stats.events[event.op, event.result] += 1
            if event.result not in ("coalesced", "dropped"):
                stats.handled += 1
                stats.handler_seconds += event.duration
        elif isinstance(event, CallAttempt):
            status = "none" if event.status is None else str(event.status)
            stats.pagerduty_calls[event.method, event.endpoint, status] += 1
            if event.status == 429:
                stats.rate_limited += 1
            # Up and willing to serve us: an answer that is neither a 5xx nor a refused key.
            self.pagerduty_reachable = event.status is not None and (
                event.status < 500 and event.status not in (401, 403)
            )
        elif isinstance(event, CallRetry):
            stats.pagerduty_retries[event.method, event.endpoint] += 1
        elif isinstance(event, IncidentCreated):
            stats.incidents_created += 1
        elif isinstance(event, NotesPosted):
            stats.notes_posted += event.count
        elif isinstance(event, IncidentResolved):
            stats.incidents_resolved[event.resolution] += 1
        elif isinstance(event, WatcherConnected):
            stats.connections += 1
        elif isinstance(event, WatcherDisconnected):
            stats.disconnects += 1
        elif isinstance(event, ApprovalOutcome):
            stats.approvals[event.result] += 1
        else:
            stats.retries_scheduled += 1
