"""The shipped fakes together: FakeAuthServer behind FakeProxy, reached through the tunnel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from teleport_access._credentials import StaticIdentity
from teleport_access._proto import authservice_pb2, authservice_pb2_grpc, event_pb2, types_pb2
from teleport_access._route import RouteKind, resolve_route
from teleport_access._tunnel import AuthTunnel
from teleport_access.testing._fake_auth import FakeAuthServer
from teleport_access.testing._fake_proxy import FakeProxy


@pytest.fixture
async def auth() -> AsyncIterator[FakeAuthServer]:
    async with FakeAuthServer(cluster_name="example.com") as fake:
        yield fake


@pytest.mark.parametrize(
    ("l7", "expected"),
    [(False, RouteKind.PROXY_TLS_ROUTING), (True, RouteKind.PROXY_ALPN_UPGRADE)],
)
async def test_the_fake_auth_service_answers_ping_and_watch_through_the_fake_proxy(
    auth: FakeAuthServer, l7: bool, expected: RouteKind
) -> None:
    identity = StaticIdentity(auth.issue_identity("access-plugin", roles=["access-plugin"]))
    async with FakeProxy(
        auth_address=auth.address, cluster_name=auth.cluster_name, l7_load_balancer=l7
    ) as proxy:
        route = await resolve_route(proxy.address, identity, options=proxy.connect_options())
        assert route.kind is expected
        tunnel = AuthTunnel(route, identity, proxy.connect_options())
        async with (
            tunnel,
            grpc.aio.insecure_channel(tunnel.grpc_target, options=tunnel.grpc_options) as channel,
        ):
            stub = authservice_pb2_grpc.AuthServiceStub(channel)
            pong = await stub.Ping(authservice_pb2.PingRequest(), timeout=10)
            assert pong.ClusterName == "example.com"
            watch = stub.WatchEvents(
                authservice_pb2.Watch(Kinds=[types_pb2.WatchKind(Kind="access_request")]),
                timeout=10,
            )
            first = await watch.read()
            watch.cancel()
            assert first.Type == event_pb2.INIT  # the stream is up
    [ping] = auth.calls_to("Ping")
    assert ping.caller == "access-plugin"  # the fake saw the client's own certificate
