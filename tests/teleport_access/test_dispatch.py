"""Dispatcher: per-request order, concurrency across requests, backpressure, timeouts, shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable

import pytest

from teleport_access._dispatch import Dispatcher, DispatchOutcome, HandledEvent, ShutdownReport
from teleport_access._models import AccessRequestEvent, RequestState
from tests.teleport_access.watcher_fakes import delete, put

DISPATCH_LOGGER = "teleport_access._dispatch"
OK, ERROR, TIMEOUT = DispatchOutcome.OK, DispatchOutcome.ERROR, DispatchOutcome.TIMEOUT


class Source:
    """An async iterable over fixed events that records how far it was pulled and closed."""

    def __init__(self, events: Iterable[AccessRequestEvent], *, then_hang: bool = False) -> None:
        self.events = list(events)
        self.then_hang = then_hang
        self.pulled = 0
        self.closed = False

    async def _iterate(self) -> AsyncIterator[AccessRequestEvent]:
        try:
            for event in self.events:
                self.pulled += 1
                yield event
            if self.then_hang:
                await asyncio.Event().wait()
        finally:
            self.closed = True

    def __aiter__(self) -> AsyncIterator[AccessRequestEvent]:
        return self._iterate()


class Recorder:
    """A handler that logs start/end per event and can be held per event label."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.gates: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.held: set[str] = set()
        self.started: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.cancelled: list[str] = []

    def hold(self, *labels: str) -> None:
        self.held.update(labels)

    def release(self, label: str) -> None:
        self.gates[label].set()

    async def __call__(self, event: AccessRequestEvent) -> None:
        label = label_of(event)
        self.log.append(f"start {label}")
        self.started[label].set()
        try:
            if label in self.held:
                await self.gates[label].wait()
        except asyncio.CancelledError:
            self.cancelled.append(label)
            raise
        self.log.append(f"end {label}")


def label_of(event: AccessRequestEvent) -> str:
    """`a` + review count for puts (`a0`, `a1`), `a-` for deletes."""
    if hasattr(event, "request"):
        return f"{event.request_id}{len(event.request.reviews)}"
    return f"{event.request_id}-"


async def run_briefly(dispatcher: Dispatcher, source: Source) -> None:
    await asyncio.wait_for(dispatcher.run(source), 10)


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_every_event_is_handled_and_run_returns_when_the_source_ends() -> None:
    recorder = Recorder()
    dispatcher = Dispatcher(recorder)
    source = Source([put("a"), put("b"), delete("a")])
    await run_briefly(dispatcher, source)
    assert sorted(e for e in recorder.log if e.startswith("end")) == ["end a-", "end a0", "end b0"]
    assert dispatcher.counts == {("put", OK): 2, ("delete", OK): 1}
    assert dispatcher.pending == 0
    assert source.closed


async def test_events_of_one_request_run_one_at_a_time_in_arrival_order() -> None:
    recorder = Recorder()
    recorder.hold("a0", "a1")
    dispatcher = Dispatcher(recorder)
    runner = asyncio.create_task(
        dispatcher.run(Source([put("a"), put("a", reviews=1), put("a", reviews=2), delete("a")]))
    )
    await recorder.started["a0"].wait()
    await settle()
    assert recorder.log == ["start a0"]
    assert (dispatcher.in_flight, dispatcher.queued) == (1, 3)
    recorder.release("a0")
    await recorder.started["a1"].wait()
    await settle()
    assert recorder.log == ["start a0", "end a0", "start a1"]
    recorder.release("a1")
    await asyncio.wait_for(runner, 10)
    assert recorder.log == [
        "start a0",
        "end a0",
        "start a1",
        "end a1",
        "start a2",
        "end a2",
        "start a-",
        "end a-",
    ]


async def test_different_requests_run_concurrently() -> None:
    recorder = Recorder()
    recorder.hold("a0", "b0", "c0")
    dispatcher = Dispatcher(recorder)
    runner = asyncio.create_task(dispatcher.run(Source([put("a"), put("b"), put("c")])))
    for label in ("a0", "b0", "c0"):
        await asyncio.wait_for(recorder.started[label].wait(), 10)
    assert dispatcher.in_flight == 3
    for label in ("c0", "a0", "b0"):
        recorder.release(label)
    await asyncio.wait_for(runner, 10)
    assert [e for e in recorder.log if e.startswith("end")] == ["end c0", "end a0", "end b0"]


