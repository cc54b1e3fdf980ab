"""The `tpd run` daemon: wires the Teleport watcher and PagerDuty to the policy.

    daemon = Daemon(config)
    await daemon.start()          # credentials, Teleport, PagerDuty, watching; returns when ready
    ...
    report = await daemon.stop()  # finish what is in flight (up to [tpd] shutdown_grace)

or `await daemon.run()` (start, run until `request_stop()`, stop). `teleport_pd_cli.app` adds
signal handling and the metrics endpoints, as `tpd run` does.

How it fits together:

* `AccessRequestWatcher` (teleport_access) streams request events, reconnects, and after every
  connect replays the existing requests (catch-up). `Dispatcher` runs one handler per event,
  ordered per request, at most `[tpd] max_concurrency` at once, each within
  `[tpd] handler_timeout`; queued puts of the same request coalesce into the newest. The daemon's
  own events (re-attempts, the sweep's) go to the same dispatcher with `Dispatcher.submit`, each
  with a context that comes back with its outcome (a re-attempt marker, its `CatchUp`).
* The handler is `Processor.handle` (`_processor.py`), which carries out `policy.plan` and the
  policy's repair decisions; its `Outcome` (failures, a wanted recheck) comes back as the
  dispatcher's `HandledEvent.result`.
* **Failed requests are re-attempted** (`_retries.py`): a request whose handling failed or timed
  out is handed back to the dispatcher after a per-request backoff (2 s doubling to 5 min) as its
  newest known state, until one handling succeeds, whether or not Teleport sends another event.
  A re-attempt is skipped while the dispatcher already holds an event for that request.
* **Sweep after each catch-up**: once the catch-up's events are handled, the plugin data of every
  request (Teleport keeps it about an hour past a request's end) is compared with what the
  catch-up saw: a request that no longer exists but has an unresolved incident is resolved as
  expired (it was deleted while tpd was down), and a recorded resolution whose incident is still
  open is finished (a crash between the claim and the resolve). These go through the dispatcher
  too, so they keep the per-request order. `_catchup.py` counts a catch-up's progress.
* PagerDuty services and users (and Teleport roles) are cached for `[tpd] lookup_cache_ttl`.

Observability: `daemon.subscribe(listener)` (typed events, see `events.py`), `daemon.health`
(readiness and PagerDuty's reachability, see `health.py`), `daemon.in_flight` / `daemon.queued`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from teleport_pd_cli._exceptions import (
    ConfigError,
    CredentialsUnusable,
    StartupAborted,
    StartupError,
    TpdError,
)
from teleport_pd_cli._version import __version__
from teleport_pd_cli.daemon._catchup import CatchUp
from teleport_pd_cli.daemon._processor import Outcome
from teleport_pd_cli.daemon._rules import RuleCache
from teleport_pd_cli.daemon.events import (
    DaemonEvent,
    EventHandled,
    Observer,
    RetryScheduled,
    WatcherConnected,
    WatcherDisconnected,
)
from teleport_pd_cli.daemon.health import Health

if TYPE_CHECKING:
    from pagerduty_client import AsyncPagerDutyClient, CallAttempt, CallRetry
    from teleport_access import (
        AccessRequestEvent,
        AccessRequestWatcher,
        AuthClient,
        Dispatcher,
        HandledEvent,
        ReconcileStats,
        ServerInfo,
        ShutdownReport,
        TeleportError,
        WatchInit,
    )
    from teleport_pd_cli.config import Config
    from teleport_pd_cli.daemon._processor import Processor
    from teleport_pd_cli.daemon._retries import RetryScheduler

__all__ = [
    "Daemon",
    "DaemonEvent",
    "StartupAborted",
    "StartupError",
]

logger = logging.getLogger(__name__)

#: How long `stop()` waits for the watcher task after the dispatcher finished.
_CLOSE_TIMEOUT = 5.0
#: Added to the handler timeout before an open incident with a claimed resolution is repaired:
#: the run that claimed it has either finished or given up by then.
_REPAIR_MARGIN = 5.0


class _Reattempt:
    """The dispatcher context of a re-attempt the daemon scheduled after a failure."""


_REATTEMPT = _Reattempt()


class Daemon:
    """The access-request plugin: see the module docstring.

    `auth_client` / `pagerduty`: use these clients instead of building them from `config`
    (they are then not closed by `stop()`). A PagerDuty client built here reports every attempt
    and retry to the listeners; build an injected one with
    `observer=daemon.pagerduty_observer` for the same. `clock` (monotonic seconds) is used for
    handler durations, caches and repair delays. `startup_timeout`: give up starting after this many
    seconds (None: keep retrying connection problems until stopped).
    """

    def __init__(
        self,
        config: Config,
        *,
        auth_client: AuthClient | None = None,
        pagerduty: AsyncPagerDutyClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        startup_timeout: float | None = None,
    ) -> None:
        self.config = config
        self._auth = auth_client
        self._pd = pagerduty
        self._owns_auth = auth_client is None
        self._owns_pd = pagerduty is None
        self._clock = clock
        self._startup_timeout = startup_timeout
        self._observer = Observer()
        #: Set once the first watch stream sent INIT and its catch-up listing was read.
        self.ready = asyncio.Event()
        #: Set once the first catch-up's events (and the sweep after it) were handled.
        self.caught_up = asyncio.Event()
        # ops: readiness and PagerDuty's reachability, fed by the daemon's own events.
        self.health = Health(
            started=self.ready.is_set, stopping=lambda: self._stopping, clock=clock
        )
        self._observer.subscribe(self.health.on_event)
        self.server_info: ServerInfo | None = None
        #: The Teleport user the plugin acts as (its certificate's name): the review author.
        self.plugin_user = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event = asyncio.Event()
        self._stop_flag = False
        self._starting: asyncio.Future[None] | None = None
        self._started = False
        self._stopping = False
        self._report: ShutdownReport | None = None
        self._stop_lock = asyncio.Lock()
        self._processor: Processor | None = None
        self._retries: RetryScheduler | None = None
        self._watcher: AccessRequestWatcher | None = None
        self._dispatcher: Dispatcher | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._catch_up: CatchUp | None = None
        #: The Access Monitoring Rules that route incidents, kept current by the watcher.
        self.rules = RuleCache()
        #: Whether the latest watch stream confirmed the rule kind (None before the first).
        self.rules_confirmed: bool | None = None
        self._background: set[asyncio.Future[Any]] = set()

    # -- observability -------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[DaemonEvent], object]) -> Callable[[], None]:
        """Call `listener(event)` for every `DaemonEvent`; returns the unsubscribe function."""
        return self._observer.subscribe(listener)

    # ops: the dispatcher's gauges, read at scrape time.
    @property
    def in_flight(self) -> int:
        """Event handlers running now (0 before start)."""
        return self._dispatcher.in_flight if self._dispatcher is not None else 0

    @property
    def queued(self) -> int:
        """Events waiting behind an earlier event of the same request (0 before start)."""
        return self._dispatcher.queued if self._dispatcher is not None else 0

    @property
    def rules_cached(self) -> int:
        """How many Access Monitoring Rules route incidents now."""
        return len(self.rules)

    @property
    def pagerduty_observer(self) -> Callable[[CallAttempt | CallRetry], None]:
        """The hook to pass as `AsyncPagerDutyClient(observer=...)` to an injected client."""
        return self._observer.on_pagerduty

    @property
    def pending_retries(self) -> frozenset[str]:
        """Request ids with a re-attempt scheduled."""
        return self._retries.scheduled if self._retries is not None else frozenset()

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Connect, check, and start watching; return once ready.

        Raises `StartupError` (a `TpdError`) for a fatal problem: no or expired credentials, a
        Teleport older than 6.1.0, a PagerDuty key that is refused, a plugin user that may not
        list requests, or connection problems past `startup_timeout`. Raises `StartupAborted`
        when `request_stop()` came first. Everything started is closed again on failure.
        """
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._stop_flag:
            self._stop_event.set()
        deadline = None if self._startup_timeout is None else self._clock() + self._startup_timeout
        logger.info("Starting Teleport Access PagerDuty Plugin (tpd %s)", __version__)
        try:
            await self._connect(deadline)
            self._begin_watching()
            await self._wait_ready(deadline)
        except BaseException:
            await self._close_clients()
            raise
        self._started = True
        info = self.server_info
        assert info is not None
        logger.info(
            "Plugin is ready: cluster %s, Teleport %s, acting as %s",
            info.cluster_name,
            info.server_version,
            self.plugin_user,
            extra={
                "teleport_cluster": info.cluster_name,
                "teleport_version": info.server_version,
                "plugin_user": self.plugin_user,
            },
        )

    async def _connect(self, deadline: float | None) -> None:
        from teleport_access import AuthClient
        from teleport_pd_cli.clients import identity_source
        from teleport_pd_cli.daemon import _startup

        config = self.config
        if self._auth is None:
            try:
                source = identity_source(config.teleport)
            except CredentialsUnusable as exc:
                raise StartupError(str(exc)) from None
            try:
                self._auth = AuthClient(config.teleport.addr, source)
            except ValueError as exc:
                raise StartupError(f"[teleport] addr: {exc}") from None
        auth = self._auth
        self.plugin_user = auth.identity.username
        self.server_info = await _startup.check_teleport(
            auth, deadline=deadline, stopping=self._stop_event, clock=self._clock
        )
        logger.debug(
            "Connected to the Teleport Auth Service at %s: cluster %s, Teleport %s",
            auth.address,
            self.server_info.cluster_name,
            self.server_info.server_version,
        )
        if self._pd is None:
            self._pd = self._build_pagerduty()
        await _startup.check_pagerduty(
            self._pd, deadline=deadline, stopping=self._stop_event, clock=self._clock
        )

    def _build_pagerduty(self) -> AsyncPagerDutyClient:
        from teleport_pd_cli.clients import PagerDutyUse, pagerduty_client

        try:
            return pagerduty_client(
                self.config.pagerduty,
                PagerDutyUse.DAEMON,
                handler_timeout=self.config.daemon.handler_timeout.total_seconds(),
                observer=self._observer.on_pagerduty,
            )
        except ConfigError as exc:
            raise StartupError(str(exc)) from None

    def _begin_watching(self) -> None:
        from teleport_access import AccessMonitoringRuleFilter, AccessRequestWatcher, Dispatcher
        from teleport_pd_cli.daemon._lookups import Lookups
        from teleport_pd_cli.daemon._processor import Processor
        from teleport_pd_cli.daemon._retries import RetryScheduler
        from teleport_pd_cli.policy import PolicySettings, web_proxy_url
        from teleport_pd_cli.policy._rules import ACCESS_REQUEST_SUBJECT, PAGERDUTY_NOTIFICATION

        auth, pagerduty, info = self._auth, self._pd, self.server_info
        assert auth is not None
        assert pagerduty is not None
        assert info is not None
        tuning = self.config.daemon
        handler_timeout = tuning.handler_timeout.total_seconds()
        self._processor = Processor(
            auth=auth,
            pagerduty=pagerduty,
            lookups=Lookups(
                pagerduty, auth, ttl=tuning.lookup_cache_ttl.total_seconds(), clock=self._clock
            ),
            settings=PolicySettings.from_config(
                self.config.pagerduty, web_proxy_url=web_proxy_url(info)
            ),
            rules=self.rules,
            plugin_user=self.plugin_user,
            plugin_roles=auth.identity.roles,
            observer=self._observer,
            cas_timeout=handler_timeout,
            repair_after=handler_timeout + _REPAIR_MARGIN,
            clock=self._clock,
        )
        self._retries = RetryScheduler(self._retry_due)
        self._watcher = AccessRequestWatcher(
            auth,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            on_reconcile=self._on_reconcile,
            # Access Monitoring Rules: listed (page size 1000) before each catch-up, so they
            # route the catch-up's requests too, then kept current from the stream.
            rules=AccessMonitoringRuleFilter(
                subjects=(ACCESS_REQUEST_SUBJECT,), notification_name=PAGERDUTY_NOTIFICATION
            ),
            on_rules=self.rules.apply,
        )
        self._dispatcher = Dispatcher(
            self._handle,
            max_concurrency=tuning.max_concurrency,
            timeout=handler_timeout,
            coalesce=True,
            clock=self._clock,
            on_outcome=self._on_outcome,
        )
        self._run_task = asyncio.create_task(
            self._dispatcher.run(self._watcher.events(), context=self._catch_up_context),
            name="tpd-dispatcher",
        )

    async def _wait_ready(self, deadline: float | None) -> None:
        assert self._run_task is not None
        waiters = {
            asyncio.ensure_future(self.ready.wait()),
            asyncio.ensure_future(self._stop_event.wait()),
        }
        timeout = None if deadline is None else max(0.0, deadline - self._clock())
        try:
            await asyncio.wait(
                {*waiters, self._run_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self.ready.is_set():
            return
        if self._run_task.done():
            await self._abandon_watching()
            error = self._run_task.exception() if not self._run_task.cancelled() else None
            raise StartupError(f"watching access requests failed: {error}") from error
        await self._abandon_watching()
        if self._stop_event.is_set():
            raise StartupAborted("stopped before the plugin was ready")
        raise StartupError("the watch stream did not become ready before the start-up deadline")

    async def _abandon_watching(self) -> None:
        if self._retries is not None:
            self._retries.close()
        if self._dispatcher is not None:
            await self._dispatcher.shutdown(grace=0.0)
        if self._run_task is not None:
            self._run_task.cancel()
            with contextlib.suppress(BaseException):
                await self._run_task

    async def run(self) -> None:
        """Start if needed, run until `request_stop()` (or `stop()`), then stop gracefully.

        Returns normally after a graceful stop (also when stopped during start-up); raises
        `StartupError` for a fatal start-up problem and `TpdError` if watching failed for good.
        """
        try:
            failure = await self._run_until_stopped()
        except asyncio.CancelledError:
            # Cancelled by whoever runs us: still close the connections, without waiting.
            await self.stop(grace=0.0)
            raise
        await self.stop()
        if failure is not None:
            raise TpdError(f"watching access requests stopped unexpectedly: {failure}") from (
                failure if isinstance(failure, BaseException) else None
            )

    async def _run_until_stopped(self) -> BaseException | str | None:
        """Start, then wait for a stop request; what ended watching if it ended by itself."""
        try:
            await self.start()
        except StartupAborted:
            return None
        assert self._run_task is not None
        stop_waiter = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait({stop_waiter, self._run_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_waiter.cancel()
        if not self._run_task.done() or self._stop_event.is_set():
            return None
        if self._run_task.cancelled():
            return "cancelled"
        return self._run_task.exception() or "the event stream ended"

    def request_stop(self) -> None:
        """Ask `run()` to stop gracefully. Safe from signal handlers and other threads."""
        self._stop_flag = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            self._stop_event.set()
        else:
            loop.call_soon_threadsafe(self._stop_event.set)

    async def stop(self, grace: float | None = None) -> ShutdownReport:
        """Stop taking events, let those in flight finish for up to `grace` seconds (default
        `[tpd] shutdown_grace`), cancel the rest, close the clients. Returns what could not be
        finished (`report.clean` when nothing). Idempotent."""
        from teleport_access import ShutdownReport

        async with self._stop_lock:
            if self._report is not None:
                return self._report
            self._stopping = True
            self._stop_event.set()
            if grace is None:
                grace = self.config.daemon.shutdown_grace.total_seconds()
            if self._starting is not None and not self._starting.done():
                with contextlib.suppress(BaseException):
                    await self._starting
            report = ShutdownReport(completed=0)
            if self._retries is not None:
                self._retries.close()
            for task in list(self._background):
                task.cancel()
            if self._dispatcher is not None:
                report = await self._dispatcher.shutdown(grace=grace)
            if self._run_task is not None:
                done, _ = await asyncio.wait({self._run_task}, timeout=_CLOSE_TIMEOUT)
                if not done:
                    self._run_task.cancel()
                with contextlib.suppress(BaseException):
                    await self._run_task
            await self._close_clients()
            self._report = report
            if self._started:
                logger.info(
                    "Stopped: %d event(s) finished during shutdown, %d cancelled, %d dropped",
                    report.completed,
                    len(report.cancelled),
                    len(report.dropped),
                )
            return report

    async def _close_clients(self) -> None:
        if self._owns_pd and self._pd is not None:
            with contextlib.suppress(Exception):
                await self._pd.aclose()
            self._pd = None
        if self._owns_auth and self._auth is not None:
            with contextlib.suppress(Exception):
                await self._auth.close()
            self._auth = None

    # -- events --------------------------------------------------------------------------------

    async def _handle(self, event: AccessRequestEvent) -> Outcome:
        assert self._processor is not None
        return await self._processor.handle(event)

    def _on_outcome(self, handled: HandledEvent) -> None:
        """Every event the dispatcher finished: report it, schedule a re-attempt or a recheck,
        and count it towards its catch-up."""
        request_id = handled.request_id
        outcome = handled.result if isinstance(handled.result, Outcome) else None
        result = handled.outcome.value
        if result == "ok" and outcome is not None and not outcome.ok:
            result = "error"
        self._observer.emit(
            EventHandled(
                request_id=request_id,
                op=handled.op,
                result=result,
                duration=handled.duration,
                retry=handled.context is _REATTEMPT,
            )
        )
        retries = self._retries
        if retries is not None and not self._stopping:
            if result in ("error", "timeout"):
                attempt, delay = retries.failed(request_id)
                logger.warning(
                    "Failed to process request; retrying in %.1f s (attempt %d)",
                    delay,
                    attempt,
                    extra={"request_id": request_id, "retry_attempt": attempt},
                )
                self._observer.emit(
                    RetryScheduled(request_id=request_id, attempt=attempt, delay=delay)
                )
            elif result == "ok":
                retries.succeeded(request_id)
            if outcome is not None and outcome.recheck_after is not None:
                retries.recheck(request_id, outcome.recheck_after)
        if isinstance(handled.context, CatchUp) and handled.context is self._catch_up:
            handled.context.finished()
            self._advance_catch_up(handled.context)

    def _retry_due(self, request_id: str) -> None:
        """A re-attempt is due: hand the newest known state to the dispatcher."""
        from teleport_access import AccessRequestDelete, AccessRequestPut

        dispatcher, processor = self._dispatcher, self._processor
        if self._stopping or dispatcher is None or processor is None:
            return
        if dispatcher.pending_by_request().get(request_id):
            logger.debug(
                "Re-attempt skipped: an event of the request is already queued",
                extra={"request_id": request_id},
            )
            return
        event: AccessRequestEvent
        if processor.states.is_deleted(request_id):
            event = AccessRequestDelete(request_id=request_id, reconciled=True)
        else:
            latest = processor.states.latest(request_id)
            if latest is None:
                return
            event = AccessRequestPut(request=latest, reconciled=True)
        self._submit_later(event, _REATTEMPT)

    def _submit_later(self, event: AccessRequestEvent, context: object) -> None:
        """Hand `event` to the dispatcher from a callback (it may have to wait for a place)."""
        assert self._dispatcher is not None
        task = asyncio.ensure_future(self._dispatcher.submit(event, context=context))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- watcher hooks -------------------------------------------------------------------------

    def _on_connect(self, init: WatchInit) -> None:
        assert self._watcher is not None
        from teleport_pd_cli.policy._rules import RULE_KIND

        confirmed = init.confirms(RULE_KIND)
        if confirmed != self.rules_confirmed:
            self.rules_confirmed = confirmed
            if not confirmed:
                logger.warning(
                    "Access Monitoring Rules are not available (the Auth Service did not confirm "
                    "watching %s: a Teleport older than 16, or the plugin's role may not read "
                    "and list them); routing by role annotations only. To route by rules, add "
                    "to the plugin's role: rules: [{resources: [access_monitoring_rule], "
                    "verbs: [read, list]}]",
                    RULE_KIND,
                )
        self._observer.emit(WatcherConnected(connections=self._watcher.connections))

    def _on_disconnect(self, error: TeleportError | None) -> None:
        self._observer.emit(WatcherDisconnected(error=None if error is None else str(error)))

    def _on_reconcile(self, stats: ReconcileStats) -> None:
        first = not self.ready.is_set()
        batch = CatchUp.begin(stats, first=first)
        self._catch_up = batch
        logger.log(
            logging.INFO if first else logging.DEBUG,
            "Catching up: %d existing access request(s) listed, %d to handle, %d deleted while "
            "away",
            stats.listed,
            stats.puts,
            stats.deletes,
        )
        if first and self.rules_confirmed:
            logger.info("Following %d Access Monitoring Rule(s) for PagerDuty", len(self.rules))
        self.ready.set()
        self._advance_catch_up(batch)

    def _catch_up_context(self, event: AccessRequestEvent) -> object:
        """The dispatcher context of an event from the watcher: its catch-up, if it is one of
        the listing's events."""
        batch = self._catch_up
        return batch if batch is not None and batch.claim(event) else None

    def _advance_catch_up(self, batch: CatchUp) -> None:
        if batch.listing_handled and not self._stopping:
            batch.sweep_started()
            task = asyncio.ensure_future(self._sweep(batch))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        elif batch.complete:
            batch.close()
            logger.log(
                logging.INFO if batch.first else logging.DEBUG,
                "Caught up: handled %d existing access request(s) and %d left over from deleted "
                "ones",
                batch.handled,
                batch.swept,
            )
            self.caught_up.set()

    async def _sweep(self, batch: CatchUp) -> None:
        """After a catch-up: finish what only the plugin data remembers (see module docstring)."""
        from teleport_access import (
            AccessRequestDelete,
            AccessRequestPut,
            NotFound,
            TeleportError,
        )
        from teleport_pd_cli.policy import needs_sweep
        from teleport_pd_cli.policy.plugindata import PLUGIN_NAME, decode

        auth, processor, dispatcher = self._auth, self._processor, self._dispatcher
        assert auth is not None
        assert processor is not None
        assert dispatcher is not None
        events: list[AccessRequestEvent] = []
        try:
            for entry in await auth.list_plugin_data(PLUGIN_NAME):
                seen = processor.states.knows(entry.request_id)
                if not needs_sweep(decode(entry.data), seen=seen):
                    continue
                try:
                    request = await auth.get_access_request(entry.request_id)
                except NotFound:
                    events.append(AccessRequestDelete(request_id=entry.request_id, reconciled=True))
                else:
                    events.append(AccessRequestPut(request=request, reconciled=True))
        except TeleportError as exc:
            logger.warning(
                "Could not check the plugin data of past requests after catching up (%s); "
                "trying again after the next reconnect",
                exc,
            )
        if self._catch_up is not batch or self._stopping:
            return
        batch.sweep_found(len(events))
        for event in events:
            if not await dispatcher.submit(event, context=batch):
                return  # shutting down
        self._advance_catch_up(batch)
