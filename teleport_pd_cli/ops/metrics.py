"""tpd's Prometheus metrics: the families, counted from the daemon's events, on prometheus_client.

`Metrics(daemon)` builds a `prometheus_client.CollectorRegistry` of its own (never the global
default, so nothing else in the process mixes in), registers tpd's families and
prometheus_client's process collector in it, and subscribes to the daemon's events: every event
is counted here and nowhere else. The state gauges (in flight, queued, watch stream connected,
PagerDuty reachable, ready) are read from the daemon when scraped. `render()` is the text
exposition format 0.0.4. docs/operations.md lists the families; a test compares that list with
what `tpd run` serves.

`DaemonView` is all of the daemon that ops reads; `teleport_pd_cli.daemon.Daemon` is one.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric

from pagerduty_client import CallAttempt, CallRetry
from teleport_access import DispatchOutcome
from teleport_pd_cli._version import __version__
from teleport_pd_cli.daemon.events import (
    ApprovalOutcome,
    DaemonEvent,
    EventHandled,
    IncidentCreated,
    IncidentResolved,
    NotesPosted,
    RetryScheduled,
    RuleEvaluationFailed,
    WatcherConnected,
)
from teleport_pd_cli.daemon.health import Health

__all__ = ["CONTENT_TYPE", "HANDLER_BUCKETS", "PAGERDUTY_BUCKETS", "DaemonView", "Metrics"]

#: The Content-Type of the text exposition format `render()` writes.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
#: Handler latency buckets (seconds): one PagerDuty round trip is ~0.1-0.5 s, a handler makes a
#: few, and [tpd] handler_timeout (30 s by default) bounds them.
HANDLER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PAGERDUTY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Results of handled events that never ran a handler: counted, not timed.
_NOT_RUN = frozenset({DispatchOutcome.COALESCED.value, DispatchOutcome.DROPPED.value})


class DaemonView(Protocol):
    """What ops reads from the daemon."""

    @property
    def health(self) -> Health: ...

    @property
    def in_flight(self) -> int: ...

    @property
    def queued(self) -> int: ...

    @property
    def rules_cached(self) -> int: ...

    def subscribe(self, listener: Callable[[DaemonEvent], object]) -> Callable[[], None]: ...


class _WithoutCreated:
    """The registry's families without their `_created` samples (when each series began), which
    tpd does not document and which would double the series. Filtering at exposition leaves
    prometheus_client's process-wide switch (`disable_created_metrics`) alone."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():  # fresh objects on every collect
            created = family.name + "_created"
            family.samples = [sample for sample in family.samples if sample.name != created]
            yield family