async def test_at_the_bound_the_source_is_not_pulled() -> None:
    recorder = Recorder()
    recorder.hold("a0", "b0", "c0")
    dispatcher = Dispatcher(recorder, max_concurrency=3)
    source = Source([put("a"), put("a", reviews=1), put("b"), put("c"), put("d")])
    runner = asyncio.create_task(dispatcher.run(source))
    await recorder.started["b0"].wait()
    await settle()
    assert source.pulled == 3
    assert (dispatcher.in_flight, dispatcher.queued, dispatcher.pending) == (2, 1, 3)
    assert dict(dispatcher.pending_by_request()) == {"a": 2, "b": 1}
    recorder.release("b0")
    await recorder.started["c0"].wait()
    await settle()
    assert source.pulled == 4  # b finished, so c was pulled; d waits
    recorder.release("a0")
    recorder.release("c0")
    await asyncio.wait_for(runner, 10)
    assert source.pulled == 5
    assert sum(dispatcher.counts.values()) == 5


async def test_a_handler_that_runs_out_of_time_is_cancelled_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, DISPATCH_LOGGER)
    recorder = Recorder()
    recorder.hold("slow0")
    dispatcher = Dispatcher(recorder, timeout=0.05)
    await run_briefly(dispatcher, Source([put("slow"), put("fast")]))
    assert recorder.cancelled == ["slow0"]
    assert "end fast0" in recorder.log
    assert dispatcher.counts == {("put", TIMEOUT): 1, ("put", OK): 1}
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "timed out after 0.05 s" in record.getMessage()
    assert record.__dict__["request_id"] == "slow"
    assert record.__dict__["request_op"] == "put"
    assert record.__dict__["request_state"] == "PENDING"


async def test_a_failing_handler_is_logged_with_the_request_id_and_others_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, DISPATCH_LOGGER)
    handled: list[str] = []

    async def handler(event: AccessRequestEvent) -> None:
        if label_of(event) == "bad0":
            raise RuntimeError("PagerDuty said 500")
        handled.append(label_of(event))

    dispatcher = Dispatcher(handler)
    await run_briefly(dispatcher, Source([put("bad"), put("good"), put("bad", reviews=1)]))
    assert sorted(handled) == ["bad1", "good0"]
    [record] = caplog.records
    assert "PagerDuty said 500" in record.getMessage()
    assert record.__dict__["request_id"] == "bad"
    assert record.exc_info is not None
    assert dispatcher.counts == {("put", ERROR): 1, ("put", OK): 2}


async def test_a_timeout_error_raised_by_the_handler_itself_is_an_error() -> None:
    async def handler(event: AccessRequestEvent) -> None:
        raise TimeoutError("upstream timed out")

    dispatcher = Dispatcher(handler, timeout=30)
    await run_briefly(dispatcher, Source([delete("a")]))
    assert dispatcher.counts == {("delete", ERROR): 1}


async def test_no_timeout_lets_a_handler_take_its_time() -> None:
    async def handler(event: AccessRequestEvent) -> None:
        await asyncio.sleep(0.01)

    dispatcher = Dispatcher(handler, timeout=None)
    await run_briefly(dispatcher, Source([put("a")]))
    assert dispatcher.counts == {("put", OK): 1}


async def test_outcome_hook_receives_each_event_with_its_duration() -> None:
    ticks = iter(float(n) for n in range(100))
    outcomes: list[HandledEvent] = []

    async def handler(event: AccessRequestEvent) -> None:
        if event.request_id == "b":
            raise ValueError("boom")

    dispatcher = Dispatcher(handler, clock=lambda: next(ticks), on_outcome=outcomes.append)
    await run_briefly(dispatcher, Source([put("a"), delete("b")]))
    assert [(o.request_id, o.op, o.outcome, o.duration) for o in outcomes] == [
        ("a", "put", OK, 1.0),
        ("b", "delete", ERROR, 1.0),
    ]
    assert isinstance(outcomes[1].error, ValueError)


