"""Outbound HTTP proxies: HTTPS_PROXY / NO_PROXY like Teleport's Go clients, CONNECT tunnelling."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

import h11
import pytest

from teleport_access._credentials import StaticIdentity
from teleport_access._exceptions import ConnectionProblem
from teleport_access._httpproxy import HTTPProxy, connect, proxy_for
from teleport_access._route import ConnectOptions, Route, RouteDialer, RouteKind
from teleport_access.testing._fake_proxy import FakeProxy
from teleport_access.testing._pki import TestCertificateAuthority
from tests.teleport_access.proxy_backends import EchoAuthServer, silent_listener

CLUSTER = "example.com"
ENV = {"HTTPS_PROXY": "http://proxy.corp:3128"}


# --- the decision -------------------------------------------------------------------------------


def test_https_proxy_applies_to_remote_hosts() -> None:
    assert proxy_for("teleport.example.com", 443, ENV) == HTTPProxy(
        scheme="http", host="proxy.corp", port=3128
    )


def test_the_lowercase_variable_works_too() -> None:
    assert proxy_for("teleport.example.com", 443, {"https_proxy": "proxy.corp:8080"}) is not None


def test_no_variable_means_direct() -> None:
    assert proxy_for("teleport.example.com", 443, {"HTTP_PROXY": "http://p:1"}) is None


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_loopback_is_never_proxied(host: str) -> None:
    assert proxy_for(host, 443, ENV) is None


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "direct"),
    [
        ("*", "teleport.example.com", 443, True),
        ("example.com", "example.com", 443, True),
        ("example.com", "teleport.example.com", 443, True),
        ("example.com", "notexample.com", 443, False),
        (".example.com", "teleport.example.com", 443, True),
        (".example.com", "example.com", 443, False),
        ("*.example.com", "teleport.example.com", 443, True),
        ("teleport.example.com:3080", "teleport.example.com", 443, False),
        ("teleport.example.com:443", "teleport.example.com", 443, True),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "192.168.1.1", 443, False),
        ("192.168.1.1", "192.168.1.1", 3025, True),
        ("other.org, example.com", "teleport.example.com", 443, True),
    ],
)
def test_no_proxy_exceptions_follow_go_rules(
    no_proxy: str, host: str, port: int, direct: bool
) -> None:
    chosen = proxy_for(host, port, {**ENV, "NO_PROXY": no_proxy})
    assert (chosen is None) == direct


def test_proxy_credentials_are_parsed_but_never_shown() -> None:
    proxy = HTTPProxy.parse("https://alice:s%40cret@proxy.corp")
    assert (proxy.scheme, proxy.port, proxy.username, proxy.password) == (
        "https",
        443,
        "alice",
        "s@cret",
    )
    assert "s@cret" not in repr(proxy)
    assert "s@cret" not in str(proxy)
    assert str(proxy) == "https://proxy.corp:443"


def test_an_unsupported_proxy_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="HTTPS_PROXY: proxy URL scheme 'socks5'"):
        proxy_for("teleport.example.com", 443, {"HTTPS_PROXY": "socks5://p:1080"})


# --- CONNECT through a real proxy ----------------------------------------------------------------


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 that records requests.

    *after_head* is written in the same packet as the ``200`` (as when the target speaks first).
    """

    def __init__(self, *, require_auth: str | None = None, after_head: bytes = b"") -> None:
        self.require_auth = require_auth
        self.after_head = after_head
        self.requests: list[h11.Request] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            http = h11.Connection(h11.SERVER)
            while (request := http.next_event()) is h11.NEED_DATA:
                http.receive_data(await reader.read(65536))
            assert isinstance(request, h11.Request)
            self.requests.append(request)
            expected = f"Basic {self.require_auth}" if self.require_auth else None
            if expected and header(request, "Proxy-Authorization") != expected:
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                await writer.drain()
                return
            host, _, port = request.target.decode().rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n" + self.after_head)

            async def copy(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
                while chunk := await source.read(65536):
                    target.write(chunk)
                    await target.drain()
                target.close()

            await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        except (asyncio.CancelledError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


def header(request: h11.Request, name: str) -> str | None:
    return next((v.decode() for k, v in request.headers if k == name.lower().encode()), None)


@contextlib.asynccontextmanager
async def connect_proxy(
    require_auth: str | None = None, after_head: bytes = b""
) -> AsyncIterator[ConnectProxy]:
    proxy = ConnectProxy(require_auth=require_auth, after_head=after_head)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


@pytest.fixture
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority(CLUSTER)


@pytest.fixture
async def auth(ca: TestCertificateAuthority) -> AsyncIterator[EchoAuthServer]:
    server = EchoAuthServer(ca)
    await server.start()
    yield server
    await server.stop()


async def test_the_tunnel_reaches_the_teleport_proxy_through_connect(
    auth: EchoAuthServer, ca: TestCertificateAuthority
) -> None:
    identity = StaticIdentity(ca.issue_identity("bot"))
    token = base64.b64encode(b"alice:secret").decode()
    async with (
        connect_proxy(require_auth=token) as corporate,
        FakeProxy(
            auth_address=auth.address, cluster_name=CLUSTER, l7_load_balancer=True
        ) as teleport,
    ):
        http_proxy = HTTPProxy.parse(corporate.url.replace("http://", "http://alice:secret@"))
        route = Route(
            kind=RouteKind.PROXY_ALPN_UPGRADE, address=teleport.address, cluster_name=CLUSTER
        )
        dialer = RouteDialer(route, identity, teleport.connect_options(http_proxy=http_proxy))
        stream = await dialer.open()
        await stream.aclose()
    [request] = corporate.requests
    assert (request.method, request.target) == (b"CONNECT", teleport.address.encode())
    assert header(request, "Host") == teleport.address
    assert header(request, "Proxy-Authorization") == f"Basic {token}"


async def test_a_proxy_that_refuses_connect_is_named_in_the_error(
    ca: TestCertificateAuthority,
) -> None:
    identity = StaticIdentity(ca.issue_identity("bot"))
    async with connect_proxy(require_auth="expected") as corporate:
        route = Route(
            kind=RouteKind.PROXY_TLS_ROUTING,
            address="teleport.example.com:443",
            cluster_name=CLUSTER,
        )
        options = ConnectOptions(http_proxy=HTTPProxy.parse(corporate.url))
        with pytest.raises(ConnectionProblem) as caught:
            await RouteDialer(route, identity, options).open()
    message = str(caught.value)
    assert f"through the HTTP proxy {corporate.url}" in message
    assert "407 Proxy Authentication Required" in message


async def test_bytes_the_proxy_sends_right_behind_its_answer_are_not_lost() -> None:
    async with silent_listener() as target, connect_proxy(after_head=b"early bytes") as corporate:
        host, _, port = target.rpartition(":")
        stream = await connect(HTTPProxy.parse(corporate.url), host, int(port))
        try:
            async with asyncio.timeout(10):
                assert await stream.read() == b"early bytes"
        finally:
            await stream.aclose()
