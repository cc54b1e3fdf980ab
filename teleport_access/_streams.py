"""Layered asyncio byte streams: TCP, TLS over any stream, and the Proxy's tunnel framings.

A connection to the Auth Service through a load balancer is a stack of layers: TCP, TLS to the
balancer, an HTTP upgrade, optionally Ping or WebSocket framing, and inside all that a second,
end-to-end TLS session with Auth. asyncio's own TLS cannot be stacked on a framing layer, so
every layer here is a `ByteStream`, and `TLSStream` runs TLS over any of them with
`ssl.MemoryBIO`. The same code serves the client and the fake Proxy.

Ordering rule every `write` keeps: all of its synchronous work, including the synchronous part
of the inner stream's `write`, happens before its first ``await``. Two tasks (one pumping each
direction, and a read that must answer a ping) can then write concurrently without reordering
bytes, and no lock is needed.

Exceptions are the foreign ones (OSError, ssl.SSLError) plus `TransportError`; the route module
translates them into `ConnectionProblem` in one place.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import ssl
from typing import Protocol

import wsproto
import wsproto.connection
import wsproto.events
import wsproto.utilities

from teleport_access import _pingconn

#: How much one `read` asks for by default.
READ_SIZE = 64 * 1024


class TransportError(Exception):
    """A peer broke a protocol rule (bad framing, a refused upgrade, an unexpected ALPN)."""


class ByteStream(Protocol):
    """A bidirectional byte stream. ``read`` returns ``b""`` at end of stream."""

    async def read(self, max_bytes: int = READ_SIZE) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    async def aclose(self) -> None: ...


class SocketStream:
    """A connected socket (TCP or Unix) through asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect_tcp(cls, host: str, port: int) -> SocketStream:
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Notice a peer that vanished without a FIN on long-idle tunnels.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return cls(reader, writer)

    @property
    def writer(self) -> asyncio.StreamWriter:
        return self._writer

    async def read(self, max_bytes: int = READ_SIZE) -> bytes:
        return await self._reader.read(max_bytes)

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await self._writer.wait_closed()


class PrefixedStream:
    """Replays bytes already read from *inner* (e.g. after a ClientHello peek or an HTTP head)."""

    def __init__(self, prefix: bytes, inner: ByteStream) -> None:
        self._prefix = prefix
        self._inner = inner

    async def read(self, max_bytes: int = READ_SIZE) -> bytes:
        if self._prefix:
            chunk, self._prefix = self._prefix[:max_bytes], self._prefix[max_bytes:]
            return chunk
        return await self._inner.read(max_bytes)

    async def write(self, data: bytes) -> None:
        await self._inner.write(data)

    async def aclose(self) -> None:
        await self._inner.aclose()


class TLSStream:
    """TLS over any `ByteStream`, driven through `ssl.MemoryBIO` (so it stacks on framings)."""

    def __init__(
        self,
        inner: ByteStream,
        sslobj: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
    ) -> None:
        self._inner = inner
        self._ssl = sslobj
        self._incoming = incoming
        self._outgoing = outgoing
        self._eof = False

    @classmethod
    async def client(
        cls, inner: ByteStream, context: ssl.SSLContext, server_hostname: str | None
    ) -> TLSStream:
        """Run the client handshake over *inner*; raises ssl.SSLError / OSError on failure."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        sslobj = context.wrap_bio(
            incoming, outgoing, server_side=False, server_hostname=server_hostname
        )
        stream = cls(inner, sslobj, incoming, outgoing)
        await stream._handshake()
        return stream

    @classmethod
    async def server(cls, inner: ByteStream, context: ssl.SSLContext) -> TLSStream:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        sslobj = context.wrap_bio(incoming, outgoing, server_side=True)
        stream = cls(inner, sslobj, incoming, outgoing)
        await stream._handshake()
        return stream

    @property
    def selected_alpn_protocol(self) -> str | None:
        return self._ssl.selected_alpn_protocol()

    def peer_certificate_der(self) -> bytes | None:
        return self._ssl.getpeercert(binary_form=True)

    @property
    def server_hostname(self) -> str | None:
        return self._ssl.server_hostname

    async def _handshake(self) -> None:
        while True:
            try:
                self._ssl.do_handshake()
            except ssl.SSLWantReadError:
                await self._flush()
                await self._receive()
            else:
                await self._flush()
                return

    async def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            await self._inner.write(data)

    async def _receive(self) -> None:
        chunk = await self._inner.read(READ_SIZE)
        if chunk:
            self._incoming.write(chunk)
        else:
            self._incoming.write_eof()

    async def read(self, max_bytes: int = READ_SIZE) -> bytes:
        while not self._eof:
            try:
                data = self._ssl.read(max_bytes)
            except ssl.SSLWantReadError:
                await self._flush()  # e.g. a KeyUpdate answer produced while reading
                await self._receive()
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                # A clean close_notify, or the peer closed the transport without one; HTTP/2
                # notices a truncated frame on its own, so both simply end the stream.
                self._eof = True
                break
            if self._outgoing.pending:
                await self._flush()
            return data
        return b""

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self._ssl.write(data)
        # Synchronously drain the BIO and hand it on before the first await (see module doc).
        await self._flush()

    async def aclose(self) -> None:
        with contextlib.suppress(ssl.SSLError, OSError):
            # Queue our close_notify; the peer's answer is not awaited (we are closing anyway).
            self._ssl.unwrap()
        with contextlib.suppress(ssl.SSLError, OSError, TransportError):
            await self._flush()
        await self._inner.aclose()


class PingFramedStream:
    """Teleport's Ping framing over *inner*: length-prefixed writes; pings dropped on read."""

    def __init__(self, inner: ByteStream) -> None:
        self._inner = inner
        self._decoder = _pingconn.PingFrameDecoder()

    @property
    def pings_received(self) -> int:
        return self._decoder.pings_received

    async def read(self, max_bytes: int = READ_SIZE) -> bytes:
        # The framing is not sized to max_bytes: a caller may get up to one inner read of payload.
        while True:
            chunk = await self._inner.read(max_bytes)
            if not chunk:
                if not self._decoder.at_frame_boundary:
                    raise TransportError("the tunnel ended in the middle of a Ping frame")
                return b""
            payload = self._decoder.feed(chunk)
            if payload:
                return payload

    async def write(self, data: bytes) -> None:
        await self._inner.write(_pingconn.encode_frame(data))

    async def send_ping(self) -> None:
        await self._inner.write(_pingconn.PING_FRAME)

    async def aclose(self) -> None:
        await self._inner.aclose()