async def test_a_failing_outcome_hook_is_logged_and_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(outcome: HandledEvent) -> None:
        raise RuntimeError("metrics down")

    recorder = Recorder()
    dispatcher = Dispatcher(recorder, on_outcome=broken)
    await run_briefly(dispatcher, Source([put("a"), put("b")]))
    assert dispatcher.counts == {("put", OK): 2}
    assert any("on_outcome hook failed" in r.getMessage() for r in caplog.records)


# -- shutdown ------------------------------------------------------------------------------------


async def test_shutdown_finishes_quick_work_cancels_stuck_work_and_drops_the_queue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, DISPATCH_LOGGER)
    recorder = Recorder()
    recorder.hold("stuck0", "quick0")
    source = Source(
        [put("stuck"), put("stuck", reviews=1), put("quick"), delete("stuck")], then_hang=True
    )
    dispatcher = Dispatcher(recorder)
    runner = asyncio.create_task(dispatcher.run(source))
    await recorder.started["quick0"].wait()
    await settle()
    shutting_down = asyncio.create_task(dispatcher.shutdown(grace=0.2))
    await settle()
    recorder.release("quick0")
    report = await asyncio.wait_for(shutting_down, 10)
    await asyncio.wait_for(runner, 10)
    assert report == ShutdownReport(
        completed=1,
        cancelled=(put("stuck"),),
        dropped=(put("stuck", reviews=1), delete("stuck")),
    )
    assert not report.clean
    assert recorder.cancelled == ["stuck0"]
    assert source.closed
    assert dispatcher.counts == {
        ("put", OK): 1,
        ("put", DispatchOutcome.CANCELLED): 1,
        ("put", DispatchOutcome.DROPPED): 1,
        ("delete", DispatchOutcome.DROPPED): 1,
    }
    [record] = caplog.records
    assert "cancelled 1 running handler(s), dropped 2 queued event(s)" in record.getMessage()
    assert "stuck" in record.getMessage()


async def test_shutdown_lets_queued_events_run_within_the_grace_period() -> None:
    recorder = Recorder()
    recorder.hold("a0")
    dispatcher = Dispatcher(recorder)
    runner = asyncio.create_task(
        dispatcher.run(Source([put("a"), put("a", reviews=1)], then_hang=True))
    )
    await recorder.started["a0"].wait()
    shutting_down = asyncio.create_task(dispatcher.shutdown(grace=10))
    await settle()
    recorder.release("a0")
    report = await asyncio.wait_for(shutting_down, 10)
    await asyncio.wait_for(runner, 10)
    assert report == ShutdownReport(completed=2)
    assert report.clean
    assert recorder.log == ["start a0", "end a0", "start a1", "end a1"]


async def test_shutdown_stops_pulling_from_the_source() -> None:
    recorder = Recorder()
    recorder.hold("a0")
    source = Source([put("a"), put("b"), put("c")])
    dispatcher = Dispatcher(recorder, max_concurrency=1)
    runner = asyncio.create_task(dispatcher.run(source))
    await recorder.started["a0"].wait()
    shutting_down = asyncio.create_task(dispatcher.shutdown(grace=10))
    await settle()
    recorder.release("a0")
    await asyncio.wait_for(shutting_down, 10)
    await asyncio.wait_for(runner, 10)
    assert source.pulled == 1
    assert source.closed


async def test_a_second_shutdown_call_returns_the_first_report() -> None:
    dispatcher = Dispatcher(Recorder())
    runner = asyncio.create_task(dispatcher.run(Source([put("a")], then_hang=True)))
    await settle()
    first, second = await asyncio.gather(dispatcher.shutdown(1), dispatcher.shutdown(1))
    await asyncio.wait_for(runner, 10)
    assert first is second


