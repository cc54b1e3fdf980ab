"""AccessRequestWatcher, one connection and the reconnect loop, against a scripted source.

Reconciliation has its own module (test_watcher_reconcile.py); these tests mostly turn it off
so that the only calls are the scripted streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from teleport_access._backoff import DecorrelatedJitter
from teleport_access._exceptions import AccessDenied, ConnectionProblem
from teleport_access._models import AccessRequestEvent, WatchInit
from teleport_access._watcher import (
    AccessRequestWatcher,
    default_watch_backoff,
    watch_access_requests,
)
from tests.teleport_access.watcher_fakes import (
    INIT,
    Gate,
    Hang,
    Pause,
    Raise,
    RecordingBackoff,
    ScriptedSource,
    Signal,
    Step,
    VirtualTime,
    delete,
    put,
)

WATCHER_LOGGER = "teleport_access._watcher"


@pytest.fixture
async def vtime() -> AsyncIterator[VirtualTime]:
    async with VirtualTime() as vt:
        yield vt


def make_watcher(
    source: ScriptedSource, vtime: VirtualTime, **options: Any
) -> tuple[AccessRequestWatcher, RecordingBackoff]:
    backoff = RecordingBackoff()
    options.setdefault("reconcile", False)
    watcher = AccessRequestWatcher(
        source, sleep=vtime.sleep, clock=vtime.clock, backoff=lambda: backoff, **options
    )
    return watcher, backoff


async def take(watcher: AccessRequestWatcher, count: int) -> list[AccessRequestEvent]:
    """The first `count` events, then stop the watcher the way a consumer would (aclose)."""
    events: list[AccessRequestEvent] = []
    async with contextlib.aclosing(watcher.events()) as stream:
        async for event in stream:
            events.append(event)
            if len(events) == count:
                break
    return events


async def test_events_after_init_are_yielded_in_stream_order(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, put("a"), put("b", reviews=1), delete("a"), Hang()]])
    watcher, _ = make_watcher(source, vtime)
    assert await take(watcher, 3) == [put("a"), put("b", reviews=1), delete("a")]


async def test_watch_asks_only_for_access_requests(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, put("a")]])
    watcher, _ = make_watcher(source, vtime)
    await take(watcher, 1)
    assert source.watch_calls == [("access_request",)]


async def test_missing_init_times_out_after_fifteen_seconds_and_reconnects(
    vtime: VirtualTime,
) -> None:
    source = ScriptedSource([[Hang()], [INIT, put("a")]])
    watcher, backoff = make_watcher(source, vtime)
    assert await take(watcher, 1) == [put("a")]
    assert isinstance(watcher.last_error, ConnectionProblem)
    assert str(watcher.last_error) == "watcher initialization timed out after 15 s"
    assert backoff.delays == [0.06]
    assert vtime.now == pytest.approx(15.06)


async def test_init_timeout_is_configurable(vtime: VirtualTime) -> None:
    source = ScriptedSource([[Hang()], [INIT, put("a")]])
    watcher, _ = make_watcher(source, vtime, init_timeout=2.5)
    await take(watcher, 1)
    assert str(watcher.last_error) == "watcher initialization timed out after 2.5 s"


async def test_first_message_other_than_init_is_a_connection_problem(vtime: VirtualTime) -> None:
    source = ScriptedSource([[put("early"), put("lost")], [INIT, put("a")]])
    watcher, _ = make_watcher(source, vtime)
    assert await take(watcher, 1) == [put("a")]
    assert isinstance(watcher.last_error, ConnectionProblem)
    assert str(watcher.last_error).startswith("unexpected event type AccessRequestPut")


async def test_end_of_stream_reconnects_and_logs_a_warning(
    vtime: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, WATCHER_LOGGER)
    source = ScriptedSource([[INIT, put("a")], [INIT, put("b")]])
    watcher, _ = make_watcher(source, vtime)
    assert await take(watcher, 2) == [put("a"), put("b")]
    assert watcher.reconnects == 1
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("Watcher stream closed. Attempting to reconnect")


async def test_connection_problem_reconnects_and_logs_the_cause(
    vtime: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, WATCHER_LOGGER)
    source = ScriptedSource(
        [[INIT, put("a"), Raise(ConnectionProblem("socket closed"))], [INIT, put("b")]]
    )
    watcher, _ = make_watcher(source, vtime)
    assert await take(watcher, 2) == [put("a"), put("b")]
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith("Connection problem detected. Attempting to reconnect")
    assert "socket closed" in message
    assert str(watcher.last_error) == "socket closed"


async def test_refusal_is_logged_as_an_error_and_retried(
    vtime: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, WATCHER_LOGGER)
    denied = AccessDenied("access denied to perform action watch", code="PERMISSION_DENIED")
    source = ScriptedSource([[Raise(denied)], [Raise(denied)], [INIT, put("a")]])
    watcher, backoff = make_watcher(source, vtime)
    assert await take(watcher, 1) == [put("a")]
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.ERROR]
    assert "PERMISSION_DENIED" in caplog.records[0].getMessage()
    assert backoff.delays == [0.06, 0.18]
    assert watcher.last_error is denied


async def test_fail_fast_raises_a_refusal(vtime: VirtualTime) -> None:
    denied = AccessDenied("denied", code="PERMISSION_DENIED")
    source = ScriptedSource([[Raise(denied)], [INIT, put("a")]])
    watcher, _ = make_watcher(source, vtime, fail_fast=True)
    with pytest.raises(AccessDenied):
        await take(watcher, 1)
    assert len(source.watch_calls) == 1


async def test_fail_fast_raises_a_connection_problem_when_the_stream_ends(
    vtime: VirtualTime,
) -> None:
    source = ScriptedSource([[INIT, put("a")], [INIT, put("b")]])
    watcher, _ = make_watcher(source, vtime, fail_fast=True)
    received: list[AccessRequestEvent] = []

    async def consume() -> None:
        async for event in watcher.events():
            received.append(event)

    with pytest.raises(ConnectionProblem, match="watch stream closed"):
        await consume()
    assert received == [put("a")]


async def test_errors_that_are_not_teleport_errors_propagate(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, Raise(ValueError("a bug"))]])
    watcher, _ = make_watcher(source, vtime)
    with pytest.raises(ValueError, match="a bug"):
        await take(watcher, 1)


async def test_failed_attempts_back_off_with_decorrelated_jitter(vtime: VirtualTime) -> None:
    failure = Raise(ConnectionProblem("refused"))
    source = ScriptedSource([[failure], [failure], [failure], [failure], [INIT, put("a")]])
    watcher, backoff = make_watcher(source, vtime)
    await take(watcher, 1)
    assert backoff.delays == [0.06, 0.18, 0.54, 1.62]
    assert watcher.reconnects == 4
    assert vtime.sleeps.count(15.0) == 5  # every attempt armed the INIT timer
    assert vtime.now == pytest.approx(0.06 + 0.18 + 0.54 + 1.62)


async def test_default_backoff_is_capped_at_five_seconds(vtime: VirtualTime) -> None:
    failures = [[Raise(ConnectionProblem("refused"))] for _ in range(8)]
    source = ScriptedSource([*failures, [INIT, put("a")]])
    watcher, backoff = make_watcher(source, vtime)
    await take(watcher, 1)
    assert backoff.delays == [0.06, 0.18, 0.54, 1.62, 4.86, 5.0, 5.0, 5.0]


async def test_backoff_restarts_after_a_connection_that_stayed_up(vtime: VirtualTime) -> None:
    failure = Raise(ConnectionProblem("refused"))
    source = ScriptedSource(
        [[failure], [failure], [INIT, Pause(6.0)], [INIT, put("a")]], sleep=vtime
    )
    watcher, backoff = make_watcher(source, vtime, init_timeout=None)
    await take(watcher, 1)
    assert backoff.delays == [0.06, 0.18, 0.06]
    assert backoff.resets == 1


async def test_backoff_keeps_growing_when_connections_drop_right_after_init(
    vtime: VirtualTime,
) -> None:
    failure = Raise(ConnectionProblem("refused"))
    source = ScriptedSource([[failure], [INIT, Pause(1.0)], [INIT], [INIT, put("a")]], sleep=vtime)
    watcher, backoff = make_watcher(source, vtime, init_timeout=None)
    await take(watcher, 1)
    assert backoff.delays == [0.06, 0.18, 0.54]
    assert backoff.resets == 0


async def test_stable_after_zero_restarts_the_backoff_after_every_init(
    vtime: VirtualTime,
) -> None:
    source = ScriptedSource([[INIT], [INIT], [INIT, put("a")]])
    watcher, backoff = make_watcher(source, vtime, stable_after=0.0)
    await take(watcher, 1)
    assert backoff.delays == [0.06, 0.06]


async def test_ready_is_set_at_the_first_init_and_stays_set(vtime: VirtualTime) -> None:
    gate = asyncio.Event()
    source = ScriptedSource([[INIT, Gate(gate), put("a")], [INIT, put("b")]])
    watcher, _ = make_watcher(source, vtime)
    before = watcher.ready
    consumer = asyncio.create_task(take(watcher, 2))
    await asyncio.wait_for(watcher.wait_ready(), 5)
    at_first_init = (watcher.ready, watcher.connected, watcher.connections)
    gate.set()
    assert await consumer == [put("a"), put("b")]
    after = (watcher.ready, watcher.connected, watcher.connections)
    assert before is False
    assert at_first_init == (True, True, 1)
    assert after == (True, False, 2)  # still ready; disconnected because the consumer stopped


async def test_connected_is_false_while_reconnecting(vtime: VirtualTime) -> None:
    gate = asyncio.Event()
    reconnecting = asyncio.Event()
    source = ScriptedSource([[INIT, put("a")], [Signal(reconnecting), Gate(gate), INIT, put("b")]])
    watcher, _ = make_watcher(source, vtime, init_timeout=None)
    states: list[bool] = []
    async with contextlib.aclosing(watcher.events()) as events:
        assert await anext(events) == put("a")
        states.append(watcher.connected)
        second = asyncio.ensure_future(anext(events))
        await reconnecting.wait()
        states.append(watcher.connected)
        gate.set()
        assert await second == put("b")
        states.append(watcher.connected)
    assert states == [True, False, True]


async def test_hooks_see_each_connect_and_disconnect(vtime: VirtualTime) -> None:
    calls: list[tuple[str, object]] = []
    scripts: list[list[Step]] = [
        [INIT, put("a"), Raise(ConnectionProblem("dropped"))],
        [Raise(AccessDenied("no"))],
        [WatchInit(), put("b")],
    ]
    source = ScriptedSource(scripts)
    watcher, _ = make_watcher(
        source,
        vtime,
        on_connect=lambda init: calls.append(("connect", init)),
        on_disconnect=lambda error: calls.append(("disconnect", str(error) if error else None)),
    )
    await take(watcher, 2)
    assert calls == [
        ("connect", INIT),
        ("disconnect", "dropped"),
        ("connect", WatchInit()),
        ("disconnect", None),
    ]


async def test_a_failing_hook_is_logged_and_does_not_stop_the_watcher(
    vtime: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(init: WatchInit) -> None:
        raise RuntimeError("metrics backend down")

    source = ScriptedSource([[INIT, put("a")]])
    watcher, _ = make_watcher(source, vtime, on_connect=broken)
    assert await take(watcher, 1) == [put("a")]
    assert any("hook" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_unconfirmed_kind_is_warned_about(
    vtime: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    source = ScriptedSource([[WatchInit(confirmed_kinds=("role",), status_sent=True), put("a")]])
    watcher, _ = make_watcher(source, vtime)
    await take(watcher, 1)
    assert any("did not confirm" in r.getMessage() for r in caplog.records)


async def test_a_second_init_on_the_same_stream_is_ignored(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, put("a"), INIT, put("b")]])
    watcher, _ = make_watcher(source, vtime)
    assert await take(watcher, 2) == [put("a"), put("b")]
    assert watcher.connections == 1


async def test_cancelling_the_consumer_closes_the_stream(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, put("a"), Hang()]])
    watcher, _ = make_watcher(source, vtime)
    received = asyncio.Event()

    async def consume() -> None:
        async for _event in watcher.events():
            received.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(received.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.streams_closed == 1
    assert not watcher.connected


async def test_cancelling_during_the_reconnect_delay_stops_cleanly(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, put("a")]])
    watcher, _ = make_watcher(source, vtime, init_timeout=None)
    events = watcher.events()
    assert await anext(events) == put("a")
    pending = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    assert source.streams_closed == 1


async def test_one_watcher_cannot_be_consumed_twice(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, put("a"), Hang()]])
    watcher, _ = make_watcher(source, vtime)
    first = watcher.events()
    await anext(first)
    with pytest.raises(RuntimeError, match="already running"):
        await anext(watcher.events())
    await first.aclose()


async def test_watch_access_requests_yields_the_watchers_events(vtime: VirtualTime) -> None:
    source = ScriptedSource([[INIT, put("a"), Raise(ConnectionProblem("x"))], [INIT, delete("a")]])
    received: list[AccessRequestEvent] = []
    async for event in watch_access_requests(
        source, sleep=vtime.sleep, clock=vtime.clock, reconcile=False
    ):
        received.append(event)
        if len(received) == 2:
            break
    assert received == [put("a"), delete("a")]


async def test_slow_consumer_holds_the_stream_back(vtime: VirtualTime) -> None:
    reached_end = asyncio.Event()
    script: list[Step] = [INIT, *(put(f"r{n}") for n in range(500)), Signal(reached_end), Hang()]
    source = ScriptedSource([script])
    watcher, _ = make_watcher(source, vtime)
    events = watcher.events()
    await anext(events)
    for _ in range(100):
        await asyncio.sleep(0)
    assert not reached_end.is_set()  # the pump paused at its high-water mark
    for _ in range(499):
        await anext(events)
    await events.aclose()


def test_default_reconnect_schedule_is_the_go_plugins() -> None:
    backoff = default_watch_backoff()
    assert isinstance(backoff, DecorrelatedJitter)
    assert (backoff.base, backoff.cap, backoff.multiplier) == (0.02, 5.0, 3.0)
