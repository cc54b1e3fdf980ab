"""In-memory fakes for the watcher and dispatcher tests: virtual time and a scripted WatchSource.

`VirtualTime` gives the code under test a `clock` and a `sleep`; a background task lets every
runnable task settle, then wakes the earliest sleeper and moves the clock to its deadline. So a
15 s INIT timeout or a 5 s reconnect delay passes instantly, and tests assert exact times.

`ScriptedSource` plays one script per `watch()` call: messages to yield, errors to raise, and
steps that wait (for a test-controlled event, for virtual time, or forever).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType

import attrs

from teleport_access._backoff import DecorrelatedJitter
from teleport_access._models import (
    AccessMonitoringRule,
    AccessMonitoringRuleFilter,
    AccessRequest,
    AccessRequestDelete,
    AccessRequestFilter,
    AccessRequestPut,
    AccessReview,
    RequestState,
    WatchInit,
    WatchMessage,
)

# Loop iterations to let every runnable task progress before time moves. The fakes never do I/O,
# so a chain of N awaits settles in about N iterations; 50 leaves a wide margin.
SETTLE_ITERATIONS = 50


class VirtualTime:
    """A clock and a sleep whose time only moves when nothing else can run."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._advancer: asyncio.Task[None] | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._order), future))
        await future

    async def _advance_forever(self) -> None:
        while True:
            for _ in range(SETTLE_ITERATIONS):
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # a cancelled sleep
            if self._sleepers:
                deadline, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, deadline)
                future.set_result(None)
            else:
                await asyncio.sleep(0.001)  # nothing sleeps: wait for real work without spinning

    async def __aenter__(self) -> VirtualTime:
        self._advancer = asyncio.create_task(self._advance_forever())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._advancer is not None
        self._advancer.cancel()
        await asyncio.gather(self._advancer, return_exceptions=True)


# -- script steps --------------------------------------------------------------------------------


@attrs.frozen
class Raise:
    """Raise this error from the stream."""

    error: BaseException


@attrs.frozen
class Pause:
    """Let `seconds` of virtual time pass inside the stream."""

    seconds: float


@attrs.frozen
class Gate:
    """Wait until the test sets this event."""

    event: asyncio.Event


@attrs.frozen
class Signal:
    """Set this event (the test, or a gated listing, is waiting for this point of the stream)."""

    event: asyncio.Event


class Hang:
    """Never yield again (until cancelled)."""


Step = WatchMessage | Raise | Pause | Gate | Signal | Hang


@attrs.frozen
class Listing:
    """One scripted answer of `list_access_requests`: requests or an error, maybe gated."""

    requests: Sequence[AccessRequest] = ()
    error: BaseException | None = None
    gate: asyncio.Event | None = None
    hang: bool = False


class ScriptedSource:
    """A WatchSource that plays one script per watch() call and one Listing per list call.

    When the scripts run out, further streams hang; when the listings run out, the listing
    returns `default_listing`.
    """

    def __init__(
        self,
        streams: Sequence[Sequence[Step]] = (),
        listings: Sequence[Listing] = (),
        *,
        sleep: VirtualTime | None = None,
        default_listing: Sequence[AccessRequest] = (),
    ) -> None:
        self._streams = [list(script) for script in streams]
        self._listings = list(listings)
        self._time = sleep
        self.default_listing = list(default_listing)
        self.watch_calls: list[tuple[str, ...]] = []
        self.list_calls = 0
        #: The rules `list_access_monitoring_rules` answers with, and how often it was asked.
        self.rules: list[AccessMonitoringRule] = []
        self.rule_list_calls = 0
        self.streams_closed = 0
        self.stream_open = asyncio.Event()

    def watch(
        self, kinds: Sequence[str] = ("access_request",), *, allow_partial_success: bool = False
    ) -> AsyncIterator[WatchMessage]:
        self.watch_calls.append(tuple(kinds))
        script: list[Step] = self._streams.pop(0) if self._streams else [Hang()]
        return self._play(script)

    async def _play(self, script: list[Step]) -> AsyncIterator[WatchMessage]:
        self.stream_open.set()
        try:
            for step in script:
                if isinstance(step, Raise):
                    raise step.error
                if isinstance(step, Pause):
                    assert self._time is not None, "Pause needs the source to know the time"
                    await self._time.sleep(step.seconds)
                elif isinstance(step, Gate):
                    await step.event.wait()
                elif isinstance(step, Signal):
                    step.event.set()
                elif isinstance(step, Hang):
                    await asyncio.Event().wait()
                else:
                    yield step
        finally:
            self.streams_closed += 1

    async def list_access_requests(
        self, filter: AccessRequestFilter | None = None
    ) -> list[AccessRequest]:
        self.list_calls += 1
        listing = self._listings.pop(0) if self._listings else Listing(self.default_listing)
        if listing.gate is not None:
            await listing.gate.wait()
        if listing.hang:
            await asyncio.Event().wait()
        if listing.error is not None:
            raise listing.error
        return list(listing.requests)

    async def list_access_monitoring_rules(
        self, filter: AccessMonitoringRuleFilter | None = None
    ) -> list[AccessMonitoringRule]:
        self.rule_list_calls += 1
        return list(self.rules)


# -- builders ------------------------------------------------------------------------------------

EPOCH = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def request(
    request_id: str,
    *,
    state: RequestState = RequestState.PENDING,
    reviews: int = 0,
    age: int = 0,
) -> AccessRequest:
    """A request created `age` minutes after EPOCH with `reviews` reviews."""
    return AccessRequest(
        id=request_id,
        user="alice@example.com",
        roles=("editor",),
        state=state,
        created=EPOCH + timedelta(minutes=age),
        reviews=tuple(
            AccessReview(author=f"reviewer{n}", proposed_state=RequestState.APPROVED)
            for n in range(reviews)
        ),
    )


def put(
    request_id: str,
    *,
    state: RequestState = RequestState.PENDING,
    reviews: int = 0,
    age: int = 0,
    reconciled: bool = False,
) -> AccessRequestPut:
    return AccessRequestPut(
        request=request(request_id, state=state, reviews=reviews, age=age), reconciled=reconciled
    )


def delete(request_id: str, *, reconciled: bool = False) -> AccessRequestDelete:
    return AccessRequestDelete(request_id=request_id, reconciled=reconciled)


INIT = WatchInit(confirmed_kinds=("access_request",), status_sent=True)


class UpperBoundRandom(random.Random):
    """Always draws the top of the range, so decorrelated jitter triples: 0.06, 0.18, 0.54..."""

    def uniform(self, a: float, b: float) -> float:
        return b


class RecordingBackoff(DecorrelatedJitter):
    """The watcher's default schedule with a predictable random source, recording its use."""

    def __init__(self) -> None:
        super().__init__(0.02, 5.0, rng=UpperBoundRandom(0))
        self.delays: list[float] = []
        self.resets = 0

    def next_delay(self) -> float:
        delay = round(super().next_delay(), 6)
        self.delays.append(delay)
        return delay

    def reset(self) -> None:
        super().reset()
        self.resets += 1