async def test_shutdown_before_run_makes_run_return_at_once() -> None:
    dispatcher = Dispatcher(Recorder())
    assert (await dispatcher.shutdown(1)).clean
    source = Source([put("a")])
    await run_briefly(dispatcher, source)
    assert source.pulled == 0


async def test_a_failing_source_lets_accepted_events_finish_then_raises() -> None:
    recorder = Recorder()
    recorder.hold("a0")

    async def failing() -> AsyncIterator[AccessRequestEvent]:
        yield put("a")
        raise ConnectionError("watch failed")

    dispatcher = Dispatcher(recorder)
    runner = asyncio.create_task(dispatcher.run(failing()))
    await recorder.started["a0"].wait()
    await settle()
    assert not runner.done()
    recorder.release("a0")
    with pytest.raises(ConnectionError, match="watch failed"):
        await asyncio.wait_for(runner, 10)
    assert recorder.log == ["start a0", "end a0"]


async def test_cancelling_run_cancels_every_handler() -> None:
    recorder = Recorder()
    recorder.hold("a0", "b0")
    source = Source([put("a"), put("b"), put("a", reviews=1)], then_hang=True)
    dispatcher = Dispatcher(recorder)
    runner = asyncio.create_task(dispatcher.run(source))
    await recorder.started["b0"].wait()
    await settle()
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert sorted(recorder.cancelled) == ["a0", "b0"]
    assert source.closed
    assert dispatcher.counts[("put", DispatchOutcome.DROPPED)] == 1


