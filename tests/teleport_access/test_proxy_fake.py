"""teleport_access.testing's FakeProxy behaves like a Teleport Proxy's TLS-routing port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator

import pytest

from teleport_access import _webapi
from teleport_access._alpn import API_DOMAIN, auth_alpn_protocols
from teleport_access._http1 import HTTP1Client
from teleport_access._route import auth_ssl_context, split_address
from teleport_access._streams import SocketStream, TLSStream
from teleport_access.testing._fake_proxy import FakeProxy
from teleport_access.testing._pki import TestCertificateAuthority
from tests.teleport_access.proxy_backends import EchoAuthServer, closed_port_address

CLUSTER = "example.com"


@pytest.fixture
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority(CLUSTER)


@pytest.fixture
async def auth(ca: TestCertificateAuthority) -> AsyncIterator[EchoAuthServer]:
    server = EchoAuthServer(ca)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def proxy(auth: EchoAuthServer) -> AsyncIterator[FakeProxy]:
    async with FakeProxy(
        auth_address=auth.address, cluster_name=CLUSTER, ping_interval=0.02, record_traffic=True
    ) as fake:
        yield fake


async def tls_to(
    address: str, context: ssl.SSLContext, server_name: str | None = API_DOMAIN
) -> TLSStream:
    host, port = split_address(address)
    tcp = await SocketStream.connect_tcp(host, port)
    try:
        return await TLSStream.client(tcp, context, server_name)
    except BaseException:
        await tcp.aclose()
        raise


def any_server_context(alpn: list[str]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(alpn)
    return context


async def get(stream: TLSStream, path: str) -> tuple[int, bytes]:
    http = HTTP1Client(stream, "the fake Proxy")
    head = await http.request("GET", path, [("Host", "proxy")])
    return head.status_code, await http.read_body(1024 * 1024)


async def test_auth_connections_are_forwarded_with_tls_end_to_end(
    proxy: FakeProxy, ca: TestCertificateAuthority
) -> None:
    identity = ca.issue_identity("bot", roles=["access-plugin"])
    context = auth_ssl_context(identity, auth_alpn_protocols(CLUSTER))
    stream = await tls_to(proxy.address, context)
    try:
        # The handshake completed with the Auth Service's own certificate and h2.
        assert stream.selected_alpn_protocol == "h2"
    finally:
        await stream.aclose()
    [seen] = proxy.connections
    assert seen.outcome == "forwarded"
    assert seen.server_name == API_DOMAIN
    assert seen.alpn_protocols == auth_alpn_protocols(CLUSTER)
    assert seen.upgrade is None


async def test_forwarded_bytes_are_the_raw_tls_stream_starting_with_the_client_hello(
    proxy: FakeProxy, ca: TestCertificateAuthority
) -> None:
    context = auth_ssl_context(ca.issue_identity("bot"), auth_alpn_protocols(CLUSTER))
    stream = await tls_to(proxy.address, context)
    await stream.aclose()
    traffic = proxy.forwarded_traffic
    assert traffic[0] == 0x16  # a TLS handshake record, copied as is
    assert b"teleport-auth@" in traffic  # the ALPN list travels in the clear ClientHello


@pytest.mark.parametrize(
    ("alpn", "reason"),
    [
        (list(auth_alpn_protocols("other.example.com")), "cluster 'other.example.com' not found"),
        (["teleport-auth@zz.teleport.cluster.local", "h2"], "malformed"),
        (["teleport-proxy-ssh"], "not served"),
    ],
)
async def test_other_teleport_protocols_and_clusters_are_refused(
    proxy: FakeProxy, alpn: list[str], reason: str
) -> None:
    with pytest.raises((ssl.SSLError, OSError)):
        await tls_to(proxy.address, any_server_context(alpn))
    [seen] = proxy.connections
    assert seen.outcome == "refused"
    assert reason in seen.reason
    assert seen.alpn_protocols == tuple(alpn)


async def test_a_connection_that_is_not_tls_is_refused(proxy: FakeProxy) -> None:
    host, port = split_address(proxy.address)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET / HTTP/1.1\r\n\r\n")
    assert await reader.read() == b""
    writer.close()
    assert proxy.connections[0].outcome == "refused"


async def test_plain_https_serves_webapi_find_with_the_cluster_and_tls_routing(
    proxy: FakeProxy,
) -> None:
    stream = await tls_to(proxy.address, proxy.web_ssl_context(), "localhost")
    try:
        assert stream.selected_alpn_protocol == "http/1.1"
        status, body = await get(stream, "/webapi/find")
        # Keep-alive: a second request on the same connection.
        ping_status, _ = await get(stream, "/webapi/ping")
    finally:
        await stream.aclose()
    assert (status, ping_status) == (200, 200)
    document = json.loads(body)
    assert document["cluster_name"] == CLUSTER
    assert document["proxy"]["tls_routing_enabled"] is True
    assert document["server_version"]
    assert proxy.connections[0].outcome == "web"


async def test_unknown_web_paths_answer_404_with_teleports_error_shape(proxy: FakeProxy) -> None:
    stream = await tls_to(proxy.address, proxy.web_ssl_context(), "localhost")
    try:
        status, body = await get(stream, "/webapi/nothing")
    finally:
        await stream.aclose()
    assert status == 404
    assert "message" in json.loads(body)["error"]


async def test_find_reports_the_configured_tls_routing_and_cluster(auth: EchoAuthServer) -> None:
    async with FakeProxy(
        auth_address=auth.address,
        cluster_name=CLUSTER,
        tls_routing_enabled=False,
        find_cluster_name="",
    ) as fake:
        stream = await tls_to(fake.address, fake.web_ssl_context(), "localhost")
        try:
            info = _webapi.parse_find_response((await get(stream, "/webapi/find"))[1])
        finally:
            await stream.aclose()
    assert info == _webapi.ProxyInfo(
        cluster_name="",
        tls_routing_enabled=False,
        server_version="17.4.0",
        min_client_version="16.0.0",
    )


async def test_as_an_l7_load_balancer_it_terminates_tls_whatever_the_alpn(
    auth: EchoAuthServer, ca: TestCertificateAuthority
) -> None:
    async with FakeProxy(
        auth_address=auth.address, cluster_name=CLUSTER, l7_load_balancer=True
    ) as fake:
        context = auth_ssl_context(ca.issue_identity("bot"), auth_alpn_protocols(CLUSTER))
        with pytest.raises(ssl.SSLCertVerificationError):
            await tls_to(fake.address, context)
        await fake.wait_for_connections(1)
        [seen] = fake.connections
    assert seen.outcome == "web"
    assert seen.alpn_protocols == auth_alpn_protocols(CLUSTER)


async def test_upgrade_types_it_does_not_offer_are_answered_404(auth: EchoAuthServer) -> None:
    async with FakeProxy(
        auth_address=auth.address, cluster_name=CLUSTER, upgrade_types=("websocket",)
    ) as fake:
        stream = await tls_to(fake.address, fake.web_ssl_context(), "localhost")
        try:
            headers = [("Host", "proxy"), ("Upgrade", "alpn"), ("Connection", "Upgrade")]
            head = await HTTP1Client(stream, "the fake Proxy").request(
                "GET", _webapi.UPGRADE_PATH, headers
            )
        finally:
            await stream.aclose()
    assert head.status_code == 404


async def test_an_unreachable_auth_service_means_the_connection_is_refused(
    ca: TestCertificateAuthority,
) -> None:
    async with FakeProxy(auth_address=closed_port_address(), cluster_name=CLUSTER) as fake:
        context = auth_ssl_context(ca.issue_identity("bot"), auth_alpn_protocols(CLUSTER))
        with pytest.raises((ssl.SSLError, OSError)):
            await tls_to(fake.address, context)
        [seen] = fake.connections
    assert seen.outcome == "refused"
    assert "cannot dial the Auth Service" in seen.reason


async def test_drop_connections_closes_every_forwarded_connection(
    proxy: FakeProxy, ca: TestCertificateAuthority
) -> None:
    context = auth_ssl_context(ca.issue_identity("bot"), auth_alpn_protocols(CLUSTER))
    stream = await tls_to(proxy.address, context)
    try:
        for _ in range(100):
            if proxy.active_forwarded:
                break
            await asyncio.sleep(0.01)
        assert await proxy.drop_connections() == 1
        # Closed with bytes unread, the kernel may reset instead of sending a FIN.
        with contextlib.suppress(ConnectionResetError):
            assert await asyncio.wait_for(stream.read(), 5) == b""
    finally:
        await stream.aclose()


def test_unknown_upgrade_types_are_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown upgrade types"):
        FakeProxy(auth_address="127.0.0.1:1", cluster_name=CLUSTER, upgrade_types=("h2c",))


def test_the_address_is_only_known_once_started() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = FakeProxy(auth_address="127.0.0.1:1", cluster_name=CLUSTER).address
