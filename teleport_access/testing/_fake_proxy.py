"""A fake Teleport Proxy with TLS routing, for tests of clients that connect through a Proxy.

`FakeProxy` listens on 127.0.0.1 and behaves like the Proxy's single TLS-routing port:

* It reads each connection's TLS ClientHello **without terminating TLS**. When the first ALPN
  protocol is ``teleport-auth@<hex(cluster)>.teleport.cluster.local`` and names its cluster, it
  copies the raw bytes (ClientHello included) to the Auth Service address it was given, so TLS
  is end to end between the client and Auth, as with the real Proxy. A ``teleport-auth@`` for
  another cluster, a malformed one, or any other ``teleport-*`` protocol is refused: the
  connection is closed during the handshake.
* Anything else (ALPN ``http/1.1``, ``h2`` or none) is plain HTTPS: the fake terminates TLS with
  a "public web" certificate from its own CA (`web_ca_pem`) and serves ``GET /webapi/find``
  (and ``/webapi/ping``) and ``GET /webapi/connectionupgrade``. An upgraded connection (WebSocket
  with sub-protocol ``alpn``/``alpn-ping``, or the legacy ``Upgrade: alpn`` / ``alpn-ping`` with
  the 4-byte Ping framing) is routed like a new TLS-routing connection, and ``alpn-ping``
  tunnels get keepalive pings every `ping_interval` seconds.
* Its HTTP is h11's (server side), its WebSocket handshake and framing wsproto's; the
  ClientHello reader is `_client_hello`, which only this fake needs.
* ``l7_load_balancer=True`` puts a TLS-terminating load balancer in front: every connection is
  answered with the web certificate, whatever its ALPN, so direct TLS routing fails and clients
  must use the connection upgrade.

Every connection is recorded (`connections`: SNI, ALPN list, outcome, upgrade used), and with
``record_traffic=True`` the forwarded bytes are kept (`forwarded_traffic`) so a test can show
that the Proxy only ever saw ciphertext.

The real Proxy also writes a signed PROXY protocol v2 header in front of the stream it forwards
to Auth (Auth's listener consumes it); the fake does not, because `FakeAuthServer`, like any
plain gRPC server, would not accept one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from ipaddress import ip_address
from typing import Any, Literal

import attrs
import h11
import wsproto.events
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from wsproto.connection import ConnectionType
from wsproto.handshake import H11Handshake
from wsproto.utilities import RemoteProtocolError

from teleport_access import _webapi
from teleport_access._alpn import (
    ALPN_AUTH_PREFIX,
    ALPN_HTTP11,
    ALPN_TELEPORT_PREFIX,
    cluster_from_auth_protocol,
)
from teleport_access._route import ConnectOptions, split_address
from teleport_access._streams import (
    READ_SIZE,
    ByteStream,
    PingFramedStream,
    PrefixedStream,
    SocketStream,
    TLSStream,
    TransportError,
    WebSocketStream,
    close_server,
)
from teleport_access.testing._client_hello import ClientHello, ClientHelloError, parse_client_hello

__all__ = ["FakeProxy", "ObservedConnection"]

logger = logging.getLogger(__name__)

Outcome = Literal["forwarded", "refused", "web"]
UPGRADE_TYPES = ("websocket", "alpn-ping", "alpn")
_HANDSHAKE_TIMEOUT = 10.0

_PingSender = Callable[[], Awaitable[None]]
_Writer = Callable[[ByteStream, bytes], Awaitable[None]]


@attrs.frozen(kw_only=True)
class ObservedConnection:
    """One TLS-routing connection as the fake Proxy saw it."""

    #: SNI of the ClientHello (None when absent or the hello was unreadable).
    server_name: str | None
    #: The ALPN list of the ClientHello, in the client's order.
    alpn_protocols: tuple[str, ...]
    #: "forwarded" to Auth, "refused" (closed), or "web" (TLS terminated, HTTPS served).
    outcome: Outcome
    #: None for a direct connection; else the upgrade it arrived through:
    #: "websocket/alpn", "websocket/alpn-ping", "alpn" or "alpn-ping".
    upgrade: str | None = None
    #: Why it was refused (empty otherwise).
    reason: str = ""


def _web_certificate(hosts: Collection[str]) -> tuple[bytes, bytes, bytes]:
    """(ca_pem, key_pem, cert_pem): a throwaway public-web CA and a server certificate."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Proxy public web CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-proxy")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = serialization.Encoding.PEM
    return ca_cert.public_bytes(pem), key_pem, cert.public_bytes(pem)