async def test_a_dispatcher_runs_once() -> None:
    dispatcher = Dispatcher(Recorder())
    await run_briefly(dispatcher, Source([]))
    with pytest.raises(RuntimeError, match="runs once"):
        await dispatcher.run(Source([]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_concurrency": 0}, "max_concurrency must be at least 1"),
        ({"timeout": 0}, "timeout must be positive"),
        ({"timeout": -1.0}, "timeout must be positive"),
    ],
)
def test_invalid_settings_are_rejected(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Dispatcher(Recorder(), **options)  # type: ignore[arg-type]


# -- coalescing ----------------------------------------------------------------------------------


async def test_coalescing_keeps_only_the_newest_queued_put() -> None:
    recorder = Recorder()
    recorder.hold("a0")
    events = [put("a"), put("a", reviews=1), put("a", reviews=2), put("a", reviews=3)]
    dispatcher = Dispatcher(recorder, coalesce=True)
    runner = asyncio.create_task(dispatcher.run(Source(events)))
    await recorder.started["a0"].wait()
    await settle()
    assert dispatcher.queued == 1
    recorder.release("a0")
    await asyncio.wait_for(runner, 10)
    assert recorder.log == ["start a0", "end a0", "start a3", "end a3"]
    assert dispatcher.counts == {("put", OK): 2, ("put", DispatchOutcome.COALESCED): 2}


async def test_coalescing_never_merges_across_a_delete() -> None:
    recorder = Recorder()
    recorder.hold("a0")
    events: list[AccessRequestEvent] = [put("a"), put("a", reviews=1), delete("a")]
    events.append(put("a", reviews=2))
    dispatcher = Dispatcher(recorder, coalesce=True)
    runner = asyncio.create_task(dispatcher.run(Source(events)))
    await recorder.started["a0"].wait()
    await settle()
    recorder.release("a0")
    await asyncio.wait_for(runner, 10)
    assert [e for e in recorder.log if e.startswith("start")] == [
        "start a0",
        "start a1",
        "start a-",
        "start a2",
    ]


async def test_without_coalescing_every_put_is_handled() -> None:
    recorder = Recorder()
    recorder.hold("a0")
    events = [put("a"), put("a", reviews=1), put("a", reviews=2)]
    dispatcher = Dispatcher(recorder)
    runner = asyncio.create_task(dispatcher.run(Source(events)))
    await recorder.started["a0"].wait()
    await settle()
    recorder.release("a0")
    await asyncio.wait_for(runner, 10)
    assert [e for e in recorder.log if e.startswith("start")] == [
        "start a0",
        "start a1",
        "start a2",
    ]


async def test_coalescing_frees_the_replaced_events_slot() -> None:
    recorder = Recorder()
    recorder.hold("a0")
    source = Source([*(put("a", reviews=n) for n in range(10)), put("b")])
    dispatcher = Dispatcher(recorder, max_concurrency=3, coalesce=True)
    runner = asyncio.create_task(dispatcher.run(source))
    await recorder.started["b0"].wait()  # b got in although a's queue saw ten events
    recorder.release("a0")
    await asyncio.wait_for(runner, 10)
    assert "start a9" in recorder.log


def test_put_state_is_part_of_the_log_fields() -> None:
    from teleport_access._dispatch import _log_fields

    assert _log_fields(put("a", state=RequestState.APPROVED)) == {
        "request_id": "a",
        "request_op": "put",
        "request_state": "APPROVED",
    }
    assert _log_fields(delete("a")) == {"request_id": "a", "request_op": "delete"}


async def test_the_outcome_carries_the_handler_s_result_and_the_event_s_context() -> None:
    outcomes: list[HandledEvent] = []

    async def handler(event: AccessRequestEvent) -> str:
        return f"handled {event.request_id}"

    dispatcher = Dispatcher(handler, on_outcome=outcomes.append)
    await asyncio.wait_for(
        dispatcher.run(Source([put("a"), put("b")]), context=lambda e: f"from {e.request_id}"),
        10,
    )
    assert [(o.request_id, o.result, o.context) for o in outcomes] == [
        ("a", "handled a", "from a"),
        ("b", "handled b", "from b"),
    ]


async def test_a_failed_handler_has_no_result() -> None:
    outcomes: list[HandledEvent] = []

    async def handler(event: AccessRequestEvent) -> str:
        raise ValueError("boom")

    dispatcher = Dispatcher(handler, on_outcome=outcomes.append)
    await run_briefly(dispatcher, Source([put("a")]))
    assert outcomes[0].outcome is ERROR
    assert outcomes[0].result is None


async def test_submitted_events_queue_behind_the_source_s_events_of_the_same_request() -> None:
    recorder = Recorder()
    recorder.hold("a0")
    outcomes: list[HandledEvent] = []
    dispatcher = Dispatcher(recorder, on_outcome=outcomes.append)
    runner = asyncio.create_task(dispatcher.run(Source([put("a")], then_hang=True)))
    await recorder.started["a0"].wait()
    assert await dispatcher.submit(put("a", reviews=1), context="retry")
    assert dispatcher.queued == 1
    recorder.release("a0")
    await asyncio.wait_for(dispatcher.shutdown(grace=5), 10)
    await asyncio.wait_for(runner, 10)
    assert recorder.log == ["start a0", "end a0", "start a1", "end a1"]
    assert [o.context for o in outcomes] == [None, "retry"]


async def test_submit_waits_for_a_place_under_the_bound() -> None:
    recorder = Recorder()
    recorder.hold("a0")
    dispatcher = Dispatcher(recorder, max_concurrency=1)
    assert await dispatcher.submit(put("a"))
    await recorder.started["a0"].wait()
    waiting = asyncio.create_task(dispatcher.submit(put("b")))
    await settle()
    assert not waiting.done()
    recorder.release("a0")
    assert await asyncio.wait_for(waiting, 10)
    await asyncio.wait_for(dispatcher.shutdown(grace=5), 10)
    assert recorder.log == ["start a0", "end a0", "start b0", "end b0"]


async def test_submit_is_refused_once_shutdown_began() -> None:
    recorder = Recorder()
    recorder.hold("a0")
    dispatcher = Dispatcher(recorder, max_concurrency=1)
    assert await dispatcher.submit(put("a"))
    await recorder.started["a0"].wait()
    waiting = asyncio.create_task(dispatcher.submit(put("b")))
    await settle()
    shutdown = asyncio.create_task(dispatcher.shutdown(grace=0.05))
    report = await asyncio.wait_for(shutdown, 10)
    assert not await asyncio.wait_for(waiting, 10)
    assert not await dispatcher.submit(put("c"))
    assert [e.request_id for e in report.cancelled] == ["a"]
    assert "start b0" not in recorder.log
