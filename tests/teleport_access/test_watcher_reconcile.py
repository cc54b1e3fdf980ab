"""The watcher's catch-up after every connect: listing, synthesized deletes, stream races."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest

from teleport_access._exceptions import AccessDenied, ConnectionProblem
from teleport_access._models import AccessRequestEvent, RequestState
from teleport_access._watcher import AccessRequestWatcher, ReconcileStats, _Reconciliation
from tests.teleport_access.watcher_fakes import (
    INIT,
    Gate,
    Hang,
    Listing,
    Raise,
    RecordingBackoff,
    ScriptedSource,
    Signal,
    Step,
    VirtualTime,
    delete,
    put,
    request,
)

APPROVED = RequestState.APPROVED


@pytest.fixture
async def vtime() -> AsyncIterator[VirtualTime]:
    async with VirtualTime() as vt:
        yield vt


def make_watcher(
    source: ScriptedSource, vtime: VirtualTime, **options: Any
) -> AccessRequestWatcher:
    return AccessRequestWatcher(
        source, sleep=vtime.sleep, clock=vtime.clock, backoff=RecordingBackoff, **options
    )


async def take(watcher: AccessRequestWatcher, count: int) -> list[AccessRequestEvent]:
    events: list[AccessRequestEvent] = []
    async with contextlib.aclosing(watcher.events()) as stream:
        async for event in stream:
            events.append(event)
            if len(events) == count:
                break
    return events


# -- what a catch-up delivers ---------------------------------------------------------------------


async def test_listed_requests_come_first_as_reconciled_puts_oldest_first(
    vtime: VirtualTime,
) -> None:
    listing = Listing([request("new", age=5), request("old", age=1)])
    source = ScriptedSource([[INIT, put("live")]], [listing])
    watcher = make_watcher(source, vtime)
    assert await take(watcher, 3) == [
        put("old", age=1, reconciled=True),
        put("new", age=5, reconciled=True),
        put("live"),
    ]


async def test_every_connect_lists_again(vtime: VirtualTime) -> None:
    source = ScriptedSource(
        [[INIT, put("a")], [INIT, put("b")]],
        [Listing([]), Listing([request("a", state=APPROVED)])],
    )
    watcher = make_watcher(source, vtime)
    assert await take(watcher, 3) == [
        put("a"),
        put("a", state=APPROVED, reconciled=True),
        put("b"),
    ]
    assert source.list_calls == 2


async def test_a_request_that_vanished_while_disconnected_is_delivered_as_deleted(
    vtime: VirtualTime,
) -> None:
    source = ScriptedSource(
        [[INIT, put("a"), put("b")], [INIT, put("c")]],
        [Listing([]), Listing([request("b")])],
    )
    watcher = make_watcher(source, vtime)
    assert await take(watcher, 5) == [
        put("a"),
        put("b"),
        put("b", reconciled=True),
        delete("a", reconciled=True),
        put("c"),
    ]


async def test_a_request_deleted_on_the_stream_is_not_deleted_again(vtime: VirtualTime) -> None:
    source = ScriptedSource(
        [[INIT, put("a"), delete("a")], [INIT, put("c")]],
        [Listing([]), Listing([])],
    )
    watcher = make_watcher(source, vtime)
    assert await take(watcher, 3) == [put("a"), delete("a"), put("c")]
    assert watcher.known_request_ids == {"c"}


async def test_stats_and_hook_report_each_catch_up(vtime: VirtualTime) -> None:
    seen: list[ReconcileStats] = []
    source = ScriptedSource(
        [[INIT, put("gone")], [INIT, put("x")]],
        [Listing([]), Listing([request("p"), request("q")])],
    )
    watcher = make_watcher(source, vtime, on_reconcile=seen.append)
    await take(watcher, 5)
    expected = ReconcileStats(listed=2, puts=2, deletes=1, superseded=0)
    assert seen == [ReconcileStats(listed=0, puts=0, deletes=0, superseded=0), expected]
    assert watcher.last_reconcile == expected


async def test_reconcile_off_never_lists(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, put("a")], [INIT, put("b")]], [Listing([request("z")])])
    watcher = make_watcher(source, vtime, reconcile=False)
    assert await take(watcher, 2) == [put("a"), put("b")]
    assert source.list_calls == 0


# -- races between the listing and the stream ----------------------------------------------------


async def test_stream_events_during_the_listing_supersede_the_listed_copy(
    vtime: VirtualTime,
) -> None:
    streamed = asyncio.Event()
    script: list[Step] = [INIT, put("a", reviews=1), delete("b"), Signal(streamed), Hang()]
    listing = Listing([request("a"), request("b"), request("c")], gate=streamed)
    source = ScriptedSource([script], [listing])
    watcher = make_watcher(source, vtime)
    assert await take(watcher, 3) == [
        put("c", reconciled=True),
        put("a", reviews=1),
        delete("b"),
    ]
    assert watcher.last_reconcile == ReconcileStats(listed=3, puts=1, deletes=0, superseded=2)


async def test_a_late_older_put_after_the_listing_is_dropped(vtime: VirtualTime) -> None:
    listed = asyncio.Event()
    script: list[Step] = [
        INIT,
        Gate(listed),
        put("a", reviews=1),  # made before the listing, arrived after it: stale
        put("a", reviews=3),
        Hang(),
    ]
    source = ScriptedSource([script], [Listing([request("a", reviews=2)])])
    watcher = make_watcher(source, vtime)
    received: list[AccessRequestEvent] = []
    async with contextlib.aclosing(watcher.events()) as events:
        received.append(await anext(events))
        listed.set()
        received.append(await anext(events))
    assert received == [put("a", reviews=2, reconciled=True), put("a", reviews=3)]
    assert watcher.stale_dropped == 1


async def test_a_pending_echo_of_a_request_listed_as_resolved_is_dropped(
    vtime: VirtualTime,
) -> None:
    listed = asyncio.Event()
    script: list[Step] = [INIT, Gate(listed), put("a", reviews=1), put("z"), Hang()]
    source = ScriptedSource([script], [Listing([request("a", state=APPROVED, reviews=1)])])
    watcher = make_watcher(source, vtime)
    received: list[AccessRequestEvent] = []
    async with contextlib.aclosing(watcher.events()) as events:
        received.append(await anext(events))
        listed.set()
        received.append(await anext(events))
    assert received == [put("a", state=APPROVED, reviews=1, reconciled=True), put("z")]


async def test_the_same_version_on_the_stream_is_delivered_and_ends_the_stale_check(
    vtime: VirtualTime,
) -> None:
    listed = asyncio.Event()
    script: list[Step] = [INIT, Gate(listed), put("a", reviews=2), put("a", reviews=3), Hang()]
    source = ScriptedSource([script], [Listing([request("a", reviews=2)])])
    watcher = make_watcher(source, vtime)
    received: list[AccessRequestEvent] = []
    async with contextlib.aclosing(watcher.events()) as events:
        received.append(await anext(events))
        listed.set()
        received.append(await anext(events))
        received.append(await anext(events))
    assert received == [
        put("a", reviews=2, reconciled=True),
        put("a", reviews=2),
        put("a", reviews=3),
    ]


async def test_a_late_echo_of_a_reconciled_delete_is_dropped(vtime: VirtualTime) -> None:
    listed = asyncio.Event()
    second: list[Step] = [INIT, Gate(listed), put("a", reviews=1), delete("a"), put("z"), Hang()]
    source = ScriptedSource([[INIT, put("a")], second], [Listing([]), Listing([])])
    watcher = make_watcher(source, vtime)
    received: list[AccessRequestEvent] = []
    async with contextlib.aclosing(watcher.events()) as events:
        received.append(await anext(events))
        received.append(await anext(events))
        listed.set()
        received.append(await anext(events))
    assert received == [put("a"), delete("a", reconciled=True), put("z")]
    assert watcher.stale_dropped == 2


async def test_a_slow_listing_does_not_stall_the_stream(vtime: VirtualTime) -> None:
    drained = asyncio.Event()
    script: list[Step] = [INIT, *(put(f"r{n}") for n in range(300)), Signal(drained), Hang()]
    source = ScriptedSource([script], [Listing([request("old")], gate=drained)])
    watcher = make_watcher(source, vtime)
    events = await take(watcher, 301)
    assert events[0] == put("old", reconciled=True)
    assert events[1:] == [put(f"r{n}") for n in range(300)]


# -- listing failures ----------------------------------------------------------------------------


async def test_a_connection_problem_while_listing_reconnects(vtime: VirtualTime) -> None:
    source = ScriptedSource(
        [[INIT, put("lost"), Hang()], [INIT, put("b")]],
        [Listing(error=ConnectionProblem("listing failed")), Listing([request("a")])],
    )
    watcher = make_watcher(source, vtime)
    assert await take(watcher, 2) == [put("a", reconciled=True), put("b")]
    assert str(watcher.last_error) == "listing failed"
    assert source.streams_closed >= 1


async def test_a_listing_that_hangs_times_out_and_reconnects(vtime: VirtualTime) -> None:
    source = ScriptedSource(
        [[INIT, Hang()], [INIT, put("b")]],
        [Listing(hang=True), Listing([])],
    )
    watcher = make_watcher(source, vtime, list_timeout=30.0)
    assert await take(watcher, 1) == [put("b")]
    assert str(watcher.last_error) == "listing access requests to reconcile timed out after 30 s"


async def test_a_refused_listing_is_logged_and_live_events_still_flow(
    vtime: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "teleport_access._watcher")
    denied = AccessDenied("access denied to perform action list", code="PERMISSION_DENIED")
    source = ScriptedSource([[INIT, put("a")]], [Listing(error=denied)])
    watcher = make_watcher(source, vtime)
    assert await take(watcher, 1) == [put("a")]
    [record] = caplog.records
    assert "Could not list access requests" in record.getMessage()
    assert "PERMISSION_DENIED" in record.getMessage()


async def test_a_refused_listing_is_raised_with_fail_fast(vtime: VirtualTime) -> None:
    denied = AccessDenied("no list", code="PERMISSION_DENIED")
    source = ScriptedSource([[INIT, put("a")]], [Listing(error=denied)])
    watcher = make_watcher(source, vtime, fail_fast=True)
    with pytest.raises(AccessDenied):
        await take(watcher, 1)


async def test_a_stream_that_ends_during_the_listing_delivers_what_it_sent_and_reconnects(
    vtime: VirtualTime,
) -> None:
    never = asyncio.Event()
    source = ScriptedSource(
        [[INIT, put("a"), Raise(ConnectionProblem("gone"))], [INIT, put("b")]],
        [Listing([request("x")], gate=never), Listing([request("a")])],
    )
    watcher = make_watcher(source, vtime)
    assert await take(watcher, 3) == [put("a"), put("a", reconciled=True), put("b")]
    assert str(watcher.last_error) == "gone"


# -- the pure decisions --------------------------------------------------------------------------


def test_catch_up_orders_by_creation_and_deletes_known_ids_missing_from_the_listing() -> None:
    catch_up = _Reconciliation(
        [request("b", age=2), request("a", age=2), request("z", age=0)],
        known_ids={"a", "gone2", "gone1"},
        streamed_ids=(),
    )
    assert catch_up.events == [
        put("z", reconciled=True),
        put("a", age=2, reconciled=True),
        put("b", age=2, reconciled=True),
        delete("gone1", reconciled=True),
        delete("gone2", reconciled=True),
    ]


def test_catch_up_leaves_streamed_requests_to_the_stream() -> None:
    catch_up = _Reconciliation([request("a")], known_ids={"a", "b"}, streamed_ids={"a", "b"})
    assert catch_up.events == []
    assert catch_up.stats == ReconcileStats(listed=1, puts=0, deletes=0, superseded=1)


def test_catch_up_admits_events_of_requests_it_did_not_deliver() -> None:
    catch_up = _Reconciliation([], known_ids=(), streamed_ids=())
    assert catch_up.admit(put("new"))
    assert catch_up.admit(delete("other"))


def test_catch_up_admits_a_delete_of_a_listed_request() -> None:
    catch_up = _Reconciliation([request("a", reviews=2)], known_ids=(), streamed_ids=())
    assert catch_up.admit(delete("a"))


def test_catch_up_admits_a_resolution_of_a_listed_pending_request() -> None:
    catch_up = _Reconciliation([request("a", reviews=1)], known_ids=(), streamed_ids=())
    assert catch_up.admit(put("a", reviews=1, state=RequestState.DENIED))


def test_catch_up_drops_an_approval_that_arrives_after_a_listed_denial() -> None:
    # A denial is final; the approval on the stream is the version the denial replaced.
    denied = attrs.evolve(request("a", reviews=1), state=RequestState.DENIED)
    catch_up = _Reconciliation([denied], known_ids=(), streamed_ids=())
    assert not catch_up.admit(put("a", reviews=1, state=APPROVED))
    assert catch_up.admit(put("a", reviews=1, state=RequestState.DENIED))


def test_a_request_without_creation_time_sorts_first() -> None:
    undated = attrs.evolve(request("u"), created=None)
    catch_up = _Reconciliation([request("a"), undated], known_ids=(), streamed_ids=())
    assert [e.request_id for e in catch_up.events] == ["u", "a"]


async def test_known_ids_follow_delivered_events(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, put("a"), put("b"), delete("a"), Hang()]], [Listing([])])
    watcher = make_watcher(source, vtime)
    await take(watcher, 3)
    assert watcher.known_request_ids == {"b"}
