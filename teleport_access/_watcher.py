"""The access-request watcher: an endless, reconnecting, reconciling stream of request events.

Three layers, as in kopf's watching code (the third, the per-request dispatcher, lives in
`_dispatch.py`):

1. **One connection** (`AccessRequestWatcher._connection`): open one WatchEvents stream, wait up
   to `init_timeout` for INIT (else `ConnectionProblem("watcher initialization timed out")`; a
   different first message is `ConnectionProblem("unexpected event type ...")`), catch up
   (below), then yield events until the stream ends or fails.
2. **The endless loop** (`AccessRequestWatcher.events`): runs connection after connection. A
   dropped stream, end of stream or `ConnectionProblem` is logged at WARNING and retried after a
   decorrelated-jitter delay (20 ms to 5 s by default); any other `TeleportError` (a refused call,
   e.g. `AccessDenied` while an operator fixes a role) is logged at ERROR and retried the same
   way. `fail_fast=True` raises the first failure instead, like the Go plugin's
   `TELEPORT_PLUGIN_FAIL_FAST`. Cancelling the consumer stops the watcher cleanly.

Catching up after every connect (what the Go plugin does not do)
-----------------------------------------------------------------
A watch stream only carries changes made after its INIT, so whatever happened while we were
disconnected (or before the process started) would be lost. After each INIT the watcher lists
every access request and delivers:

* `AccessRequestPut(request, reconciled=True)` for each listed request, oldest first;
* `AccessRequestDelete(request_id, reconciled=True)` for each request this watcher had delivered
  as live earlier in this process that is absent from the listing (deleted or expired while we
  were away).

The stream keeps being read while the listing runs (a stalled reader could make the Auth Service
drop the stream); messages that arrive meanwhile are buffered. Then:

* a listed request that already has an event in that buffer is *not* delivered from the listing:
  the stream carries every change since INIT, and each PUT carries the whole request, so the
  buffered events say everything the listing would, in the right order;
* the buffered events are delivered after the listing's events, in arrival order;
* a stream event that is provably older than the listed snapshot already delivered for the same
  request is dropped. Stream messages and the listing race each other: an update made just
  before the listing can arrive on the stream just after it. Access requests only move forward
  (`AccessRequest.is_older_than`: reviews are never removed, a resolved request never becomes
  pending again, a denial is final), so a PUT with fewer reviews than the snapshot, PENDING when
  the snapshot was resolved, or not DENIED when the snapshot was, is stale. A PUT or DELETE for a
  request this connection reported deleted by reconciliation is stale too.

Guarantees to consumers:

* Nothing is lost across a reconnect: every request that exists after the reconnect is
  delivered at least once with its state as of the listing or newer, and every request known to
  have been live that disappeared is delivered as a delete.
* Per request, events are delivered in the order the Auth Service made the changes, except that
  a reconciled put may repeat a state the consumer has already seen. Consumers must therefore be
  idempotent and state-based ("make the world match this request"), which is also what
  reconnects and at-least-once delivery need anyway. `reconciled=True` tells them an event came
  from a listing.
* Deletes can only be synthesized for requests this process has seen: a request created and
  deleted while the process was not running leaves no trace to reconcile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Sequence,
)
from typing import Any, Final, Protocol, TypedDict, TypeVar, Unpack

import attrs

from teleport_access._backoff import Backoff, DecorrelatedJitter
from teleport_access._exceptions import ConnectionProblem, TeleportError
from teleport_access._models import (
    AccessMonitoringRule,
    AccessMonitoringRuleDelete,
    AccessMonitoringRuleFilter,
    AccessMonitoringRulePut,
    AccessMonitoringRulesListed,
    AccessRequest,
    AccessRequestDelete,
    AccessRequestEvent,
    AccessRequestFilter,
    AccessRequestPut,
    RuleEvent,
    WatchInit,
    WatchMessage,
)

__all__ = [
    "AccessRequestWatcher",
    "ReconcileStats",
    "WatchSource",
    "WatcherOptions",
    "default_watch_backoff",
    "watch_access_requests",
]

logger = logging.getLogger(__name__)

#: The resource kind this watcher is for.
ACCESS_REQUEST_KIND: Final = "access_request"
#: The kind it also watches when asked to follow access monitoring rules.
ACCESS_MONITORING_RULE_KIND: Final = "access_monitoring_rule"

_T = TypeVar("_T")


class WatchSource(Protocol):
    """What the watcher needs from a Teleport client; `AuthClient` provides it."""

    def watch(
        self, kinds: Sequence[str] = ..., *, allow_partial_success: bool = ...
    ) -> AsyncIterator[WatchMessage]:
        """Open ONE WatchEvents stream: a `WatchInit` first, then events of the kinds.

        Ends, or raises `ConnectionProblem`, when the stream drops; raises other
        `TeleportError`s when the server refuses.
        """
        ...

    async def list_access_requests(
        self, filter: AccessRequestFilter | None = None
    ) -> list[AccessRequest]:
        """Every access request the caller may see (all pages)."""
        ...

    async def list_access_monitoring_rules(
        self, filter: AccessMonitoringRuleFilter | None = None
    ) -> list[AccessMonitoringRule]:
        """Every access monitoring rule matching `filter` (all pages)."""
        ...


def default_watch_backoff() -> Backoff:
    """The Go plugins' reconnect schedule: decorrelated jitter from 20 ms to 5 s, times 3."""
    return DecorrelatedJitter(0.02, 5.0, multiplier=3.0)