class FakeProxy:
    """A Teleport Proxy's TLS-routing port on 127.0.0.1, forwarding Auth connections.

    Usage::

        async with FakeProxy(auth_address=auth.address, cluster_name="example.com") as proxy:
            ...  # connect a client with addr=proxy.address,
            ...  # trusting proxy.web_ssl_context() for the public web certificate
            assert proxy.connections[0].alpn_protocols[0].startswith("teleport-auth@")
    """

    def __init__(
        self,
        *,
        auth_address: str,
        cluster_name: str,
        l7_load_balancer: bool = False,
        tls_routing_enabled: bool = True,
        upgrade_types: Collection[str] = UPGRADE_TYPES,
        ping_interval: float = 30.0,
        record_traffic: bool = False,
        server_version: str = "17.4.0",
        find_cluster_name: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        unknown = set(upgrade_types) - set(UPGRADE_TYPES)
        if unknown:
            raise ValueError(f"unknown upgrade types {sorted(unknown)}; known: {UPGRADE_TYPES}")
        if ping_interval <= 0:
            raise ValueError("ping_interval must be positive")
        split_address(auth_address)  # validate early
        self.auth_address = auth_address
        self.cluster_name = cluster_name
        self.l7_load_balancer = l7_load_balancer
        self.tls_routing_enabled = tls_routing_enabled
        self.upgrade_types = tuple(upgrade_types)
        self.ping_interval = ping_interval
        self.record_traffic = record_traffic
        self.server_version = server_version
        #: What ``/webapi/find`` reports as the cluster name (default: `cluster_name`).
        self.find_cluster_name = cluster_name if find_cluster_name is None else find_cluster_name
        self._host = host
        self._port = port
        self.web_ca_pem, self._web_key_pem, self._web_cert_pem = _web_certificate(
            {host, "localhost", "127.0.0.1"}
        )
        self._web_context: ssl.SSLContext | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._forwarded: set[tuple[ByteStream, ByteStream]] = set()
        self._connections: list[ObservedConnection] = []
        self._changed = asyncio.Event()
        self._traffic = bytearray()
        self.pings_sent = 0

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._server is not None:
            return
        self._web_context = self._server_context()
        self._server = await asyncio.start_server(self._accept, self._host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        server, self._server = self._server, None
        await close_server(server, self._tasks)

    async def __aenter__(self) -> FakeProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols([ALPN_HTTP11])
        directory = tempfile.mkdtemp(prefix="fake-proxy-")
        try:
            path = os.path.join(directory, "web.pem")
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(self._web_cert_pem + self._web_key_pem)
            context.load_cert_chain(path)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return context

    # --- what tests use --------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``: the ``addr`` a client should be configured with."""
        if not self._port:
            raise RuntimeError("the fake Proxy is not started")
        return f"{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def web_ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this fake's public web certificate (HTTP/1.1)."""
        context = ssl.create_default_context(cadata=self.web_ca_pem.decode("ascii"))
        context.set_alpn_protocols([ALPN_HTTP11])
        return context

    def connect_options(self, **overrides: Any) -> ConnectOptions:
        """`ConnectOptions` for a client of this fake: its web CA trusted, no HTTP proxy."""
        settings: dict[str, Any] = {"web_ssl_context": self.web_ssl_context(), "http_proxy": None}
        settings.update(overrides)
        return ConnectOptions(**settings)

    @property
    def connections(self) -> list[ObservedConnection]:
        """Every TLS-routing connection so far, oldest first (a copy)."""
        return list(self._connections)

    @property
    def forwarded_traffic(self) -> bytes:
        """All bytes copied between clients and Auth (``record_traffic=True`` only)."""
        return bytes(self._traffic)

    @property
    def active_forwarded(self) -> int:
        """Connections being copied to Auth right now."""
        return len(self._forwarded)

    async def wait_for_connections(self, count: int, *, within: float = 10.0) -> None:
        """Wait until at least *count* connections have been recorded (TimeoutError after
        *within* seconds)."""
        async with asyncio.timeout(within):
            while len(self._connections) < count:
                self._changed.clear()
                await self._changed.wait()

    async def drop_connections(self) -> int:
        """Fault switch: close every connection being forwarded to Auth now. Returns how many."""
        pairs = list(self._forwarded)
        for client, auth in pairs:
            with contextlib.suppress(Exception):
                await client.aclose()
            with contextlib.suppress(Exception):
                await auth.aclose()
        return len(pairs)

    def _record(self, observed: ObservedConnection) -> None:
        self._connections.append(observed)
        self._changed.set()

    # --- TLS routing -----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        stream = SocketStream(reader, writer)
        try:
            await self._route(stream, upgrade=None)
        except (OSError, ssl.SSLError, TransportError, h11.ProtocolError) as exc:
            logger.debug("fake Proxy connection ended: %s", exc)
        except asyncio.CancelledError:
            # Cancelled by aclose(). End normally: asyncio 3.11's connection callback calls
            # task.exception(), which would raise on a cancelled task.
            pass
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()
            self._tasks.discard(task)

    async def _route(self, stream: ByteStream, *, upgrade: str | None) -> None:
        """Route one TLS-routing connection (direct, or the inside of an upgraded one)."""
        if self.l7_load_balancer and upgrade is None:
            # The balancer terminates TLS itself and never looks at the ALPN list.
            hello, buffered = await self._peek_client_hello(stream)
            alpn = hello.alpn_protocols if hello else ()
            sni = hello.server_name if hello else None
            self._record(ObservedConnection(server_name=sni, alpn_protocols=alpn, outcome="web"))
            await self._serve_web(PrefixedStream(buffered, stream))
            return
        hello, buffered = await self._peek_client_hello(stream)
        if hello is None:
            self._refuse(None, upgrade, "not a TLS ClientHello")
            return
        first = hello.alpn_protocols[0] if hello.alpn_protocols else ""
        if first.startswith(ALPN_AUTH_PREFIX):
            try:
                cluster = cluster_from_auth_protocol(first)
            except ValueError:
                self._refuse(hello, upgrade, "malformed teleport-auth cluster encoding")
                return
            if cluster != self.cluster_name:
                self._refuse(hello, upgrade, f"auth server for cluster {cluster!r} not found")
                return
            await self._forward(stream, buffered, hello, upgrade)
            return
        if first.startswith(ALPN_TELEPORT_PREFIX):
            self._refuse(hello, upgrade, f"protocol {first!r} is not served by the fake Proxy")
            return
        self._record(
            ObservedConnection(
                server_name=hello.server_name,
                alpn_protocols=hello.alpn_protocols,
                outcome="web",
                upgrade=upgrade,
            )
        )
        await self._serve_web(PrefixedStream(buffered, stream))

    def _refuse(self, hello: ClientHello | None, upgrade: str | None, reason: str) -> None:
        self._record(
            ObservedConnection(
                server_name=hello.server_name if hello else None,
                alpn_protocols=hello.alpn_protocols if hello else (),
                outcome="refused",
                upgrade=upgrade,
                reason=reason,
            )
        )

    async def _peek_client_hello(self, stream: ByteStream) -> tuple[ClientHello | None, bytes]:
        buffer = b""
        try:
            async with asyncio.timeout(_HANDSHAKE_TIMEOUT):
                while True:
                    hello = parse_client_hello(buffer)
                    if hello is not None:
                        return hello, buffer
                    chunk = await stream.read(READ_SIZE)
                    if not chunk:
                        return None, buffer
                    buffer += chunk
        except (ClientHelloError, TimeoutError):
            return None, buffer

    async def _forward(
        self, client: ByteStream, buffered: bytes, hello: ClientHello, upgrade: str | None
    ) -> None:
        host, port = split_address(self.auth_address)
        try:
            auth: ByteStream = await asyncio.wait_for(
                SocketStream.connect_tcp(host, port), _HANDSHAKE_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            self._refuse(hello, upgrade, f"cannot dial the Auth Service: {exc}")
            return
        self._record(
            ObservedConnection(
                server_name=hello.server_name,
                alpn_protocols=hello.alpn_protocols,
                outcome="forwarded",
                upgrade=upgrade,
            )
        )
        pair = (client, auth)
        self._forwarded.add(pair)
        try:
            await self._copy_to(auth, buffered)
            await _pipe(client, auth, self._copy_to)
        finally:
            self._forwarded.discard(pair)
            with contextlib.suppress(Exception):
                await auth.aclose()

    async def _copy_to(self, target: ByteStream, data: bytes) -> None:
        if self.record_traffic:
            self._traffic += data
        await target.write(data)

    # --- the public web API ----------------------------------------------------------------------

    async def _serve_web(self, stream: ByteStream) -> None:
        assert self._web_context is not None
        try:
            async with asyncio.timeout(_HANDSHAKE_TIMEOUT):
                tls = await TLSStream.server(stream, self._web_context)
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            logger.debug("fake Proxy web handshake failed: %s", exc)
            return
        http = h11.Connection(h11.SERVER)
        while (request := await _read_request(http, tls)) is not None:
            path = request.target.split(b"?", 1)[0].decode("ascii", errors="replace")
            if request.method == b"GET" and path == _webapi.UPGRADE_PATH:
                await self._upgrade(tls, http, request)
                return
            if request.method == b"GET" and path in (_webapi.FIND_PATH, "/webapi/ping"):
                await _send_json(tls, http, 200, self._find_document())
            else:
                await _send_json(tls, http, 404, {"error": {"message": f"{path} not found"}})
            if http.our_state is not h11.DONE:  # the client asked to close
                return
            http.start_next_cycle()

    def _find_document(self) -> dict[str, object]:
        """``webclient.PingResponse`` as ``/webapi/find`` writes it (the fields clients read)."""
        public = self.address
        return {
            "proxy": {
                "kube": {"enabled": False},
                "ssh": {
                    "listen_addr": public,
                    "tunnel_listen_addr": public,
                    "web_listen_addr": public,
                    "public_addr": public,
                },
                "db": {},
                "tls_routing_enabled": self.tls_routing_enabled,
            },
            "server_version": self.server_version,
            "min_client_version": "16.0.0",
            "cluster_name": self.find_cluster_name,
            "automatic_upgrades": False,
            "edition": "community",
            "fips": False,
        }

    async def _upgrade(self, tls: TLSStream, http: h11.Connection, request: h11.Request) -> None:
        requested = _tokens(request, _webapi.TELEPORT_UPGRADE_HEADER) + _tokens(request, "Upgrade")
        allowed = [kind for kind in UPGRADE_TYPES if kind in self.upgrade_types]
        # Like the real Proxy: WebSocket first, then the legacy alpn-ping, then alpn.
        chosen = next((kind for kind in allowed if kind in requested), None)
        if chosen is None:
            message = f"unsupported upgrade types: {requested}"
            await _send_json(tls, http, 404, {"error": {"message": message}})
            return
        tunnel: ByteStream
        pinger: _PingSender | None
        if chosen == "websocket":
            subprotocol = await _accept_websocket(tls, request)
            if subprotocol is None:
                return
            websocket = WebSocketStream(_after_head(http, tls), client_side=False)
            tunnel, label = websocket, f"websocket/{subprotocol}"
            pinger = websocket.send_ping if subprotocol == "alpn-ping" else None
        else:
            headers = [
                ("Upgrade", chosen),
                (_webapi.TELEPORT_UPGRADE_HEADER, chosen),
                ("Connection", "Upgrade"),
            ]
            switching = h11.InformationalResponse(
                status_code=101, headers=headers, reason="Switching Protocols"
            )
            await tls.write(http.send(switching))
            inner = _after_head(http, tls)
            if chosen == "alpn-ping":
                framed = PingFramedStream(inner)
                tunnel, label, pinger = framed, chosen, framed.send_ping
            else:
                tunnel, label, pinger = inner, chosen, None
        ping_task = asyncio.create_task(self._ping(pinger)) if pinger else None
        try:
            await self._route(tunnel, upgrade=label)
        finally:
            if ping_task is not None:
                ping_task.cancel()
                await asyncio.gather(ping_task, return_exceptions=True)

    async def _ping(self, send_ping: _PingSender) -> None:
        with contextlib.suppress(OSError, ssl.SSLError, TransportError):
            while True:
                await asyncio.sleep(self.ping_interval)
                await send_ping()
                self.pings_sent += 1


async def _read_request(http: h11.Connection, stream: ByteStream) -> h11.Request | None:
    """The next request on *stream* once its (ignored) body is read; None when the client left."""
    request: h11.Request | None = None
    while True:
        event = http.next_event()
        if event is h11.NEED_DATA:
            http.receive_data(await stream.read(READ_SIZE))
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.EndOfMessage):
            return request
        elif not isinstance(event, h11.Data):
            return None  # ConnectionClosed


def _tokens(request: h11.Request, name: str) -> list[str]:
    """The comma-separated values of every *name* header, lowercased."""
    wanted = name.lower().encode("ascii")
    return [
        token.strip().lower()
        for key, value in request.headers
        if key == wanted
        for token in value.decode("latin-1").split(",")
        if token.strip()
    ]


def _after_head(http: h11.Connection, stream: ByteStream) -> ByteStream:
    """*stream* after a 101, replaying bytes the client sent right behind its request."""
    rest, _closed = http.trailing_data
    return PrefixedStream(bytes(rest), stream) if rest else stream


async def _accept_websocket(tls: TLSStream, request: h11.Request) -> str | None:
    """Answer a WebSocket upgrade with wsproto: the sub-protocol accepted, or None if refused.

    The client also lists its legacy upgrade type under Upgrade; wsproto expects the one value
    ``websocket``, which the Proxy has chosen by now, so that is what it is shown.
    """
    headers = [(key, value) for key, value in request.headers if key != b"upgrade"]
    headers.append((b"upgrade", b"websocket"))
    handshake = H11Handshake(ConnectionType.SERVER)
    try:
        handshake.initiate_upgrade_connection(headers, request.target)
        [event] = handshake.events()
    except RemoteProtocolError as exc:
        logger.debug("fake Proxy refused a WebSocket upgrade: %s", exc)
        await tls.write(handshake.send(exc.event_hint or wsproto.events.RejectConnection()))
        return None
    assert isinstance(event, wsproto.events.Request)
    subprotocol = next((p for p in event.subprotocols if p in ("alpn", "alpn-ping")), None)
    answer: wsproto.events.Event = (
        wsproto.events.RejectConnection(status_code=400)
        if subprotocol is None
        else wsproto.events.AcceptConnection(subprotocol=subprotocol)
    )
    await tls.write(handshake.send(answer))
    return subprotocol


async def _send_json(tls: TLSStream, http: h11.Connection, status: int, document: object) -> None:
    body = json.dumps(document).encode("utf-8")
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    response = h11.Response(status_code=status, headers=headers, reason=HTTPStatus(status).phrase)
    await tls.write(
        http.send(response) + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage())
    )


async def _pipe(client: ByteStream, auth: ByteStream, write: _Writer) -> None:
    """Copy raw bytes both ways until either side ends, then stop both directions."""

    async def copy(source: ByteStream, target: ByteStream) -> None:
        while True:
            chunk = await source.read(READ_SIZE)
            if not chunk:
                return
            await write(target, chunk)

    directions = {
        asyncio.create_task(copy(client, auth)),
        asyncio.create_task(copy(auth, client)),
    }
    try:
        await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in directions:
            task.cancel()
        results = await asyncio.gather(*directions, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(
                result, asyncio.CancelledError | OSError | ssl.SSLError | TransportError
            ):
                raise result
