"""Watcher benchmark: access-request events decoded and dispatched per second.

Measures, and prints:

* `live`: requests created in the fake Auth Service while an `AccessRequestWatcher` and a
  `Dispatcher` with a no-op handler consume the WatchEvents stream over real mutual TLS on
  127.0.0.1. From the first create to the last handled event, so it includes the server
  encoding, TLS both ways, protobuf decoding, model conversion, the watcher and the dispatcher.
* `catch_up`: N requests exist; a watcher connects, lists them (ListAccessRequests pages over
  mTLS) and the dispatcher handles them all as reconciled puts.
* `dispatch_only`: the Dispatcher alone over an in-memory iterable (distinct requests, and ten
  events per request to exercise the per-request queues).
* `watcher_in_memory`: watcher (stream pump, catch-up checks) plus dispatcher over an in-memory
  source, without gRPC.

The fake Auth Service runs in the same process and event loop, and by default the whole
process (gRPC's threads included) is pinned to one CPU, so the figures are for one core that
also does the server's work: conservative for a plugin talking to a real Auth Service.

    .venv/bin/python benchmarks/watcher.py [--events N] [--repeat 3] [--json out.json] [--no-pin]

Target (issue 2): live and catch-up rates of at least 5,000 events per second.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc

from teleport_access._client import AuthClient
from teleport_access._dispatch import Dispatcher
from teleport_access._models import (
    AccessRequest,
    AccessRequestEvent,
    AccessRequestPut,
    WatchInit,
    WatchMessage,
)
from teleport_access._watcher import AccessRequestWatcher
from teleport_access.testing import FakeAuthServer

TARGET_PER_SECOND = 5000.0


class Result:
    def __init__(self, name: str, events: int, seconds: float, cpu_seconds: float) -> None:
        self.name = name
        self.events = events
        self.seconds = seconds
        self.cpu_seconds = cpu_seconds

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")

    @property
    def cpu_rate(self) -> float:
        """Events per second of this process's CPU time: less sensitive to a busy machine."""
        return self.events / self.cpu_seconds if self.cpu_seconds > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "seconds": round(self.seconds, 4),
            "cpu_seconds": round(self.cpu_seconds, 4),
            "events_per_second": round(self.rate, 1),
            "events_per_cpu_second": round(self.cpu_rate, 1),
        }


class Timer:
    def __enter__(self) -> Timer:
        gc.collect()
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.wall
        self.cpu_seconds = time.process_time() - self.cpu


