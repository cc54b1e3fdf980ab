"""Prometheus metrics and the health endpoints of `tpd run` (`[metrics] listen`).

`Metrics` holds tpd's metric families and its readiness. `tpd run` feeds it from the daemon's
events and health (`start_daemon_metrics(daemon)`, called by `run_daemon`). The libraries know
nothing of it; any other program built on them can pass its bound methods as their hooks and let
it read their state::

    metrics = Metrics()
    watcher = AccessRequestWatcher(auth)
    metrics.track_watcher(watcher)                    # connected, reconnects (read at scrape time)
    dispatcher = Dispatcher(handle, on_outcome=metrics.on_outcome)
    metrics.track_dispatcher(dispatcher)              # in flight, queued
    pd = AsyncPagerDutyClient(key, observer=metrics.on_pagerduty_call)
    server = await start_metrics_server(config.metrics, metrics, pagerduty_probe=pd.abilities)
    ...
    metrics.incident_created()                        # and note_posted(), incident_resolved(tag),
                                                      # approval_submitted(), from the handler

`MetricsServer` serves, over HTTP/1.1:

* `/metrics`: every family in the Prometheus text format 0.0.4;
* `/healthz`: 200 while the process answers (a blocked event loop cannot answer);
* `/readyz`: 200 when the Teleport watch stream is connected and PagerDuty is reachable (its
  latest answer was not a 5xx, 401 or 403, and did come), else 503 with the reasons. When tpd
  has not called PagerDuty for `probe_interval`, the server checks `GET /abilities` itself, so
  readiness stays current while no request comes in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

import attrs

from pagerduty_client import CallAttempt, CallRetry
from teleport_access import DispatchOutcome, HandledEvent
from teleport_pd_cli._exceptions import ConfigError, TpdError
from teleport_pd_cli._version import __version__
from teleport_pd_cli.config import MetricsSettings
from teleport_pd_cli.daemon import events as observe
from teleport_pd_cli.ops._httpserve import HttpRequest, HttpResponse, HttpServer
from teleport_pd_cli.ops._prometheus import CONTENT_TYPE, Registry

if TYPE_CHECKING:
    from teleport_pd_cli.daemon import Daemon

__all__ = [
    "HANDLER_BUCKETS",
    "PAGERDUTY_BUCKETS",
    "DispatcherState",
    "Metrics",
    "MetricsServer",
    "Readiness",
    "WatcherState",
    "start_daemon_metrics",
    "start_metrics_server",
]

logger = logging.getLogger(__name__)

#: Handler latency buckets (seconds): one PagerDuty round trip is ~0.1-0.5 s, a handler makes a
#: few, and [tpd] handler_timeout (30 s by default) bounds them.
HANDLER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PAGERDUTY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: Statuses that say PagerDuty is up but will not serve us: the key is wrong or lacks rights.
_REFUSED = frozenset({401, 403})


class WatcherState(Protocol):
    """What readiness and the watch metrics read from `teleport_access.AccessRequestWatcher`."""

    @property
    def connected(self) -> bool: ...

    @property
    def reconnects(self) -> int: ...


class DispatcherState(Protocol):
    """What the dispatcher gauges read from `teleport_access.Dispatcher`."""

    @property
    def in_flight(self) -> int: ...

    @property
    def queued(self) -> int: ...


@attrs.frozen(kw_only=True)
class Readiness:
    """Whether tpd can do its work now, and if not, why (one short reason per problem)."""

    ready: bool
    reasons: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "ready" if self.ready else "not ready: " + "; ".join(self.reasons)


def _ago(seconds: float) -> str:
    return f"{seconds:.0f} s ago"


class Metrics:
    """tpd's metric families, the hooks that feed them, and readiness.

    Every method is synchronous and cheap (a lock and an addition), safe to call as a library
    hook on the event loop or from a thread. `clock` (monotonic seconds) is injectable.
    """

    def __init__(
        self, *, registry: Registry | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.registry = registry if registry is not None else Registry()
        self._clock = clock
        self._watcher: WatcherState | None = None
        self._health: Callable[[], observe.Health] | None = None
        self._watch_error: str | None = None
        self._pagerduty_ok: bool | None = None
        self._pagerduty_reason = "PagerDuty not reached yet"
        self._pagerduty_at: float | None = None
        self._stopping = False
        r = self.registry
        self.events_handled = r.counter(
            "tpd_events_handled_total",
            "Access-request events the daemon finished with, by operation (put, delete) and "
            "result (ok, error, timeout, cancelled, coalesced, dropped).",
            ("op", "result"),
        )
        self.handler_duration = r.histogram(
            "tpd_handler_duration_seconds",
            "Time the event handler ran (every PagerDuty and Teleport call and retry), by "
            "operation.",
            ("op",),
            buckets=HANDLER_BUCKETS,
        )
        self.event_retries = r.counter(
            "tpd_event_retries_total",
            "Failed access requests scheduled to be handled again (with backoff).",
        )
        self.pagerduty_requests = r.counter(
            "tpd_pagerduty_requests_total",
            "HTTP attempts to the PagerDuty API, by method, endpoint (the path template) and "
            "status (the HTTP status code, or no_answer after a timeout or connection failure).",
            ("method", "endpoint", "status"),
        )
        self.pagerduty_duration = r.histogram(
            "tpd_pagerduty_request_duration_seconds",
            "Duration of HTTP attempts to the PagerDuty API, by method and endpoint.",
            ("method", "endpoint"),
            buckets=PAGERDUTY_BUCKETS,
        )
        self.pagerduty_retries = r.counter(
            "tpd_pagerduty_retries_total",
            "PagerDuty requests repeated after a failed attempt, by method and endpoint.",
            ("method", "endpoint"),
        )
        self.pagerduty_rate_limited = r.counter(
            "tpd_pagerduty_rate_limited_total",
            "429 Too Many Requests answers from PagerDuty, by method and endpoint.",
            ("method", "endpoint"),
        )
        self.pagerduty_reachable = r.gauge(
            "tpd_pagerduty_reachable",
            "1 when PagerDuty's latest answer (to tpd or to its health check) was usable.",
        )
        self.watch_connected = r.gauge(
            "tpd_teleport_watch_connected",
            "1 while the Teleport access-request watch stream is open and initialised.",
        )
        self.watch_reconnects = r.counter(
            "tpd_teleport_watch_reconnects_total",
            "Reconnect attempts of the Teleport watch stream after a failure or its end.",
        )
        self.incidents_created = r.counter(
            "tpd_incidents_created_total", "PagerDuty incidents created for access requests."
        )
        self.notes_posted = r.counter(
            "tpd_notes_posted_total", "Review notes posted to PagerDuty incidents."
        )
        self.resolutions = r.counter(
            "tpd_resolutions_total",
            "PagerDuty incidents resolved, by the request's resolution (approved, denied, "
            "expired, promoted).",
            ("resolution",),
        )
        self.approvals = r.counter(
            "tpd_approvals_submitted_total",
            "Approving reviews submitted for requesters on call.",
        )
        self.approval_attempts = r.counter(
            "tpd_approval_attempts_total",
            "Approvals tpd tried, by result (approved, already_reviewed, refused, failed).",
            ("result",),
        )
        self.ready = r.gauge("tpd_ready", "1 when /readyz answers 200.")
        build = r.gauge(
            "tpd_build_info",
            "Always 1; the labels give tpd's and Python's versions.",
            ("version", "python"),
        )
        build.labels(__version__, platform.python_version()).set(1)
        self._add_process_metrics()

        for op in ("put", "delete"):
            self.handler_duration.labels(op)
            for outcome in DispatchOutcome:
                self.events_handled.labels(op, str(outcome))
        self.watch_connected.set_function(lambda: float(self._watch_connected()))
        self.pagerduty_reachable.set_function(lambda: float(self._pagerduty_ok is True))
        self.ready.set_function(lambda: float(self.readiness().ready))

    # -- state kept by the libraries (read at scrape time) -------------------------------------

    def track_watcher(self, watcher: WatcherState) -> None:
        """Read the watch stream's state (connected, reconnect count) from `watcher`."""
        self._watcher = watcher
        self.watch_reconnects.set_function(lambda: float(watcher.reconnects))

    def track_dispatcher(self, dispatcher: DispatcherState) -> None:
        """Add gauges of the in-flight and queued events, read from `dispatcher`."""
        in_flight = self.registry.gauge("tpd_events_in_flight", "Event handlers running now.")
        in_flight.set_function(lambda: float(dispatcher.in_flight))
        queued = self.registry.gauge(
            "tpd_events_queued", "Events waiting behind an earlier event of the same request."
        )
        queued.set_function(lambda: float(dispatcher.queued))

    def track_health(self, health: Callable[[], observe.Health]) -> None:
        """Take the watch stream's state and shutting down from `health()` (`Daemon.health`)."""
        self._health = health

    def _watch_connected(self) -> bool:
        if self._health is not None:
            return self._health().watcher_connected
        return self._watcher is not None and self._watcher.connected

    # -- library hooks -------------------------------------------------------------------------

    def on_outcome(self, handled: HandledEvent) -> None:
        """`Dispatcher(on_outcome=...)`: count the event; time its handler if it ran."""
        outcome = str(handled.outcome)
        self.events_handled.labels(handled.op, outcome).inc()
        if handled.outcome not in (DispatchOutcome.COALESCED, DispatchOutcome.DROPPED):
            self.handler_duration.labels(handled.op).observe(handled.duration)

    def on_pagerduty_call(self, event: CallAttempt | CallRetry) -> None:
        """`AsyncPagerDutyClient(observer=...)`: count attempts, retries and 429s, and follow
        PagerDuty's reachability."""
        if isinstance(event, CallRetry):
            self.pagerduty_retries.labels(event.method, event.endpoint).inc()
            return
        status = event.status
        self.pagerduty_requests.labels(
            event.method, event.endpoint, "no_answer" if status is None else str(status)
        ).inc()
        self.pagerduty_duration.labels(event.method, event.endpoint).observe(event.elapsed)
        if status == 429:
            self.pagerduty_rate_limited.labels(event.method, event.endpoint).inc()
        call = f"{event.method} {event.endpoint}"
        if status is None:
            self.record_pagerduty(False, f"no answer from PagerDuty to {call}")
        elif status >= 500:
            self.record_pagerduty(False, f"PagerDuty answered {status} to {call}")
        elif status in _REFUSED:
            self.record_pagerduty(False, f"PagerDuty refused the API key ({status} to {call})")
        else:
            self.record_pagerduty(True)

    def on_daemon_event(self, event: observe.DaemonEvent) -> None:
        """`Daemon.subscribe(...)`: every event the daemon reports."""
        if isinstance(event, CallAttempt | CallRetry):
            self.on_pagerduty_call(event)
        elif isinstance(event, observe.EventHandled):
            self.events_handled.labels(event.op, event.result).inc()
            if event.result not in (DispatchOutcome.COALESCED, DispatchOutcome.DROPPED):
                self.handler_duration.labels(event.op).observe(event.duration)
        elif isinstance(event, observe.WatcherConnected):
            if event.connections > 1:
                self.watch_reconnects.inc()
            self._watch_error = None
        elif isinstance(event, observe.WatcherDisconnected):
            self._watch_error = event.error
        elif isinstance(event, observe.IncidentCreated):
            self.incident_created()
        elif isinstance(event, observe.NotesPosted):
            self.note_posted(event.count)
        elif isinstance(event, observe.IncidentResolved):
            self.incident_resolved(event.resolution)
        elif isinstance(event, observe.ApprovalOutcome):
            self.approval_attempts.labels(event.result).inc()
            if event.result == "approved":
                self.approval_submitted()
        elif isinstance(event, observe.RetryScheduled):
            self.event_retries.inc()

    # -- what the daemon did --------------------------------------------------------------------

    def incident_created(self) -> None:
        self.incidents_created.inc()

    def note_posted(self, count: int = 1) -> None:
        self.notes_posted.inc(count)

    def incident_resolved(self, resolution: str) -> None:
        """`resolution`: the request's resolution tag (approved, denied, expired, promoted)."""
        self.resolutions.labels(resolution).inc()

    def approval_submitted(self) -> None:
        self.approvals.inc()

    def mark_stopping(self) -> None:
        """The daemon is shutting down: /readyz answers 503 from now on."""
        self._stopping = True

    # -- readiness ------------------------------------------------------------------------------

    def record_pagerduty(self, reachable: bool, reason: str = "") -> None:
        """Record PagerDuty's latest answer (or its absence). Logged when reachability changes."""
        previous = self._pagerduty_ok
        self._pagerduty_ok = reachable
        self._pagerduty_reason = reason
        self._pagerduty_at = self._clock()
        if reachable and previous is False:
            logger.info("PagerDuty is reachable again")
        elif not reachable and previous is not False:
            logger.warning("PagerDuty is not reachable: %s", reason, extra={"error": reason})

    def pagerduty_idle(self) -> float | None:
        """Seconds since PagerDuty's latest answer or failure; None before the first."""
        if self._pagerduty_at is None:
            return None
        return self._clock() - self._pagerduty_at

    def readiness(self) -> Readiness:
        reasons: list[str] = []
        health = self._health() if self._health is not None else None
        if self._stopping or (health is not None and health.stopping):
            reasons.append("shutting down")
        if health is not None:
            if not health.watcher_connected:
                detail = f" (last error: {self._watch_error})" if self._watch_error else ""
                started = "not connected" if health.ready else "not connected yet"
                reasons.append(f"Teleport watch stream {started}{detail}")
            elif not health.ready:
                reasons.append("starting: listing the existing access requests")
        elif self._watcher is None:
            reasons.append("Teleport watch stream not started")
        elif not self._watcher.connected:
            error = getattr(self._watcher, "last_error", None)
            detail = f" (last error: {error})" if error is not None else ""
            reasons.append(f"Teleport watch stream not connected{detail}")
        if self._pagerduty_ok is not True:
            reason = self._pagerduty_reason
            idle = self.pagerduty_idle()
            if idle is not None:
                reason = f"{reason}, {_ago(idle)}"
            reasons.append(reason)
        return Readiness(ready=not reasons, reasons=tuple(reasons))

    # -- rendering ------------------------------------------------------------------------------

    def render(self) -> str:
        """Every metric in the Prometheus text exposition format 0.0.4."""
        return self.registry.render()

    def _add_process_metrics(self) -> None:
        r = self.registry
        cpu = r.counter("process_cpu_seconds_total", "User and system CPU time of tpd, seconds.")
        cpu.set_function(lambda: sum(os.times()[:2]))
        start = r.gauge(
            "process_start_time_seconds", "When tpd started, seconds since the Unix epoch."
        )
        start.set(_process_start_time())
        if os.path.exists("/proc/self/statm"):
            rss = r.gauge("process_resident_memory_bytes", "Resident memory of tpd, bytes.")
            rss.set_function(_resident_memory)
            fds = r.gauge("process_open_fds", "Open file descriptors of tpd.")
            fds.set_function(lambda: float(len(os.listdir("/proc/self/fd"))))