class WebSocketStream:
    """A byte stream carried in WebSocket binary messages (``/webapi/connectionupgrade``).

    wsproto does the framing: masking, fragments, control frames, the close handshake. Pings
    are answered with pongs; a Close ends the stream and is answered; a framing error is a
    `TransportError` naming what wsproto found.
    """

    def __init__(self, inner: ByteStream, *, client_side: bool) -> None:
        self._inner = inner
        self._ws = wsproto.connection.Connection(
            wsproto.ConnectionType.CLIENT if client_side else wsproto.ConnectionType.SERVER
        )
        self._pending: collections.deque[bytes] = collections.deque()
        self._ended = False
        self.pings_received = 0

    async def read(self, max_bytes: int = READ_SIZE) -> bytes:
        while not self._pending:
            if self._ended:
                return b""
            chunk = await self._inner.read(max_bytes)
            self._ws.receive_data(chunk or None)  # None: the transport ended without a Close
            for event in self._ws.events():
                await self._handle(event)
        return self._pending.popleft()

    async def _handle(self, event: wsproto.events.Event) -> None:
        if isinstance(event, wsproto.events.BytesMessage):
            if event.data:
                self._pending.append(bytes(event.data))
        elif isinstance(event, wsproto.events.Ping):
            self.pings_received += 1
            await self._send(event.response())
        elif isinstance(event, wsproto.events.CloseConnection):
            self._ended = True
            state = self._ws.state
            if state is wsproto.connection.ConnectionState.OPEN:
                # wsproto reports a framing error as a close it wants us to send.
                with contextlib.suppress(OSError, ssl.SSLError, TransportError):
                    await self._send(event)
                raise TransportError(f"WebSocket tunnel: {event.reason or event.code}")
            if state is wsproto.connection.ConnectionState.REMOTE_CLOSING:
                with contextlib.suppress(OSError, ssl.SSLError, TransportError):
                    await self._send(event.response())
        elif isinstance(event, wsproto.events.TextMessage):
            raise TransportError("WebSocket tunnel: unexpected text frame")
        # Pong: the answer to a ping we sent; nothing to do.

    async def _send(self, event: wsproto.events.Event) -> None:
        try:
            data = self._ws.send(event)
        except wsproto.utilities.LocalProtocolError as exc:
            raise TransportError(f"WebSocket tunnel: {exc}") from exc
        await self._inner.write(data)

    async def write(self, data: bytes) -> None:
        if data:
            await self._send(wsproto.events.BytesMessage(data=data))

    async def send_ping(self, payload: bytes = b"teleport") -> None:
        await self._send(wsproto.events.Ping(payload=payload))

    async def aclose(self) -> None:
        if self._ws.state is wsproto.connection.ConnectionState.OPEN:
            with contextlib.suppress(OSError, ssl.SSLError, TransportError):
                await self._send(wsproto.events.CloseConnection(code=1000))
        await self._inner.aclose()


async def close_server(server: asyncio.Server | None, tasks: set[asyncio.Task[None]]) -> None:
    """Stop `server` listening, cancel the connection `tasks` it started and wait for them, then
    for the server to be closed (the tunnel and the fake Proxy stop the same way)."""
    if server is not None:
        server.close()
    for task in list(tasks):
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    if server is not None:
        with contextlib.suppress(Exception):
            await server.wait_closed()