class Counting:
    """A no-op handler that signals when `expected` events were handled."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.done = asyncio.Event()

    async def __call__(self, event: AccessRequestEvent) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.done.set()


async def _consume(
    client: AuthClient, handler: Counting, *, reconcile: bool
) -> tuple[AccessRequestWatcher, Dispatcher, asyncio.Task[None]]:
    watcher = AccessRequestWatcher(client, reconcile=reconcile)
    dispatcher = Dispatcher(handler, max_concurrency=128)
    runner = asyncio.create_task(dispatcher.run(watcher.events()))
    return watcher, dispatcher, runner


async def _stop(dispatcher: Dispatcher, runner: asyncio.Task[None]) -> None:
    await dispatcher.shutdown(grace=5)
    await runner


async def bench_live(events: int, batch: int = 200) -> Result:
    async with FakeAuthServer() as fake:
        identity = fake.issue_identity("access-plugin", admin=True)
        async with AuthClient(fake.address, identity) as client:
            handler = Counting(events)
            watcher, dispatcher, runner = await _consume(client, handler, reconcile=False)
            await watcher.wait_ready()
            with Timer() as timer:
                created = 0
                while created < events:
                    for _ in range(min(batch, events - created)):
                        fake.create_request(f"user{created}", ["editor"])
                        created += 1
                    await asyncio.sleep(0)  # let the stream move, as a live cluster would
                await handler.done.wait()
            await _stop(dispatcher, runner)
            if handler.count != events:
                raise RuntimeError(f"handled {handler.count} of {events} events")
    return Result("live", events, timer.seconds, timer.cpu_seconds)


async def bench_catch_up(events: int) -> Result:
    async with FakeAuthServer() as fake:
        identity = fake.issue_identity("access-plugin", admin=True)
        for n in range(events):
            fake.create_request(f"user{n}", ["editor"])
        async with AuthClient(fake.address, identity) as client:
            handler = Counting(events)
            with Timer() as timer:
                _, dispatcher, runner = await _consume(client, handler, reconcile=True)
                await handler.done.wait()
            await _stop(dispatcher, runner)
    return Result("catch_up", events, timer.seconds, timer.cpu_seconds)


def _requests(count: int, per_request: int) -> list[AccessRequestEvent]:
    out: list[AccessRequestEvent] = []
    for n in range(count // per_request):
        request = AccessRequest(id=f"req-{n}", user="alice", roles=("editor",))
        out.extend(AccessRequestPut(request=request) for _ in range(per_request))
    return out


async def bench_dispatch_only(events: int, per_request: int) -> Result:
    prepared = _requests(events, per_request)

    async def source() -> AsyncIterator[AccessRequestEvent]:
        for event in prepared:
            yield event

    handler = Counting(len(prepared))
    dispatcher = Dispatcher(handler, max_concurrency=128)
    with Timer() as timer:
        await dispatcher.run(source())
    name = "dispatch_only" if per_request == 1 else f"dispatch_only_{per_request}_per_request"
    return Result(name, len(prepared), timer.seconds, timer.cpu_seconds)


class _MemorySource:
    def __init__(self, events: list[AccessRequestEvent]) -> None:
        self.events = events

    async def _stream(self) -> AsyncIterator[WatchMessage]:
        yield WatchInit(confirmed_kinds=("access_request",))
        for event in self.events:
            yield event
        await asyncio.Event().wait()

    def watch(self, kinds: Any = ("access_request",)) -> AsyncIterator[WatchMessage]:
        return self._stream()

    async def list_access_requests(self, filter: Any = None) -> list[AccessRequest]:
        return []


async def bench_watcher_in_memory(events: int) -> Result:
    prepared = _requests(events, 1)
    handler = Counting(len(prepared))
    watcher = AccessRequestWatcher(_MemorySource(prepared))
    dispatcher = Dispatcher(handler, max_concurrency=128)
    with Timer() as timer:
        runner = asyncio.create_task(dispatcher.run(watcher.events()))
        await handler.done.wait()
    await _stop(dispatcher, runner)
    return Result("watcher_in_memory", len(prepared), timer.seconds, timer.cpu_seconds)


def pin_to_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this platform)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


async def run_all(events: int, repeat: int) -> list[Result]:
    # Warm up imports, TLS and code paths so the first figure is not a cold start.
    await bench_live(min(500, events))
    runs: list[Callable[[], Any]] = [
        lambda: bench_live(events),
        lambda: bench_catch_up(events),
        lambda: bench_dispatch_only(events, 1),
        lambda: bench_dispatch_only(events, 10),
        lambda: bench_watcher_in_memory(events),
    ]
    best: list[Result] = []
    for run in runs:
        # The fastest of `repeat` runs: the machine's other load only ever slows a run down.
        results = [await run() for _ in range(repeat)]
        best.append(min(results, key=lambda r: r.seconds))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000, help="events per run (20000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best kept (3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args(argv)

    pinning = "not pinned (--no-pin)" if args.no_pin else pin_to_one_cpu()
    results = asyncio.run(run_all(args.events, max(1, args.repeat)))

    print(
        f"watcher benchmark: Python {platform.python_version()}, grpcio {grpc.__version__}, "
        f"{pinning}, {args.events} events per run, best of {max(1, args.repeat)}"
    )
    for result in results:
        print(
            f"  {result.name:<30} {result.rate:>9,.0f} events/s  "
            f"({result.events} in {result.seconds:.3f} s; CPU {result.cpu_seconds:.3f} s, "
            f"{result.cpu_rate:,.0f} events per CPU-second)"
        )
    over_tls = [r for r in results if r.name in ("live", "catch_up")]
    worst = min(r.rate for r in over_tls)
    verdict = "meets" if worst >= TARGET_PER_SECOND else "MISSES"
    print(
        f"  over mTLS, worst of live/catch-up: {worst:,.0f} events/s, {verdict} the target of "
        f"{TARGET_PER_SECOND:,.0f}/s"
    )

    if args.json is not None:
        payload = {
            "benchmark": "watcher",
            "python": platform.python_version(),
            "grpcio": grpc.__version__,
            "pinning": pinning,
            "repeat": max(1, args.repeat),
            "target_events_per_second": TARGET_PER_SECOND,
            "meets_target": worst >= TARGET_PER_SECOND,
            "results": {r.name: r.as_dict() for r in results},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"  figures written to {args.json}")
    return 0 if worst >= TARGET_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