@attrs.frozen(kw_only=True)
class ReconcileStats:
    """What one catch-up after a connect delivered."""

    #: Requests the listing returned.
    listed: int
    #: Reconciled puts delivered (listed requests without a newer event already on the stream).
    puts: int
    #: Reconciled deletes delivered (known live requests missing from the listing).
    deletes: int
    #: Listed requests not delivered because the stream had already brought an event for them.
    superseded: int


class _EndOfStream:
    """Marker returned by `_StreamPump.get` when the stream ended without an error."""


_EOF: Final = _EndOfStream()


class _StreamPump:
    """Reads one watch stream in its own task, so the stream keeps moving while we list.

    While `unbounded` is set (during the catch-up after INIT) every message is buffered; after
    that the pump pauses once `high_water` messages wait, so a slow consumer slows the stream
    down instead of filling memory.
    """

    def __init__(
        self, stream: AsyncIterator[WatchMessage], *, unbounded: bool, high_water: int = 64
    ) -> None:
        self._stream = stream
        self._high_water = high_water
        self._buffer: deque[WatchMessage] = deque()
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self.ended = asyncio.Event()
        self._error: BaseException | None = None
        self._unbounded = unbounded
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="teleport-access-watch-stream")

    async def _run(self) -> None:
        try:
            async for message in self._stream:
                self._buffer.append(message)
                self._readable.set()
                while len(self._buffer) >= self._high_water and not self._unbounded:
                    self._writable.clear()
                    await self._writable.wait()
        except Exception as exc:  # handed to the reader, which raises it in its own task
            self._error = exc
        finally:
            self.ended.set()
            self._readable.set()

    def bound(self) -> None:
        """Catch-up is over: from now on apply backpressure to the stream."""
        self._unbounded = False

    def buffered_ids(self) -> set[str]:
        return {
            m.request_id
            for m in self._buffer
            if isinstance(m, AccessRequestPut | AccessRequestDelete)
        }

    async def get(self) -> WatchMessage | _EndOfStream:
        while not self._buffer:
            if self.ended.is_set():
                if self._error is not None:
                    raise self._error
                return _EOF
            self._readable.clear()
            await self._readable.wait()
        message = self._buffer.popleft()
        if len(self._buffer) < self._high_water:
            self._writable.set()
        return message

    async def close(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


def _age_order(request: AccessRequest) -> tuple[float, str]:
    created = request.created
    return (created.timestamp() if created is not None else float("-inf"), request.id)


class _Reconciliation:
    """Pure decisions of one catch-up: which events the listing yields, which stream events
    that follow are stale. Holds no I/O; see the module docstring for the rules."""

    def __init__(
        self,
        listed: Iterable[AccessRequest],
        *,
        known_ids: Iterable[str],
        streamed_ids: Iterable[str],
    ) -> None:
        streamed = set(streamed_ids)
        listed = list(listed)
        listed_ids = {request.id for request in listed}
        # Oldest first: a consumer catching up handles requests in the order they were made.
        ordered = sorted(listed, key=_age_order)
        self.events: list[AccessRequestEvent] = []
        self._snapshots: dict[str, AccessRequest] = {}
        self._deleted: set[str] = set()
        superseded = 0
        for request in ordered:
            if request.id in streamed:
                superseded += 1
                continue
            self.events.append(AccessRequestPut(request=request, reconciled=True))
            self._snapshots[request.id] = request
        for request_id in sorted(set(known_ids) - listed_ids - streamed):
            self.events.append(AccessRequestDelete(request_id=request_id, reconciled=True))
            self._deleted.add(request_id)
        self.stats = ReconcileStats(
            listed=len(listed),
            puts=len(self._snapshots),
            deletes=len(self._deleted),
            superseded=superseded,
        )

    def admit(self, event: AccessRequestEvent) -> bool:
        """Whether a stream event that follows the catch-up should be delivered."""
        request_id = event.request_id
        if request_id in self._deleted:
            # We already said it is gone; a later put or delete can only be a late echo.
            return False
        snapshot = self._snapshots.get(request_id)
        if snapshot is None:
            return True
        if isinstance(event, AccessRequestPut) and event.request.is_older_than(snapshot):
            return False
        # The stream is ordered: once it reaches the snapshot's version, the rest is newer.
        del self._snapshots[request_id]
        return True


class WatcherOptions(TypedDict, total=False):
    """Keyword options of `AccessRequestWatcher` (and `watch_access_requests`)."""

    init_timeout: float | None
    reconcile: bool
    list_timeout: float | None
    fail_fast: bool
    backoff: Callable[[], Backoff]
    stable_after: float
    sleep: Callable[[float], Awaitable[None]]
    clock: Callable[[], float]
    on_connect: Callable[[WatchInit], object] | None
    on_disconnect: Callable[[TeleportError | None], object] | None
    on_reconcile: Callable[[ReconcileStats], object] | None
    rules: AccessMonitoringRuleFilter | None
    on_rules: Callable[[RuleEvent], object] | None


class AccessRequestWatcher:
    """An endless stream of access-request events that survives disconnects without losing any.

    Typical use, with the per-request dispatcher::

        watcher = AccessRequestWatcher(auth_client)
        await Dispatcher(handle).run(watcher.events())

    Parameters (all keyword-only, all optional):

    * `init_timeout` (15 s, as the Go plugin): how long a new stream may take to send INIT.
    * `reconcile` (True): list and deliver existing requests after every connect (see module
      docstring). False gives the Go plugin's behaviour: only live stream events.
    * `list_timeout` (60 s): how long that listing may take before the connection is retried.
    * `fail_fast` (False): raise the first failure (a `ConnectionProblem` for a closed stream)
      instead of reconnecting.
    * `backoff` (`default_watch_backoff`): makes the reconnect delay schedule.
    * `stable_after` (5 s, the default cap): the reconnect backoff starts again from its base only
      after a connection stayed up this long past INIT, so a server that accepts and then drops
      streams at once is not hammered (with a full listing each time).
    * `sleep`, `clock`: injected time (`asyncio.sleep`, `time.monotonic`). Every wait of the
      watcher (INIT and listing timeouts, reconnect delays) goes through `sleep`.
    * `on_connect(init)`, `on_disconnect(error_or_None)`, `on_reconcile(stats)`: synchronous hooks
      for metrics; an exception in a hook is logged and otherwise ignored. `on_disconnect` is
      called once for each connection that reached INIT; `None` means the consumer stopped.
    * `rules` (None) and `on_rules`: also follow access monitoring rules. The stream then watches
      `access_monitoring_rule` too, with `AllowPartialSuccess`, so a server (or a caller's role)
      that cannot serve rules drops the kind from INIT instead of refusing the watch;
      `rules_confirmed` says which it was (`init.confirmed_kinds` reaches `on_connect` too).
      When confirmed, after every INIT the rules matching the `rules` filter are listed and
      handed to `on_rules` as one `AccessMonitoringRulesListed` (a consumer replaces its cache
      with it, so nothing changed while disconnected is missed), before the listing of access
      requests; then every rule PUT/DELETE of the stream is handed to `on_rules` in stream
      order, beside the request events `events()` yields. Rule events are not filtered: a PUT
      of a rule that no longer matches the filter tells the consumer to drop it
      (`AccessMonitoringRule.is_for`).

    State for health checks: `connected`, `ready`/`wait_ready()`, `connections`, `reconnects`,
    `last_error`, `last_reconcile`, `rules_confirmed`.
    """

    def __init__(
        self,
        source: WatchSource,
        *,
        init_timeout: float | None = 15.0,
        reconcile: bool = True,
        list_timeout: float | None = 60.0,
        fail_fast: bool = False,
        backoff: Callable[[], Backoff] = default_watch_backoff,
        stable_after: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_connect: Callable[[WatchInit], object] | None = None,
        on_disconnect: Callable[[TeleportError | None], object] | None = None,
        on_reconcile: Callable[[ReconcileStats], object] | None = None,
        rules: AccessMonitoringRuleFilter | None = None,
        on_rules: Callable[[RuleEvent], object] | None = None,
    ) -> None:
        self._source = source
        self._rules = rules
        self._on_rules = on_rules
        self._init_timeout = init_timeout
        self._reconcile = reconcile
        self._list_timeout = list_timeout
        self._fail_fast = fail_fast
        self._backoff_factory = backoff
        self._stable_after = stable_after
        self._sleep = sleep
        self._clock = clock
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._on_reconcile = on_reconcile

        self._ready = asyncio.Event()
        self._running = False
        self._connected_at: float | None = None
        # Ids of requests delivered as live and not since deleted: what reconciliation can
        # report as deleted after a reconnect.
        self._known: set[str] = set()
        #: Connections that reached INIT.
        self.connections = 0
        #: Reconnect attempts made after a failure or the end of a stream.
        self.reconnects = 0
        #: The failure that ended the latest connection attempt (None before any).
        self.last_error: TeleportError | None = None
        #: What the latest catch-up delivered (None before any).
        self.last_reconcile: ReconcileStats | None = None
        #: Stream events dropped as stale echoes of a newer reconciled state.
        self.stale_dropped = 0
        #: With `rules`: whether the latest INIT confirmed the rule kind (None before any INIT,
        #: and always None without `rules`).
        self.rules_confirmed: bool | None = None

    # -- observable state ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """A stream is open and has sent INIT."""
        return self._connected_at is not None

    @property
    def ready(self) -> bool:
        """The first INIT has arrived (it stays True across later reconnects)."""
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        """Return once the first stream has sent INIT."""
        await self._ready.wait()

    @property
    def known_request_ids(self) -> frozenset[str]:
        """Requests delivered as live (and not since deleted) by this watcher."""
        return frozenset(self._known)

    # -- layer 2: the endless loop -------------------------------------------------------------

    async def events(self) -> AsyncGenerator[AccessRequestEvent, None]:
        """Yield access-request events forever (or until the first failure with `fail_fast`)."""
        if self._running:
            raise RuntimeError("this AccessRequestWatcher is already running; use one per consumer")
        self._running = True
        backoff = self._backoff_factory()
        try:
            while True:
                error: TeleportError
                closed = False
                try:
                    async with contextlib.aclosing(self._connection()) as connection:
                        async for event in connection:
                            if self._reconcile:
                                self._remember(event)
                            yield event
                    closed = True
                    error = ConnectionProblem("watch stream closed by the server")
                except TeleportError as exc:
                    error = exc
                lived = self._disconnected(error)
                self.last_error = error
                if self._fail_fast:
                    raise error
                if lived is not None and lived >= self._stable_after:
                    backoff.reset()
                delay = backoff.next_delay()
                self.reconnects += 1
                self._log_retry(error, closed=closed, delay=delay)
                await self._sleep(delay)
        finally:
            # The consumer stopped (aclose, cancellation) or we raised.
            self._disconnected(None)
            self._running = False

    def _remember(self, event: AccessRequestEvent) -> None:
        if isinstance(event, AccessRequestPut):
            self._known.add(event.request.id)
        else:
            self._known.discard(event.request_id)

    def _log_retry(self, error: TeleportError, *, closed: bool, delay: float) -> None:
        extra = {"error": str(error), "reconnect_delay": delay, "reconnects": self.reconnects}
        if closed:
            logger.warning(
                "Watcher stream closed. Attempting to reconnect in %.3f s.", delay, extra=extra
            )
        elif isinstance(error, ConnectionProblem):
            logger.warning(
                "Connection problem detected. Attempting to reconnect in %.3f s. Cause: %s",
                delay,
                error,
                extra=extra,
            )
        else:
            logger.error(
                "Watcher failed (%s). Attempting to reconnect in %.3f s.",
                _describe(error),
                delay,
                extra=extra,
            )

    def _connected(self, init: WatchInit) -> None:
        self._connected_at = self._clock()
        self.connections += 1
        self._ready.set()
        if init.confirmed_kinds and ACCESS_REQUEST_KIND not in init.confirmed_kinds:
            logger.warning(
                "The Auth Service did not confirm the %r watch kind (confirmed: %s)",
                ACCESS_REQUEST_KIND,
                ", ".join(init.confirmed_kinds),
            )
        if self.reconnects:
            logger.info("Watcher connected (connection %d)", self.connections)
        else:
            logger.debug("Watcher connected")
        self._call_hook(self._on_connect, init)

    def _disconnected(self, error: TeleportError | None) -> float | None:
        """Mark the connection closed; return how long it lived after INIT, if it got there."""
        connected_at, self._connected_at = self._connected_at, None
        if connected_at is None:
            return None
        self._call_hook(self._on_disconnect, error)
        return self._clock() - connected_at

    def _call_hook(self, hook: Callable[[_T], object] | None, argument: _T) -> None:
        if hook is None:
            return
        try:
            hook(argument)
        except Exception:
            logger.exception("Watcher hook %r failed", hook)

    # -- layer 1: one connection -------------------------------------------------------------

    async def _connection(self) -> AsyncGenerator[AccessRequestEvent, None]:
        """One WatchEvents stream: INIT, catch-up, then live events until the stream ends."""
        # Unbounded until the catch-up is over, so the stream keeps moving while we list.
        kinds: tuple[str, ...] = (ACCESS_REQUEST_KIND,)
        if self._rules is not None:
            kinds = (ACCESS_REQUEST_KIND, ACCESS_MONITORING_RULE_KIND)
        stream = self._source.watch(kinds, allow_partial_success=self._rules is not None)
        pump = _StreamPump(stream, unbounded=self._reconcile)
        pump.start()
        try:
            first = await self._within(
                self._init_timeout, pump.get(), "watcher initialization timed out"
            )
            if isinstance(first, _EndOfStream):
                return
            if not isinstance(first, WatchInit):
                raise ConnectionProblem(
                    f"unexpected event type {type(first).__name__}: "
                    "a watch stream must start with INIT"
                )
            self._connected(first)
            follow_rules = await self._list_rules(first)

            catch_up: _Reconciliation | None = None
            if self._reconcile:
                catch_up = await self._list_for_catch_up(pump)
            if catch_up is not None:
                self.last_reconcile = catch_up.stats
                logger.debug(
                    "Reconciled access requests after connecting",
                    extra={"reconcile": attrs.asdict(catch_up.stats)},
                )
                self._call_hook(self._on_reconcile, catch_up.stats)
                for event in catch_up.events:
                    yield event
            pump.bound()

            while True:
                message = await pump.get()
                if isinstance(message, _EndOfStream):
                    return
                if isinstance(message, WatchInit):
                    logger.warning("Ignoring a second INIT on the same watch stream")
                    continue
                if isinstance(message, AccessMonitoringRulePut | AccessMonitoringRuleDelete):
                    if follow_rules:
                        self._call_hook(self._on_rules, message)
                    continue
                if catch_up is not None and not catch_up.admit(message):
                    self.stale_dropped += 1
                    logger.debug(
                        "Dropped a stale stream event already superseded by reconciliation",
                        extra={"request_id": message.request_id},
                    )
                    continue
                yield message
        finally:
            await pump.close()

    async def _list_rules(self, init: WatchInit) -> bool:
        """With `rules`: whether this stream carries rule events; if so, list the rules and hand
        them to `on_rules`. A refused listing is logged and rules are not followed on this
        connection (a connection problem ends it, to be retried)."""
        if self._rules is None:
            return False
        confirmed = init.confirms(ACCESS_MONITORING_RULE_KIND)
        if confirmed != self.rules_confirmed:
            if confirmed:
                logger.debug("The Auth Service confirmed watching access monitoring rules")
            else:
                logger.info(
                    "The Auth Service did not confirm watching %r (an older Teleport, or the "
                    "caller may not read and list them)",
                    ACCESS_MONITORING_RULE_KIND,
                )
        self.rules_confirmed = confirmed
        if not confirmed:
            return False
        try:
            rules = await self._within(
                self._list_timeout,
                self._source.list_access_monitoring_rules(self._rules),
                "listing access monitoring rules timed out",
            )
        except TeleportError as error:
            if isinstance(error, ConnectionProblem) or self._fail_fast:
                raise
            logger.error(
                "Could not list access monitoring rules (%s); not following them on this "
                "connection",
                _describe(error),
            )
            return False
        self._call_hook(self._on_rules, AccessMonitoringRulesListed(rules=rules))
        return True

    async def _list_for_catch_up(self, pump: _StreamPump) -> _Reconciliation | None:
        """List every request while the pump keeps reading the stream.

        Returns None when there is nothing to reconcile with: the stream ended meanwhile (its
        buffered events and end are then delivered as usual), or the listing was refused and we
        are not failing fast (logged at ERROR; live events still flow).
        """
        listing = asyncio.ensure_future(self._source.list_access_requests())
        stream_ended = asyncio.ensure_future(pump.ended.wait())
        try:
            await self._within(
                self._list_timeout,
                asyncio.wait({listing, stream_ended}, return_when=asyncio.FIRST_COMPLETED),
                "listing access requests to reconcile timed out",
            )
        finally:
            stream_ended.cancel()
            if not listing.done():
                listing.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listing
        if listing.cancelled():
            return None  # the stream ended first
        error = listing.exception()
        if error is None:
            return _Reconciliation(
                listing.result(), known_ids=self._known, streamed_ids=pump.buffered_ids()
            )
        if isinstance(error, ConnectionProblem) or self._fail_fast:
            raise error
        if not isinstance(error, TeleportError):
            raise error
        logger.error(
            "Could not list access requests to reconcile (%s); changes made while disconnected "
            "may be missed until the next reconnect",
            _describe(error),
        )
        return None

    async def _within(
        self, limit: float | None, awaitable: Coroutine[Any, Any, _T], message: str
    ) -> _T:
        """Await `awaitable`, or raise ConnectionProblem(message) after `limit` s (via `sleep`)."""
        task = asyncio.ensure_future(awaitable)
        if limit is None:
            return await task
        timer = asyncio.ensure_future(self._sleep(limit))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            raise ConnectionProblem(f"{message} after {limit:g} s")
        return task.result()


def _describe(error: TeleportError) -> str:
    code = getattr(error, "code", None)
    name = type(error).__name__
    return f"{name} {code}: {error}" if code else f"{name}: {error}"


async def watch_access_requests(
    source: WatchSource, **options: Unpack[WatcherOptions]
) -> AsyncIterator[AccessRequestEvent]:
    """Yield access-request events from `source` forever, reconnecting and reconciling.

    A shortcut for `AccessRequestWatcher(source, **options).events()` when the caller does not
    need the watcher's state::

        async for event in watch_access_requests(auth_client):
            ...
    """
    watcher = AccessRequestWatcher(source, **options)
    async with contextlib.aclosing(watcher.events()) as events:
        async for event in events:
            yield event
