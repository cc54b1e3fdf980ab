"""What the daemon tells the outside world: one typed event for everything worth observing.

The daemon reports through one `Observer`; listeners (`Observer.subscribe`, `Daemon.subscribe`)
receive each `DaemonEvent` as it happens. What is counted, is counted by a listener, once:
the metrics (`teleport_pd_cli.ops.metrics`) count every event, `health.Health` follows the
watch stream and PagerDuty's answers. A listener runs synchronously on the event loop, so it
must be quick; an exception in one is logged and ignored.

PagerDuty calls and retries come from the client's own hook (`AsyncPagerDutyClient(observer=
Observer.on_pagerduty)`) and are passed on unchanged as `pagerduty_client.CallAttempt` and
`CallRetry` events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeAlias

import attrs

from pagerduty_client import CallAttempt, CallRetry

__all__ = [
    "ApprovalOutcome",
    "CallAttempt",
    "CallRetry",
    "DaemonEvent",
    "EventHandled",
    "IncidentCreated",
    "IncidentResolved",
    "NotesPosted",
    "Observer",
    "RetryScheduled",
    "RuleEvaluationFailed",
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
    #: What chose the service: "rule" (an Access Monitoring Rule) or "annotation".
    route: str = "annotation"


@attrs.frozen(kw_only=True)
class RuleEvaluationFailed:
    """An Access Monitoring Rule could not be evaluated for a request (it counted as no match);
    `kind` is parse, schedule or evaluation."""

    request_id: str
    rule: str
    kind: str


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
    | RuleEvaluationFailed
)


class Observer:
    """Hands each `DaemonEvent` to the subscribed listeners, in the order they subscribed."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[DaemonEvent], object]] = []

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
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("A daemon event listener failed")
