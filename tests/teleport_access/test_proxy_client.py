"""AuthClient through a Teleport Proxy: the same API, whichever way the Auth Service is reached."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from teleport_access._client import AuthClient
from teleport_access._credentials import Identity, RefreshingIdentityFile
from teleport_access._exceptions import ConnectionProblem
from teleport_access._models import AccessRequestPut, RequestState, WatchInit
from teleport_access._route import ConnectOptions, Route, RouteKind
from teleport_access.testing import FakeAuthServer
from teleport_access.testing._fake_proxy import FakeProxy

CLUSTER = "example.com"


@pytest.fixture
async def auth() -> AsyncIterator[FakeAuthServer]:
    async with FakeAuthServer(cluster_name=CLUSTER) as fake:
        yield fake


@pytest.fixture
def identity(auth: FakeAuthServer) -> Identity:
    return auth.issue_identity("access-plugin", roles=["access-plugin"])


@pytest.fixture(params=[False, True], ids=["tls-routing", "l7-upgrade"])
async def proxy(request: pytest.FixtureRequest, auth: FakeAuthServer) -> AsyncIterator[FakeProxy]:
    async with FakeProxy(
        auth_address=auth.address, cluster_name=CLUSTER, l7_load_balancer=request.param
    ) as fake:
        yield fake


async def test_calls_and_watches_work_through_the_proxy(
    auth: FakeAuthServer, proxy: FakeProxy, identity: Identity
) -> None:
    async with AuthClient(
        proxy.address, identity, call_timeout=5, connect_options=proxy.connect_options()
    ) as client:
        assert (await client.ping()).cluster_name == CLUSTER
        route = client.route
        assert route is not None
        expected = (
            RouteKind.PROXY_ALPN_UPGRADE if proxy.l7_load_balancer else RouteKind.PROXY_TLS_ROUTING
        )
        assert route.kind is expected
        stream = client.watch()
        async with contextlib.aclosing(stream):
            assert isinstance(await anext(stream), WatchInit)
            request = auth.create_request("alice", ["admin"])
            assert await asyncio.wait_for(anext(stream), 5) == AccessRequestPut(request=request)
        reviewed = await client.submit_review(request.id, proposed_state=RequestState.APPROVED)
        assert reviewed.state is RequestState.APPROVED
    assert {call.caller for call in auth.calls} == {"access-plugin"}


async def test_connect_reports_the_route_for_doctor(proxy: FakeProxy, identity: Identity) -> None:
    async with AuthClient(
        proxy.address, identity, connect_options=proxy.connect_options()
    ) as client:
        route = await client.connect()
    assert route.address == proxy.address
    assert route.cluster_name == CLUSTER


async def test_a_direct_auth_address_still_uses_grpcs_own_tls(
    auth: FakeAuthServer, identity: Identity
) -> None:
    async with AuthClient(auth.address, identity) as client:
        await client.ping()
        assert client.route == Route(
            kind=RouteKind.AUTH, address=auth.address, cluster_name=CLUSTER
        )
        assert client._tunnel is None


async def test_route_auth_connects_without_probing(
    auth: FakeAuthServer, identity: Identity
) -> None:
    async with AuthClient(auth.address, identity, route="auth") as client:
        assert (await client.connect()).kind is RouteKind.AUTH
        await client.ping()


async def test_when_the_proxy_goes_away_calls_fail_with_the_proxy_address(
    auth: FakeAuthServer, identity: Identity
) -> None:
    proxy = FakeProxy(auth_address=auth.address, cluster_name=CLUSTER)
    await proxy.start()
    options = ConnectOptions(connect_timeout=2, http_proxy=None)
    client = AuthClient(proxy.address, identity, call_timeout=5, connect_options=options)
    try:
        await client.ping()
        await proxy.aclose()
        await proxy.drop_connections()
        problem: ConnectionProblem | None = None
        for _ in range(50):  # the open connection ends; the next ones cannot be made
            try:
                await client.ping()
            except ConnectionProblem as exc:
                problem = exc
                if "Teleport Proxy" in str(exc):
                    break
            await asyncio.sleep(0.05)
        assert problem is not None
        assert problem.address == proxy.address
        assert f"the Teleport Proxy at {proxy.address}" in str(problem)
        assert "cannot connect" in str(problem)
    finally:
        await client.close()


async def test_a_renewed_identity_file_is_used_through_the_proxy(
    auth: FakeAuthServer, tmp_path: Path
) -> None:
    path = auth.write_identity_file(tmp_path / "identity", "plugin-old")
    source = RefreshingIdentityFile(path, interval=timedelta(0))
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        client = AuthClient(proxy.address, source, connect_options=proxy.connect_options())
        async with client:
            await client.ping()
            auth.write_identity_file(path, "plugin-new")
            await client.ping()
    assert [call.caller for call in auth.calls_to("Ping")] == ["plugin-old", "plugin-new"]


async def test_a_proxy_address_that_leads_nowhere_is_a_connection_problem(
    identity: Identity,
) -> None:
    async with AuthClient(
        "127.0.0.1:1", identity, connect_options=ConnectOptions(connect_timeout=2)
    ) as client:
        with pytest.raises(ConnectionProblem, match="cannot connect") as caught:
            await client.ping()
    assert caught.value.address == "127.0.0.1:1"
