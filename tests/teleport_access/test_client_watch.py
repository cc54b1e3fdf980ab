"""AuthClient.watch: one WatchEvents stream against the fake Auth Service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from teleport_access._client import AuthClient
from teleport_access._exceptions import AccessDenied, ConnectionProblem
from teleport_access._models import (
    AccessRequestDelete,
    AccessRequestFilter,
    AccessRequestPut,
    RequestState,
    WatchInit,
    WatchMessage,
)
from teleport_access.testing import FakeAuthServer


async def _next(stream: AsyncIterator[WatchMessage]) -> WatchMessage:
    return await asyncio.wait_for(anext(stream), timeout=5)


async def test_watch_yields_init_then_put_on_create_update_and_delete(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    stream = auth_client.watch()
    async with contextlib.aclosing(stream):
        assert await _next(stream) == WatchInit(
            confirmed_kinds=("access_request",), status_sent=True
        )
        request = fake_auth.create_request("alice", ["admin"])
        put = await _next(stream)
        assert put == AccessRequestPut(request=request)
        fake_auth.submit_review(request.id, "bob", RequestState.APPROVED)
        update = await _next(stream)
        assert isinstance(update, AccessRequestPut)
        assert update.request.state is RequestState.APPROVED
        assert [r.author for r in update.request.reviews] == ["bob"]
        fake_auth.delete_request(request.id)
        assert await _next(stream) == AccessRequestDelete(request_id=request.id)


async def test_expiry_is_delivered_as_a_delete(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    stream = auth_client.watch()
    async with contextlib.aclosing(stream):
        await _next(stream)
        fake_auth.expire(request.id)
        assert await _next(stream) == AccessRequestDelete(request_id=request.id)


async def test_older_servers_send_init_without_watch_status(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.send_watch_status = False
    stream = auth_client.watch()
    async with contextlib.aclosing(stream):
        assert await _next(stream) == WatchInit(confirmed_kinds=())


async def test_a_request_filter_limits_puts_but_never_deletes(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    other = fake_auth.create_request("bob", ["admin"])
    stream = auth_client.watch(request_filter=AccessRequestFilter(user="alice"))
    async with contextlib.aclosing(stream):
        await _next(stream)
        fake_auth.create_request("bob", ["admin"])
        mine = fake_auth.create_request("alice", ["admin"])
        assert await _next(stream) == AccessRequestPut(request=mine)
        fake_auth.delete_request(other.id)
        assert await _next(stream) == AccessRequestDelete(request_id=other.id)


async def test_a_dropped_stream_raises_connection_problem(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    stream = auth_client.watch()
    async with contextlib.aclosing(stream):
        await _next(stream)
        await fake_auth.wait_for_watchers(1)
        assert fake_auth.drop_watch_streams() == 1
        with pytest.raises(ConnectionProblem, match="dropped") as caught:
            await _next(stream)
    assert caught.value.address == auth_client.address


async def test_a_new_watch_works_after_a_drop(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    first = auth_client.watch()
    async with contextlib.aclosing(first):
        await _next(first)
        fake_auth.drop_watch_streams()
        with pytest.raises(ConnectionProblem):
            await _next(first)
    second = auth_client.watch()
    async with contextlib.aclosing(second):
        assert isinstance(await _next(second), WatchInit)
        request = fake_auth.create_request("alice", ["admin"])
        assert await _next(second) == AccessRequestPut(request=request)


async def test_closing_the_consumer_ends_the_stream_on_the_server(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    stream = auth_client.watch()
    await _next(stream)
    await fake_auth.wait_for_watchers(1)
    await stream.aclose()
    await fake_auth.wait_for(lambda: fake_auth.watch_stream_count == 0, what="stream closed")


async def test_watch_refused_by_the_server_is_translated(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.fail_next("WatchEvents", code="PERMISSION_DENIED", message="access denied to watch")
    stream = auth_client.watch()
    async with contextlib.aclosing(stream):
        with pytest.raises(AccessDenied, match="access denied to watch"):
            await _next(stream)