def _resident_memory() -> float:
    with open("/proc/self/statm", "rb") as statm:
        pages = int(statm.read().split()[1])
    return float(pages * os.sysconf("SC_PAGE_SIZE"))


_IMPORTED_AT = time.time()


def _process_start_time() -> float:
    """From /proc when it is there (boot time + the start tick), else when tpd imported this."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            # Field 22 (starttime), counted after the parenthesised command name.
            fields = stat.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith(b"btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return _IMPORTED_AT


# -- the server -------------------------------------------------------------------------------

_NO_STORE = ("Cache-Control", "no-store")
_INDEX = b"tpd: /metrics (Prometheus), /healthz (alive), /readyz (ready)\n"


class MetricsServer:
    """`/metrics`, `/healthz` and `/readyz` on host:port (port 0: any free port).

    `pagerduty_probe` (e.g. `client.abilities`) runs whenever tpd has not heard from PagerDuty
    for `probe_interval` seconds, bounded by `probe_timeout`; its success or failure feeds
    readiness. Use `async with` or `start()` / `aclose()`.
    """

    def __init__(
        self,
        metrics: Metrics,
        host: str,
        port: int,
        *,
        pagerduty_probe: Callable[[], Awaitable[object]] | None = None,
        probe_interval: float = 30.0,
        probe_timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_close: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.metrics = metrics
        self._on_close = on_close
        self._host = host
        self._port = port
        self._http = HttpServer(self._handle, host, port)
        self._probe = pagerduty_probe
        self._probe_interval = probe_interval
        self._probe_timeout = probe_timeout
        self._sleep = sleep
        self._probe_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen, and start the PagerDuty probe. TpdError if the address cannot be bound."""
        try:
            await self._http.start()
        except OSError as exc:
            raise TpdError(
                f"[metrics] listen: cannot listen on {self._host or '*'}:{self._port}: "
                f"{exc.strerror or exc}"
            ) from None
        if self._probe is not None:
            self._probe_task = asyncio.create_task(self._probe_loop(), name="tpd-pagerduty-probe")
        logger.info("Serving metrics and health checks on %s", self.url)

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:9090 (the wildcard shown as 0.0.0.0)."""
        host = self._host or "0.0.0.0"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def aclose(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
            self._probe_task = None
        await self._http.aclose()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            await on_close()

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- endpoints ------------------------------------------------------------------------------

    def _handle(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/metrics":
            return HttpResponse(
                status=200,
                body=self.metrics.render().encode(),
                content_type=CONTENT_TYPE,
                headers=(_NO_STORE,),
            )
        if request.path == "/healthz":
            return HttpResponse(status=200, body=b"ok\n", headers=(_NO_STORE,))
        if request.path == "/readyz":
            readiness = self.metrics.readiness()
            return HttpResponse(
                status=200 if readiness.ready else 503,
                body=f"{readiness}\n".encode(),
                headers=(_NO_STORE,),
            )
        if request.path == "/":
            return HttpResponse(status=200, body=_INDEX)
        return HttpResponse(status=404, body=b"not found: try /metrics, /healthz or /readyz\n")

    # -- PagerDuty health check -----------------------------------------------------------------

    async def _probe_loop(self) -> None:
        assert self._probe is not None
        while True:
            idle = self.metrics.pagerduty_idle()
            if idle is None or idle >= self._probe_interval:
                await self.probe_once()
                wait = self._probe_interval
            else:
                wait = self._probe_interval - idle
            await self._sleep(wait)

    async def probe_once(self) -> None:
        """Check PagerDuty now and record the result."""
        assert self._probe is not None
        try:
            async with asyncio.timeout(self._probe_timeout):
                await self._probe()
        except TimeoutError:
            self.metrics.record_pagerduty(
                False, f"PagerDuty health check timed out after {self._probe_timeout:g} s"
            )
        except Exception as exc:  # whatever it is, it must not end the probing
            self.metrics.record_pagerduty(False, f"PagerDuty health check failed: {exc}")
        else:
            self.metrics.record_pagerduty(True)


async def start_metrics_server(
    settings: MetricsSettings,
    metrics: Metrics,
    *,
    pagerduty_probe: Callable[[], Awaitable[object]] | None = None,
    probe_interval: float = 30.0,
) -> MetricsServer | None:
    """Start the server `[metrics] listen` asks for; None when it is disabled (empty)."""
    if not settings.enabled:
        return None
    server = MetricsServer(
        metrics,
        settings.host,
        settings.port,
        pagerduty_probe=pagerduty_probe,
        probe_interval=probe_interval,
    )
    await server.start()
    return server


async def start_daemon_metrics(daemon: Daemon) -> MetricsServer | None:
    """Serve `daemon.config`'s `[metrics] listen` for `daemon` (None when disabled): its events
    feed the metrics, `daemon.health()` the watch stream's part of readiness, and a client of
    its own checks PagerDuty (`GET /abilities`, one attempt) whenever the daemon has not called
    PagerDuty for 30 s. Start it before `daemon.run()`, so /healthz answers during start-up."""
    settings = daemon.config.metrics
    if not settings.enabled:
        return None
    from pagerduty_client import AsyncPagerDutyClient
    from teleport_pd_cli.clients import PagerDutyUse, pagerduty_client

    metrics = Metrics()
    unsubscribe = daemon.subscribe(metrics.on_daemon_event)
    metrics.track_health(daemon.health)
    probe_client: AsyncPagerDutyClient | None = None
    # Unusable settings: no probe; the daemon reports the problem as a fatal start-up error.
    with contextlib.suppress(ConfigError):
        probe_client = pagerduty_client(
            daemon.config.pagerduty, PagerDutyUse.PROBE, observer=metrics.on_pagerduty_call
        )

    async def close() -> None:
        unsubscribe()
        if probe_client is not None:
            await probe_client.aclose()

    server = MetricsServer(
        metrics,
        settings.host,
        settings.port,
        pagerduty_probe=probe_client.abilities if probe_client is not None else None,
        on_close=close,
    )
    try:
        await server.start()
    except BaseException:
        await close()
        raise
    return server