class Metrics:
    """tpd's metric families for `daemon`; `close()` stops counting its events."""

    def __init__(self, daemon: DaemonView) -> None:
        self.daemon = daemon
        self.registry = r = CollectorRegistry()
        self._exposed = _WithoutCreated(r)
        # prometheus_client names a counter's samples `<name>_total` whether or not the name
        # given ends with it; the full names are written here so they can be searched for.
        self.events_handled = Counter(
            "tpd_events_handled_total",
            "Access-request events the daemon finished with, by operation (put, delete) and "
            "result (ok, error, timeout, cancelled, coalesced, dropped).",
            ("op", "result"),
            registry=r,
        )
        self.handler_duration = Histogram(
            "tpd_handler_duration_seconds",
            "Time the event handler ran (every PagerDuty and Teleport call and retry), by "
            "operation.",
            ("op",),
            buckets=HANDLER_BUCKETS,
            registry=r,
        )
        _gauge(r, "tpd_events_in_flight", "Event handlers running now.", lambda: daemon.in_flight)
        _gauge(
            r,
            "tpd_events_queued",
            "Events waiting behind an earlier event of the same request.",
            lambda: daemon.queued,
        )
        self.event_retries = Counter(
            "tpd_event_retries_total",
            "Failed access requests scheduled to be handled again (with backoff).",
            registry=r,
        )
        self.pagerduty_requests = Counter(
            "tpd_pagerduty_requests_total",
            "HTTP attempts to the PagerDuty API, by method, endpoint (the path template) and "
            "status (the HTTP status code, or no_answer after a timeout or connection failure).",
            ("method", "endpoint", "status"),
            registry=r,
        )
        self.pagerduty_duration = Histogram(
            "tpd_pagerduty_request_duration_seconds",
            "Duration of HTTP attempts to the PagerDuty API, by method and endpoint.",
            ("method", "endpoint"),
            buckets=PAGERDUTY_BUCKETS,
            registry=r,
        )
        self.pagerduty_retries = Counter(
            "tpd_pagerduty_retries_total",
            "PagerDuty requests repeated after a failed attempt, by method and endpoint.",
            ("method", "endpoint"),
            registry=r,
        )
        self.pagerduty_rate_limited = Counter(
            "tpd_pagerduty_rate_limited_total",
            "429 Too Many Requests answers from PagerDuty, by method and endpoint.",
            ("method", "endpoint"),
            registry=r,
        )
        _gauge(
            r,
            "tpd_pagerduty_reachable",
            "1 when PagerDuty's latest answer (to tpd or to its health check) was usable.",
            lambda: daemon.health.pagerduty_reachable is True,
        )
        _gauge(
            r,
            "tpd_teleport_watch_connected",
            "1 while the Teleport access-request watch stream is open and initialised.",
            lambda: daemon.health.watch_connected,
        )
        self.watch_reconnects = Counter(
            "tpd_teleport_watch_reconnects_total",
            "Reconnections of the Teleport watch stream after a failure or its end.",
            registry=r,
        )
        self.incidents_created = Counter(
            "tpd_incidents_created_total",
            "PagerDuty incidents created for access requests.",
            registry=r,
        )
        self.requests_routed = Counter(
            "tpd_requests_routed_total",
            "Incidents opened (or adopted), by what chose their PagerDuty service: rule (an "
            "Access Monitoring Rule) or annotation.",
            ("route",),
            registry=r,
        )
        _gauge(
            r,
            "tpd_access_monitoring_rules",
            "Access Monitoring Rules for PagerDuty about access requests that tpd follows now.",
            lambda: daemon.rules_cached,
        )
        self.rule_errors = Counter(
            "tpd_rule_evaluation_errors_total",
            "Access Monitoring Rules that could not be evaluated for a request (counted as no "
            "match), by kind: parse, schedule, evaluation.",
            ("kind",),
            registry=r,
        )
        self.notes_posted = Counter(
            "tpd_notes_posted_total", "Review notes posted to PagerDuty incidents.", registry=r
        )
        self.resolutions = Counter(
            "tpd_resolutions_total",
            "PagerDuty incidents resolved, by the request's resolution (approved, denied, "
            "expired, promoted).",
            ("resolution",),
            registry=r,
        )
        self.approvals = Counter(
            "tpd_approvals_submitted_total",
            "Approving reviews submitted for requesters on call.",
            registry=r,
        )
        self.approval_attempts = Counter(
            "tpd_approval_attempts_total",
            "Approvals tpd tried, by result (approved, already_reviewed, refused, failed).",
            ("result",),
            registry=r,
        )
        _gauge(
            r, "tpd_ready", "1 when /readyz answers 200.", lambda: daemon.health.readiness().ready
        )
        Info(
            "tpd_build", "Always 1; the labels give tpd's and Python's versions.", registry=r
        ).info({"version": __version__, "python": platform.python_version()})
        ProcessCollector(registry=r)

        for route in ("rule", "annotation"):
            self.requests_routed.labels(route)
        for kind in ("parse", "schedule", "evaluation"):
            self.rule_errors.labels(kind)
        for op in ("put", "delete"):
            self.handler_duration.labels(op)
            for outcome in DispatchOutcome:
                self.events_handled.labels(op, outcome.value)
        self._feeds: dict[type[Any], Callable[[Any], None]] = {
            EventHandled: self._handled,
            CallAttempt: self._attempt,
            CallRetry: self._retry,
            WatcherConnected: self._connected,
            IncidentCreated: self._incident,
            RuleEvaluationFailed: lambda event: self.rule_errors.labels(event.kind).inc(),
            NotesPosted: lambda event: self.notes_posted.inc(event.count),
            IncidentResolved: lambda event: self.resolutions.labels(event.resolution).inc(),
            ApprovalOutcome: self._approval,
            RetryScheduled: lambda _: self.event_retries.inc(),
        }
        self._unsubscribe = daemon.subscribe(self.on_event)

    def on_event(self, event: DaemonEvent) -> None:
        """Count one daemon event (also usable as a PagerDuty client's `observer`)."""
        feed = self._feeds.get(type(event))
        if feed is not None:
            feed(event)

    def close(self) -> None:
        """Stop counting the daemon's events (the families keep their values)."""
        self._unsubscribe()

    def render(self) -> bytes:
        """Every family in the text exposition format 0.0.4 (`CONTENT_TYPE`)."""
        return generate_latest(self._exposed)

    # -- one feed per kind of event ------------------------------------------------------------

    def _handled(self, event: EventHandled) -> None:
        self.events_handled.labels(event.op, event.result).inc()
        if event.result not in _NOT_RUN:
            self.handler_duration.labels(event.op).observe(event.duration)

    def _attempt(self, event: CallAttempt) -> None:
        status = "no_answer" if event.status is None else str(event.status)
        self.pagerduty_requests.labels(event.method, event.endpoint, status).inc()
        self.pagerduty_duration.labels(event.method, event.endpoint).observe(event.elapsed)
        if event.status == 429:
            self.pagerduty_rate_limited.labels(event.method, event.endpoint).inc()

    def _retry(self, event: CallRetry) -> None:
        self.pagerduty_retries.labels(event.method, event.endpoint).inc()

    def _incident(self, event: IncidentCreated) -> None:
        self.incidents_created.inc()
        self.requests_routed.labels(event.route).inc()

    def _connected(self, event: WatcherConnected) -> None:
        if event.connections > 1:
            self.watch_reconnects.inc()

    def _approval(self, event: ApprovalOutcome) -> None:
        self.approval_attempts.labels(event.result).inc()
        if event.result == "approved":
            self.approvals.inc()


def _gauge(
    registry: CollectorRegistry, name: str, documentation: str, read: Callable[[], float]
) -> None:
    """A gauge whose value is `read()` at scrape time."""
    Gauge(name, documentation, registry=registry).set_function(lambda: float(read()))
