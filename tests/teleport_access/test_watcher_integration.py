"""The watcher and dispatcher against the fake Auth Service, over real mutual TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from teleport_access._client import AuthClient
from teleport_access._dispatch import Dispatcher
from teleport_access._exceptions import ConnectionProblem
from teleport_access._models import (
    AccessRequestDelete,
    AccessRequestEvent,
    AccessRequestPut,
    AccessReviewThreshold,
    RequestState,
)
from teleport_access._watcher import AccessRequestWatcher, WatchSource
from teleport_access.testing import FakeAuthServer, TestCertificateAuthority

pytestmark = pytest.mark.timeout(60)

PENDING, APPROVED, DENIED = RequestState.PENDING, RequestState.APPROVED, RequestState.DENIED
WAIT = 10.0  # generous: only bounds a hung test, never a timing assertion


@pytest.fixture
async def fake() -> AsyncIterator[FakeAuthServer]:
    async with FakeAuthServer() as server:
        yield server


@pytest.fixture
async def client(fake: FakeAuthServer) -> AsyncIterator[AuthClient]:
    identity = fake.issue_identity("access-plugin", admin=True)
    async with AuthClient(fake.address, identity) as auth:
        yield auth


class HeldReconnects:
    """An injected sleep that, while `hold` is on, parks reconnect delays until `resume()`.

    Timeouts (INIT, listing) are long waits and run on real time; reconnect delays are at most
    5 s. Holding the delay keeps the watcher disconnected while the test changes the cluster.
    """

    def __init__(self) -> None:
        self.hold = False
        self.parked = asyncio.Event()
        self._resume = asyncio.Event()

    async def sleep(self, delay: float) -> None:
        if delay <= 5.0 and self.hold:
            self.parked.set()
            await self._resume.wait()
            return
        await asyncio.sleep(delay)

    def resume(self) -> None:
        self.hold = False
        self._resume.set()


async def next_event(events: AsyncIterator[AccessRequestEvent]) -> AccessRequestEvent:
    return await asyncio.wait_for(anext(events), WAIT)


def summary(event: AccessRequestEvent) -> tuple[Any, ...]:
    if isinstance(event, AccessRequestPut):
        return ("put", event.request.id, event.request.state, len(event.request.reviews))
    return ("delete", event.request_id)


def test_auth_client_is_a_watch_source(client: AuthClient) -> None:
    source: WatchSource = client  # mypy checks the protocol; this checks it at run time too
    assert callable(source.watch)
    assert callable(source.list_access_requests)


async def test_requests_that_exist_at_start_are_delivered_before_live_ones(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    old = fake.create_request("alice", ["editor"])
    watcher = AccessRequestWatcher(client)
    async with contextlib.aclosing(watcher.events()) as events:
        first = await next_event(events)
        await watcher.wait_ready()
        new = fake.create_request("bob", ["editor"])
        second = await next_event(events)
    assert first == AccessRequestPut(request=old, reconciled=True)
    assert isinstance(second, AccessRequestPut)
    assert (second.request.id, second.reconciled) == (new.id, False)


async def test_live_changes_arrive_in_order(fake: FakeAuthServer, client: AuthClient) -> None:
    watcher = AccessRequestWatcher(client, reconcile=False)
    async with contextlib.aclosing(watcher.events()) as events:
        consumer = asyncio.ensure_future(next_event(events))
        try:
            await fake.wait_for_watchers(1)
            request = fake.create_request("alice", ["editor"])
            fake.submit_review(request.id, "reviewer", APPROVED, reason="ok")
            fake.delete_request(request.id)
            received = [await consumer]
        finally:
            consumer.cancel()
        received += [await next_event(events), await next_event(events)]
    assert [summary(e) for e in received] == [
        ("put", request.id, PENDING, 0),
        ("put", request.id, APPROVED, 1),
        ("delete", request.id),
    ]


async def test_everything_changed_while_disconnected_is_delivered_after_reconnect(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    two_approvals = [AccessReviewThreshold(name="two", approve=2, deny=1)]
    reviewed = fake.create_request("alice", ["editor"], thresholds=two_approvals)
    resolved = fake.create_request("bob", ["editor"])
    deleted = fake.create_request("carol", ["editor"])
    untouched = fake.create_request("dave", ["editor"])
    time = HeldReconnects()
    watcher = AccessRequestWatcher(client, sleep=time.sleep)
    async with contextlib.aclosing(watcher.events()) as events:
        for _ in range(4):
            await next_event(events)  # the initial catch-up
        time.hold = True
        pending = asyncio.ensure_future(next_event(events))
        try:
            assert fake.drop_watch_streams() == 1
            await asyncio.wait_for(time.parked.wait(), WAIT)

            # The cluster changes while nobody watches.
            created = fake.create_request("erin", ["editor"])
            fake.submit_review(reviewed.id, "reviewer", APPROVED, reason="fine by me")
            fake.deny(resolved.id, reason="no")
            fake.delete_request(deleted.id)
            time.resume()
            received = [await pending]
        finally:
            pending.cancel()
        received += [await next_event(events) for _ in range(4)]
    assert {summary(e) for e in received} == {
        ("put", reviewed.id, PENDING, 1),
        ("put", resolved.id, DENIED, 0),
        ("put", untouched.id, PENDING, 0),
        ("put", created.id, PENDING, 0),
        ("delete", deleted.id),
    }
    assert all(e.reconciled for e in received)
    assert isinstance(received[-1], AccessRequestDelete)  # deletes follow the listed puts
    assert watcher.reconnects == 1
    assert watcher.connections == 2


async def test_an_unavailable_listing_is_retried_with_a_new_connection(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    request = fake.create_request("alice", ["editor"])
    fake.fail_next("ListAccessRequests", 2, code=grpc.StatusCode.UNAVAILABLE)
    watcher = AccessRequestWatcher(client)
    async with contextlib.aclosing(watcher.events()) as events:
        event = await next_event(events)
    assert event == AccessRequestPut(request=request, reconciled=True)
    assert watcher.reconnects == 2
    assert len(fake.calls_to("WatchEvents")) == 3


async def test_an_unavailable_watch_call_is_retried(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    fake.fail_next("WatchEvents", 3, code=grpc.StatusCode.UNAVAILABLE)
    watcher = AccessRequestWatcher(client, reconcile=False)
    async with contextlib.aclosing(watcher.events()) as events:
        consumer = asyncio.ensure_future(next_event(events))
        try:
            await fake.wait_for_watchers(1, timeout=WAIT)
            request = fake.create_request("alice", ["editor"])
            event = await consumer
        finally:
            consumer.cancel()
    assert summary(event) == ("put", request.id, PENDING, 0)
    assert watcher.reconnects == 3


async def test_expiry_arrives_as_a_delete(fake: FakeAuthServer, client: AuthClient) -> None:
    request = fake.create_request("alice", ["editor"])
    watcher = AccessRequestWatcher(client)
    async with contextlib.aclosing(watcher.events()) as events:
        await next_event(events)
        fake.expire(request.id)
        event = await next_event(events)
    assert event == AccessRequestDelete(request_id=request.id)


async def test_watcher_and_dispatcher_handle_every_request_in_order(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    seen: dict[str, list[RequestState | None]] = {}
    done = asyncio.Event()
    total = 40

    async def handler(event: AccessRequestEvent) -> None:
        states = seen.setdefault(event.request_id, [])
        if isinstance(event, AccessRequestPut):
            states.append(event.request.state)
        else:
            states.append(None)
        await asyncio.sleep(0)
        if sum(len(s) for s in seen.values()) == total * 3:
            done.set()

    watcher = AccessRequestWatcher(client)
    dispatcher = Dispatcher(handler, max_concurrency=8)
    runner = asyncio.create_task(dispatcher.run(watcher.events()))
    await asyncio.wait_for(watcher.wait_ready(), WAIT)
    ids = [fake.create_request(f"user{n}", ["editor"]).id for n in range(total)]
    for request_id in ids:
        fake.approve(request_id)
    for request_id in ids:
        fake.delete_request(request_id)
    await asyncio.wait_for(done.wait(), WAIT)
    report = await dispatcher.shutdown(grace=5)
    await asyncio.wait_for(runner, WAIT)
    assert report.clean
    assert set(seen) == set(ids)
    assert all(states == [PENDING, APPROVED, None] for states in seen.values())


async def test_an_auth_service_restart_is_survived_and_reconciled() -> None:
    ca = TestCertificateAuthority("teleport.example.com")
    first = FakeAuthServer(ca=ca)
    await first.start()
    second: FakeAuthServer | None = None
    try:
        identity = first.issue_identity("access-plugin", admin=True)
        old = first.create_request("alice", ["editor"])
        async with AuthClient(first.address, identity) as client:
            watcher = AccessRequestWatcher(client)
            async with contextlib.aclosing(watcher.events()) as events:
                assert summary(await next_event(events)) == ("put", old.id, PENDING, 0)
                pending = asyncio.ensure_future(anext(events))
                try:
                    await first.stop()  # the Auth Service goes away with its state
                    await asyncio.sleep(0.3)
                    second = FakeAuthServer(ca=ca, port=first.port)
                    second.issue_identity("access-plugin", admin=True)
                    new = second.create_request("bob", ["editor"])  # before anyone can connect
                    await second.start()
                    received = [await asyncio.wait_for(pending, 30)]
                finally:
                    pending.cancel()
                received.append(await asyncio.wait_for(anext(events), 30))
    finally:
        await first.stop()
        if second is not None:
            await second.stop()
    assert received == [
        AccessRequestPut(request=new, reconciled=True),
        AccessRequestDelete(request_id=old.id, reconciled=True),
    ]
    assert watcher.reconnects >= 1
    assert isinstance(watcher.last_error, ConnectionProblem)
