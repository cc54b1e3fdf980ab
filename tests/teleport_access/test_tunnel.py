"""The local tunnel: grpc.aio through a fake Proxy to a mutual-TLS gRPC server, end to end."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from teleport_access._credentials import RefreshingIdentityFile, StaticIdentity
from teleport_access._exceptions import ConnectionProblem
from teleport_access._route import ConnectOptions, Route, RouteKind, resolve_route
from teleport_access._tunnel import AuthTunnel
from teleport_access.testing._fake_proxy import FakeProxy
from teleport_access.testing._pki import TestCertificateAuthority
from tests.teleport_access.proxy_backends import (
    BIDI_STREAM,
    SERVER_STREAM,
    UNARY,
    WHO_AM_I,
    EchoAuthServer,
    closed_port_address,
    silent_listener,
)

CLUSTER = "example.com"
CALL_TIMEOUT = 10.0


@pytest.fixture
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority(CLUSTER)


@pytest.fixture
def identity(ca: TestCertificateAuthority) -> StaticIdentity:
    return StaticIdentity(ca.issue_identity("access-plugin", roles=["access-plugin"]))


@pytest.fixture
async def auth(ca: TestCertificateAuthority) -> AsyncIterator[EchoAuthServer]:
    server = EchoAuthServer(ca)
    await server.start()
    yield server
    await server.stop()


def channel_for(tunnel: AuthTunnel) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(tunnel.grpc_target, options=tunnel.grpc_options)


async def who_am_i(channel: grpc.aio.Channel) -> bytes:
    result = await channel.unary_unary(WHO_AM_I)(b"", timeout=CALL_TIMEOUT)
    assert isinstance(result, bytes)
    return result


PROXY_SETUPS = {
    "tls-routing": {},
    "upgrade-websocket": {"l7_load_balancer": True},
    "upgrade-legacy-alpn-ping": {"l7_load_balancer": True, "upgrade_types": ("alpn-ping",)},
}


@pytest.fixture(params=list(PROXY_SETUPS))
async def proxy(request: pytest.FixtureRequest, auth: EchoAuthServer) -> AsyncIterator[FakeProxy]:
    options = PROXY_SETUPS[request.param]
    async with FakeProxy(
        auth_address=auth.address,
        cluster_name=CLUSTER,
        ping_interval=0.01,  # pings interleave with the calls' bytes on alpn-ping tunnels
        record_traffic=True,
        **options,  # type: ignore[arg-type]
    ) as fake:
        yield fake


@pytest.fixture
async def tunnel(proxy: FakeProxy, identity: StaticIdentity) -> AsyncIterator[AuthTunnel]:
    route = await resolve_route(
        proxy.address, identity, mode="proxy", options=proxy.connect_options()
    )
    async with AuthTunnel(route, identity, proxy.connect_options()) as opened:
        yield opened


async def test_unary_and_streaming_calls_reach_the_server_behind_the_proxy(
    tunnel: AuthTunnel, proxy: FakeProxy
) -> None:
    async with channel_for(tunnel) as channel:
        assert await channel.unary_unary(UNARY)(b"ping", timeout=CALL_TIMEOUT) == b"ping"
        counted = [
            m async for m in channel.unary_stream(SERVER_STREAM)(b"50", timeout=CALL_TIMEOUT)
        ]
        assert counted == [str(n).encode() for n in range(50)]
        chat = channel.stream_stream(BIDI_STREAM)(timeout=CALL_TIMEOUT)
        for word in (b"one", b"two", b"three"):
            await chat.write(word)
            assert await chat.read() == word.upper()
        await chat.done_writing()
        # A large message crosses many TLS records and (on alpn-ping) many Ping frames.
        big = os.urandom(3 * 1024 * 1024)
        assert await channel.unary_unary(UNARY)(big, timeout=CALL_TIMEOUT) == big
    forwarded = [c for c in proxy.connections if c.outcome == "forwarded"]
    assert (
        forwarded[-1].alpn_protocols[0]
        == "teleport-auth@6578616d706c652e636f6d.teleport.cluster.local"
    )
    assert forwarded[-1].server_name == "teleport.cluster.local"


async def test_the_server_authenticates_the_clients_own_certificate(tunnel: AuthTunnel) -> None:
    async with channel_for(tunnel) as channel:
        assert await who_am_i(channel) == b"access-plugin"


async def test_the_proxy_only_ever_sees_ciphertext(tunnel: AuthTunnel, proxy: FakeProxy) -> None:
    marker = b"plaintext-marker-" + os.urandom(8).hex().encode()
    async with channel_for(tunnel) as channel:
        assert await channel.unary_unary(UNARY)(marker, timeout=CALL_TIMEOUT) == marker
    traffic = proxy.forwarded_traffic
    assert len(traffic) > 1000
    assert marker not in traffic
    assert b"test.Echo" not in traffic  # not even the method path


async def test_alpn_ping_tunnels_carry_calls_while_the_proxy_pings(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    async with FakeProxy(
        auth_address=auth.address,
        cluster_name=CLUSTER,
        l7_load_balancer=True,
        upgrade_types=("alpn-ping",),
        ping_interval=0.005,
    ) as proxy:
        route = Route(
            kind=RouteKind.PROXY_ALPN_UPGRADE, address=proxy.address, cluster_name=CLUSTER
        )
        tunnel = AuthTunnel(route, identity, proxy.connect_options())
        async with tunnel, channel_for(tunnel) as channel:
            for _ in range(20):
                assert await channel.unary_unary(UNARY)(b"x", timeout=CALL_TIMEOUT) == b"x"
                await asyncio.sleep(0.005)
        assert proxy.pings_sent > 0


async def test_a_refreshed_identity_is_used_for_the_next_connection(
    auth: EchoAuthServer, ca: TestCertificateAuthority, tmp_path: Path
) -> None:
    path = ca.write_identity_file(tmp_path / "identity", ca.issue_identity("first-bot"))
    source = RefreshingIdentityFile(path, interval=timedelta(0))
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        route = await resolve_route(proxy.address, source, mode="proxy")
        async with AuthTunnel(route, source) as tunnel, channel_for(tunnel) as channel:
            assert await who_am_i(channel) == b"first-bot"
            ca.write_identity_file(path, ca.issue_identity("renewed-bot"))
            # The open connection keeps its certificate, as with any TLS client ...
            assert await who_am_i(channel) == b"first-bot"
            # ... and the next connection uses the new one.
            await proxy.drop_connections()
            for _ in range(100):
                try:
                    name = await channel.unary_unary(WHO_AM_I)(b"", timeout=1, wait_for_ready=True)
                except grpc.aio.AioRpcError:
                    continue
                break
            assert name == b"renewed-bot"
    assert source.generation == 1


async def test_a_proxy_that_is_down_fails_calls_promptly_with_the_reason(
    identity: StaticIdentity,
) -> None:
    address = closed_port_address()
    route = Route(kind=RouteKind.PROXY_TLS_ROUTING, address=address, cluster_name=CLUSTER)
    async with AuthTunnel(route, identity, ConnectOptions(connect_timeout=2)) as tunnel:
        async with channel_for(tunnel) as channel:
            async with asyncio.timeout(8):  # UNAVAILABLE, not a hang
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await channel.unary_unary(UNARY)(b"x", timeout=CALL_TIMEOUT)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        problem = tunnel.last_error
        assert isinstance(problem, ConnectionProblem)
        assert problem.address == address
        assert f"the Teleport Proxy at {address}" in str(problem)
        assert "cannot connect" in str(problem)
        assert tunnel.stats.connections_failed >= 1


async def test_a_proxy_that_never_answers_fails_calls_after_the_connect_timeout(
    identity: StaticIdentity,
) -> None:
    async with silent_listener() as address:
        route = Route(kind=RouteKind.PROXY_TLS_ROUTING, address=address, cluster_name=CLUSTER)
        async with AuthTunnel(route, identity, ConnectOptions(connect_timeout=0.5)) as tunnel:
            async with channel_for(tunnel) as channel:
                async with asyncio.timeout(8):
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await channel.unary_unary(UNARY)(b"x", timeout=CALL_TIMEOUT)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "timed out after 0.5 s" in str(tunnel.last_error)


async def test_a_wrong_cluster_is_refused_and_reported(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        route = Route(
            kind=RouteKind.PROXY_TLS_ROUTING,
            address=proxy.address,
            cluster_name="other.example.com",
        )
        async with AuthTunnel(route, identity) as tunnel, channel_for(tunnel) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await channel.unary_unary(UNARY)(b"x", timeout=CALL_TIMEOUT)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "'other.example.com'" in str(tunnel.last_error)
        assert proxy.connections[0].outcome == "refused"


async def test_a_successful_connection_clears_the_last_error(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        route = Route(kind=RouteKind.PROXY_TLS_ROUTING, address=proxy.address, cluster_name=CLUSTER)
        async with AuthTunnel(route, identity) as tunnel:
            tunnel._last_error = ConnectionProblem("earlier", address=proxy.address)
            async with channel_for(tunnel) as channel:
                await who_am_i(channel)
            assert tunnel.last_error is None
            assert tunnel.stats.connections_opened == 1


async def test_the_socket_is_private_to_this_user_and_removed_on_close(
    identity: StaticIdentity,
) -> None:
    route = Route(kind=RouteKind.PROXY_TLS_ROUTING, address="127.0.0.1:1", cluster_name=CLUSTER)
    tunnel = AuthTunnel(route, identity)
    await tunnel.start()
    directory = os.path.dirname(tunnel.socket_path)
    try:
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert os.stat(directory).st_uid == os.getuid()
        assert stat.S_ISSOCK(os.stat(tunnel.socket_path).st_mode)
        assert stat.S_IMODE(os.stat(tunnel.socket_path).st_mode) == 0o600
        assert os.listdir(directory) == ["auth.sock"]  # no key material beside it
        assert tunnel.grpc_target == f"unix:{tunnel.socket_path}"
    finally:
        await tunnel.aclose()
    assert not Path(directory).exists()  # noqa: ASYNC240 - a test's quick check


async def test_closing_the_tunnel_ends_the_connections_it_carries(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        route = Route(kind=RouteKind.PROXY_TLS_ROUTING, address=proxy.address, cluster_name=CLUSTER)
        tunnel = AuthTunnel(route, identity)
        await tunnel.start()
        async with channel_for(tunnel) as channel:
            await who_am_i(channel)
            assert tunnel.stats.connections_active == 1
            await tunnel.aclose()
            assert tunnel.stats.connections_active == 0
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await channel.unary_unary(UNARY)(b"x", timeout=2)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_tunnel_needs_starting_before_use(identity: StaticIdentity) -> None:
    route = Route(kind=RouteKind.AUTH, address="127.0.0.1:1")
    with pytest.raises(RuntimeError, match="not started"):
        _ = AuthTunnel(route, identity).grpc_target


async def test_the_tunnel_also_carries_the_direct_auth_route(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    route = Route(kind=RouteKind.AUTH, address=auth.address)
    async with AuthTunnel(route, identity) as tunnel, channel_for(tunnel) as channel:
        assert await who_am_i(channel) == b"access-plugin"


async def test_an_outage_is_warned_about_once_not_on_every_retry(
    identity: StaticIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="teleport_access._tunnel")
    route = Route(
        kind=RouteKind.PROXY_TLS_ROUTING, address=closed_port_address(), cluster_name=CLUSTER
    )
    async with AuthTunnel(route, identity) as tunnel:
        for _ in range(3):  # three connection attempts, as gRPC's reconnects would make
            reader, writer = await asyncio.open_unix_connection(tunnel.socket_path)
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed at once
            writer.close()
        assert tunnel.stats.connections_failed == 3
    failures = [r for r in caplog.records if "Cannot open a connection" in r.getMessage()]
    assert [r.levelno for r in failures] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
