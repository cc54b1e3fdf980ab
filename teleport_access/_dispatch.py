"""The per-request dispatcher: one handler call per event, ordered per request, bounded overall.

The third layer of the watcher (after kopf's `queueing.py` and the Go plugins' `watcherjob`):

* Events of the same request run strictly in arrival order: one at a time, each queued behind
  the one in flight. Events of different requests run concurrently.
* At most `max_concurrency` events (default 128) are accepted and unfinished, in flight or
  queued. At the limit the dispatcher stops pulling from its source, so backpressure reaches the
  watcher (and through it the stream).
* Each handler call has a timeout (default 30 s, the Go PagerDuty plugin's): it is cancelled
  when the time is up. A failing or timed-out handler is logged at ERROR with the `request_id`
  and does not stop anything else; the event is not retried (the next event for the request, or
  the watcher's catch-up after a reconnect, gives the handler another chance).
* `shutdown(grace)` stops taking events, lets accepted ones finish until the deadline, then
  cancels what still runs and drops what never started, and reports both.
* Optional coalescing (`coalesce=True`, off by default): when a put arrives for a request whose
  queue already ends with a put that has not started, the queued put is replaced by the new one.
  Only for handlers that act on the request's *current state* and are idempotent (our daemon's
  are): each put carries the whole request, so the newest one says everything the older ones did.
  Deletes are never coalesced, and nothing is merged into the event in flight.

Events come from the iterable given to `run()` and from `submit()` (the consumer's own events:
re-attempts, repairs), which share the same ordering, limit and timeout. Each event may carry a
`context` (any object the consumer wants back); `on_outcome` receives every accepted event once,
as a `HandledEvent` with its outcome, the handler's return value (`result`) and that context, so
a consumer needs no bookkeeping of its own about which event was which.

Counters (`counts`, `in_flight`, `queued`) and the `on_outcome` hook feed metrics.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping

import attrs

from teleport_access._models import AccessRequestEvent, AccessRequestPut

__all__ = ["DispatchOutcome", "Dispatcher", "HandledEvent", "ShutdownReport"]

logger = logging.getLogger(__name__)

Handler = Callable[[AccessRequestEvent], Awaitable[object]]

# How long shutdown waits for cancelled handlers to unwind before it reports anyway.
_CANCEL_UNWIND_SECONDS = 1.0


class DispatchOutcome(enum.StrEnum):
    """How the dispatcher finished with one event."""

    #: The handler returned.
    OK = "ok"
    #: The handler raised (logged at ERROR).
    ERROR = "error"
    #: The handler ran out of time and was cancelled (logged at ERROR).
    TIMEOUT = "timeout"
    #: The handler was running when shutdown's deadline passed (or run() was cancelled).
    CANCELLED = "cancelled"
    #: Queued, never started, and replaced by a newer put for the same request.
    COALESCED = "coalesced"
    #: Queued and never started when shutdown's deadline passed.
    DROPPED = "dropped"


def event_op(event: AccessRequestEvent) -> str:
    """`put` or `delete`: the `request_op` log field and metrics label of an event."""
    return "put" if isinstance(event, AccessRequestPut) else "delete"


@attrs.frozen(kw_only=True)
class HandledEvent:
    """What the `on_outcome` hook receives for every accepted event, once."""

    event: AccessRequestEvent
    outcome: DispatchOutcome
    #: Seconds the handler ran (0 for events that never started).
    duration: float
    #: The exception a failing handler raised.
    error: BaseException | None = None
    #: What the handler returned (None unless the outcome is OK).
    result: object = None
    #: The context the event was submitted with (see `Dispatcher.run` and `submit`).
    context: object = None

    @property
    def op(self) -> str:
        return event_op(self.event)

    @property
    def request_id(self) -> str:
        return self.event.request_id


@attrs.frozen(kw_only=True)
class ShutdownReport:
    """What a graceful shutdown could not finish."""

    #: Events that finished (whatever their outcome) between the shutdown call and its deadline.
    completed: int
    #: Events whose handler was still running at the deadline and was cancelled.
    cancelled: tuple[AccessRequestEvent, ...] = ()
    #: Events accepted but never started.
    dropped: tuple[AccessRequestEvent, ...] = ()

    @property
    def clean(self) -> bool:
        """Everything accepted was finished."""
        return not self.cancelled and not self.dropped


@attrs.define
class _Entry:
    """An accepted event and the context it came with."""

    event: AccessRequestEvent
    context: object


class Dispatcher:
    """Runs `handler(event)` for each event of an async iterable, ordered per request.

    ::

        dispatcher = Dispatcher(handle, max_concurrency=128, timeout=30.0)
        runner = asyncio.create_task(dispatcher.run(watcher.events()))
        ...
        report = await dispatcher.shutdown(grace=15.0)   # on SIGTERM
        await runner

    `run()` consumes the iterable and closes it when it stops (so a watcher's stream closes).
    It returns when the iterable ends and every accepted event is finished, or when `shutdown()`
    has finished; if the iterable raises, `run()` lets accepted events finish and re-raises.
    Cancelling `run()` cancels every handler at once. A dispatcher runs once.

    `clock` (default `time.monotonic`) measures handler durations. The per-event timeout is
    enforced by the event loop's own timer (`asyncio.timeout`).
    """

    def __init__(
        self,
        handler: Handler,
        *,
        max_concurrency: int = 128,
        timeout: float | None = 30.0,
        coalesce: bool = False,
        clock: Callable[[], float] = time.monotonic,
        on_outcome: Callable[[HandledEvent], object] | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive or None, got {timeout!r}")
        self._handler = handler
        self._max = max_concurrency
        self._timeout = timeout
        self._coalesce = coalesce
        self._clock = clock
        self._on_outcome = on_outcome

        self._slots = asyncio.Semaphore(max_concurrency)
        # Per request: its events, the head one in flight. A request has a queue (and a worker
        # task) only while it has unfinished events.
        self._queues: dict[str, deque[_Entry]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._pending = 0
        self._finished = 0
        self._feeder: asyncio.Task[None] | None = None
        self._started = False
        self._closing = False
        self._shutdown_done = asyncio.Event()
        self._report: ShutdownReport | None = None
        #: Events finished, by (op, outcome): `counts["put", DispatchOutcome.OK]`.
        self.counts: Counter[tuple[str, DispatchOutcome]] = Counter()
        #: Events accepted from the source.
        self.received = 0

    # -- observable state --------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Handlers running now (at most one per request)."""
        return len(self._workers)

    @property
    def queued(self) -> int:
        """Accepted events waiting behind another event of the same request."""
        return self._pending - len(self._workers)

    @property
    def pending(self) -> int:
        """Accepted, unfinished events: `in_flight + queued`, at most `max_concurrency`."""
        return self._pending

    @property
    def closing(self) -> bool:
        return self._closing

    def pending_by_request(self) -> Mapping[str, int]:
        """Unfinished events per request id (for debugging and health pages)."""
        return {key: len(queue) for key, queue in self._queues.items()}

    # -- running -----------------------------------------------------------------------------

    async def run(
        self,
        events: AsyncIterable[AccessRequestEvent],
        *,
        context: Callable[[AccessRequestEvent], object] | None = None,
    ) -> None:
        """Dispatch every event of `events`; see the class docstring for when this returns.

        `context(event)`, if given, is called as each event is accepted; its value comes back
        in the event's `HandledEvent.context`.
        """
        if self._started:
            raise RuntimeError("a Dispatcher runs once; create a new one")
        self._started = True
        if self._closing:
            return
        feeder = asyncio.create_task(
            self._feed(events, context), name="teleport-access-dispatch-feed"
        )
        self._feeder = feeder
        try:
            await asyncio.wait({feeder})
            if feeder.cancelled():  # shutdown() stopped the feed; it also finishes the rest
                await self._shutdown_done.wait()
                return
            await self._wait_workers()
            if self.closing:  # shutdown() began while the last events finished
                await self._shutdown_done.wait()
            error = feeder.exception()
            if error is not None:
                raise error
        except asyncio.CancelledError:
            feeder.cancel()
            self._drop_queued()
            workers = list(self._workers.values())
            for worker in workers:
                worker.cancel()
            await asyncio.gather(feeder, *workers, return_exceptions=True)
            raise

    def _drop_queued(self) -> list[AccessRequestEvent]:
        """Take every event that has not started out of its queue, as DROPPED."""
        dropped: list[_Entry] = []
        for queue in self._queues.values():
            dropped.extend(itertools.islice(queue, 1, None))
            while len(queue) > 1:
                queue.pop()
        for entry in dropped:
            self._finish(entry, DispatchOutcome.DROPPED, 0.0)
        return [entry.event for entry in dropped]

    async def _wait_workers(self) -> None:
        while self._workers:
            await asyncio.wait(list(self._workers.values()))

    async def _feed(
        self,
        events: AsyncIterable[AccessRequestEvent],
        context: Callable[[AccessRequestEvent], object] | None,
    ) -> None:
        iterator = aiter(events)
        try:
            while True:
                # A slot first, then the event: at the limit we stop pulling (backpressure).
                await self._slots.acquire()
                try:
                    event = await anext(iterator)
                except BaseException:
                    self._slots.release()
                    raise
                self._accept(_Entry(event, None if context is None else context(event)))
        except StopAsyncIteration:
            return
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    async def submit(self, event: AccessRequestEvent, *, context: object = None) -> bool:
        """Accept `event` from outside the `run()` source (waiting for a free place when
        `max_concurrency` events are unfinished). False when the dispatcher is shutting down and
        did not take it; its `HandledEvent` carries `context`."""
        if self._closing:
            return False
        await self._slots.acquire()
        if self._shutting_down():  # shutdown() began while we waited for the place
            self._slots.release()
            return False
        self._accept(_Entry(event, context))
        return True

    def _shutting_down(self) -> bool:
        return self._closing

    def _accept(self, entry: _Entry) -> None:
        event = entry.event
        self.received += 1
        self._pending += 1
        key = event.request_id
        queue = self._queues.get(key)
        if queue is None:
            queue = deque((entry,))
            self._queues[key] = queue
            self._workers[key] = asyncio.create_task(self._work(key, queue))
            return
        if (
            self._coalesce
            and isinstance(event, AccessRequestPut)
            and len(queue) > 1  # queue[0] is in flight and never replaced
            and isinstance(queue[-1].event, AccessRequestPut)
        ):
            replaced = queue[-1]
            queue[-1] = entry
            self._finish(replaced, DispatchOutcome.COALESCED, 0.0)
            return
        queue.append(entry)

    async def _work(self, key: str, queue: deque[_Entry]) -> None:
        # No await between the last `while queue` check and the clean-up below, so `_accept`
        # can never append to a queue whose worker has already decided to exit.
        try:
            while queue:
                await self._handle(queue[0])
                queue.popleft()
        finally:
            del self._queues[key]
            del self._workers[key]

    async def _handle(self, entry: _Entry) -> None:
        event = entry.event
        started = self._clock()
        outcome = DispatchOutcome.OK
        error: BaseException | None = None
        result: object = None
        scope: asyncio.Timeout | None = None
        try:
            async with asyncio.timeout(self._timeout) as scope:
                result = await self._handler(event)
        except TimeoutError as exc:
            if scope is not None and scope.expired():
                outcome = DispatchOutcome.TIMEOUT
                logger.error(
                    "Access request handler timed out after %g s and was cancelled",
                    self._timeout,
                    extra=_log_fields(event),
                )
            else:  # the handler's own TimeoutError
                outcome, error = DispatchOutcome.ERROR, exc
                _log_failure(event, exc)
        except asyncio.CancelledError:
            self._finish(entry, DispatchOutcome.CANCELLED, self._clock() - started)
            raise
        except Exception as exc:
            outcome, error = DispatchOutcome.ERROR, exc
            _log_failure(event, exc)
        self._finish(entry, outcome, self._clock() - started, error, result)

    def _finish(
        self,
        entry: _Entry,
        outcome: DispatchOutcome,
        duration: float,
        error: BaseException | None = None,
        result: object = None,
    ) -> None:
        event = entry.event
        self._pending -= 1
        self._finished += 1
        self._slots.release()
        self.counts[event_op(event), outcome] += 1
        if self._on_outcome is not None:
            try:
                self._on_outcome(
                    HandledEvent(
                        event=event,
                        outcome=outcome,
                        duration=duration,
                        error=error,
                        result=result,
                        context=entry.context,
                    )
                )
            except Exception:
                logger.exception("Dispatcher on_outcome hook failed", extra=_log_fields(event))

    # -- stopping ----------------------------------------------------------------------------

    async def shutdown(self, grace: float = 15.0) -> ShutdownReport:
        """Stop taking events; finish accepted ones for up to `grace` s; cancel the rest.

        Safe to call more than once, and from another task than `run()`; later calls wait for
        the first and return its report.
        """
        if self._closing:
            await self._shutdown_done.wait()
            assert self._report is not None
            return self._report
        self._closing = True
        finished_before = self._finished
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        feeder = self._feeder
        if feeder is not None and not feeder.done():
            # Stops pulling, and closes the source (a watcher closes its stream).
            feeder.cancel()
            await asyncio.wait({feeder}, timeout=grace)

        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=max(0.0, deadline - loop.time()))
        completed = self._finished - finished_before

        cancelled = [queue[0].event for queue in self._queues.values()]
        dropped = self._drop_queued()
        still_running = list(self._workers.values())
        for worker in still_running:
            worker.cancel()
        if still_running:
            await asyncio.wait(still_running, timeout=_CANCEL_UNWIND_SECONDS)

        report = ShutdownReport(
            completed=completed, cancelled=tuple(cancelled), dropped=tuple(dropped)
        )
        if not report.clean:
            logger.warning(
                "Dispatcher shut down after %g s: cancelled %d running handler(s), dropped %d "
                "queued event(s) (request ids: %s)",
                grace,
                len(report.cancelled),
                len(report.dropped),
                ", ".join(sorted({e.request_id for e in (*report.cancelled, *report.dropped)})),
            )
        self._report = report
        self._shutdown_done.set()
        return report


def _log_fields(event: AccessRequestEvent) -> dict[str, object]:
    fields: dict[str, object] = {"request_id": event.request_id, "request_op": event_op(event)}
    if isinstance(event, AccessRequestPut):
        fields["request_state"] = event.request.state.name
    return fields


def _log_failure(event: AccessRequestEvent, error: BaseException) -> None:
    logger.error(
        "Failed to handle access request event: %s",
        error,
        exc_info=error,
        extra=_log_fields(event),
    )
