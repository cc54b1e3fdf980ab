"""The layered byte streams: TLS over any stream, Ping framing, WebSocket framing."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from wsproto.connection import CLIENT, SERVER, Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, TextMessage
from wsproto.frame_protocol import CloseReason

from teleport_access import _pingconn
from teleport_access._streams import (
    ByteStream,
    PingFramedStream,
    PrefixedStream,
    SocketStream,
    TLSStream,
    TransportError,
    WebSocketStream,
)
from teleport_access.testing._pki import TestCertificateAuthority


async def stream_pair() -> tuple[SocketStream, SocketStream]:
    left, right = socket.socketpair()
    a = SocketStream(*await asyncio.open_connection(sock=left))
    b = SocketStream(*await asyncio.open_connection(sock=right))
    return a, b


def tls_contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = TestCertificateAuthority("streams.example.com")
    key_pem, cert_pem = ca.issue_server_credentials()
    (tmp_path / "server.pem").write_bytes(cert_pem + key_pem)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "server.pem")
    server.set_alpn_protocols(["h2"])
    client = ssl.create_default_context(cadata=ca.host_ca_pem.decode())
    client.set_alpn_protocols(["teleport-auth@00.teleport.cluster.local", "h2"])
    return client, server


async def read_exactly(stream: ByteStream, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = await stream.read()
        assert chunk, f"stream ended after {len(data)} of {size} bytes"
        data += chunk
    return bytes(data)


Wrap = Callable[[ByteStream, bool], ByteStream]
WRAPS: dict[str, Wrap] = {
    "raw": lambda stream, _client: stream,
    "ping": lambda stream, _client: PingFramedStream(stream),
    "websocket": lambda stream, client: WebSocketStream(stream, client_side=client),
}


@pytest.mark.parametrize("framing", list(WRAPS))
async def test_tls_runs_over_each_framing_with_both_directions_at_once(
    tmp_path: Path, framing: str
) -> None:
    client_context, server_context = tls_contexts(tmp_path)
    a, b = await stream_pair()
    wrap = WRAPS[framing]
    client_task = asyncio.create_task(
        TLSStream.client(wrap(a, True), client_context, "teleport.cluster.local")
    )
    server = await TLSStream.server(wrap(b, False), server_context)
    client = await client_task
    assert client.selected_alpn_protocol == "h2"
    up, down = os.urandom(1_500_000), os.urandom(1_200_000)
    results = await asyncio.gather(
        client.write(up),
        server.write(down),
        read_exactly(server, len(up)),
        read_exactly(client, len(down)),
    )
    assert results[2] == up
    assert results[3] == down
    await client.aclose()
    assert await server.read() == b""  # the close_notify ends the peer's stream cleanly
    await server.aclose()


async def test_tls_handshake_with_an_untrusted_server_fails(tmp_path: Path) -> None:
    _client_context, server_context = tls_contexts(tmp_path)
    stranger = ssl.create_default_context(
        cadata=TestCertificateAuthority("other").host_ca_pem.decode()
    )
    a, b = await stream_pair()
    server_task = asyncio.create_task(TLSStream.server(b, server_context))
    with pytest.raises(ssl.SSLCertVerificationError):
        await TLSStream.client(a, stranger, "teleport.cluster.local")
    await a.aclose()
    with pytest.raises((ssl.SSLError, OSError)):
        await server_task
    await b.aclose()


async def test_a_tls_peer_that_vanishes_without_close_notify_reads_as_the_end(
    tmp_path: Path,
) -> None:
    client_context, server_context = tls_contexts(tmp_path)
    a, b = await stream_pair()
    client_task = asyncio.create_task(TLSStream.client(a, client_context, "teleport.cluster.local"))
    server = await TLSStream.server(b, server_context)
    client = await client_task
    await b.aclose()  # the transport, not TLS
    assert await client.read() == b""
    del server
    await client.aclose()


async def test_a_ping_framed_stream_cut_inside_a_frame_is_an_error() -> None:
    a, b = await stream_pair()
    await a.write(b"\x00\x00\x00\x10only-part")
    await a.aclose()
    framed = PingFramedStream(b)
    assert await framed.read() == b"only-part"
    with pytest.raises(TransportError, match="middle of a Ping frame"):
        await framed.read()
    await b.aclose()


async def test_a_ping_framed_stream_sends_pings_that_the_peer_drops() -> None:
    a, b = await stream_pair()
    sender, receiver = PingFramedStream(a), PingFramedStream(b)
    await sender.send_ping()
    await sender.write(b"data")
    assert await receiver.read() == b"data"
    assert receiver.pings_received == 1
    await a.aclose()
    await b.aclose()


async def test_a_websocket_close_frame_ends_the_stream_and_is_answered() -> None:
    a, b = await stream_pair()
    server = Connection(SERVER)
    await a.write(server.send(CloseConnection(code=1000)))
    client = WebSocketStream(b, client_side=True)
    assert await client.read() == b""
    server.receive_data(await a.read())
    assert [type(event) for event in server.events()] == [CloseConnection]
    assert server.state is ConnectionState.CLOSED
    await a.aclose()
    await b.aclose()


async def test_a_websocket_stream_closed_locally_says_so_to_its_peer() -> None:
    a, b = await stream_pair()
    client = WebSocketStream(b, client_side=True)
    await client.aclose()
    server = Connection(SERVER)
    server.receive_data(await a.read())
    assert list(server.events()) == [CloseConnection(code=1000, reason="")]
    await a.aclose()


async def test_a_websocket_transport_that_ends_without_a_close_frame_ends_the_stream() -> None:
    a, b = await stream_pair()
    await a.aclose()
    client = WebSocketStream(b, client_side=True)
    assert await client.read() == b""
    assert await client.read() == b""
    await b.aclose()


async def test_writing_to_a_websocket_the_peer_closed_is_a_transport_error() -> None:
    a, b = await stream_pair()
    await a.write(Connection(SERVER).send(CloseConnection(code=1000)))
    client = WebSocketStream(b, client_side=True)
    assert await client.read() == b""
    with pytest.raises(TransportError, match="WebSocket tunnel"):
        await client.write(b"late")
    await a.aclose()
    await b.aclose()


async def test_a_websocket_text_frame_is_a_protocol_error() -> None:
    a, b = await stream_pair()
    await a.write(Connection(SERVER).send(TextMessage(data="hi")))
    with pytest.raises(TransportError, match="text frame"):
        await WebSocketStream(b, client_side=True).read()
    await a.aclose()
    await b.aclose()


async def test_a_websocket_framing_error_names_it_and_fails_the_connection() -> None:
    a, b = await stream_pair()
    # A client's (masked) frame sent to a client breaks RFC 6455's masking rule.
    await a.write(Connection(CLIENT).send(BytesMessage(data=b"hi")))
    with pytest.raises(TransportError, match=r"WebSocket tunnel: .*masked"):
        await WebSocketStream(b, client_side=True).read()
    server = Connection(SERVER)
    server.receive_data(await a.read())
    [close] = server.events()
    assert isinstance(close, CloseConnection)
    assert close.code == CloseReason.PROTOCOL_ERROR
    await a.aclose()
    await b.aclose()


async def test_a_prefixed_stream_replays_its_prefix_in_pieces_then_reads_on() -> None:
    a, b = await stream_pair()
    await a.write(b"after")
    stream = PrefixedStream(b"0123456789", b)
    assert await stream.read(4) == b"0123"
    assert await stream.read(100) == b"456789"
    assert await stream.read() == b"after"
    await a.aclose()
    await stream.aclose()


def test_ping_frames_of_a_stream_are_the_documented_encoding() -> None:
    assert _pingconn.encode_frame(b"\x16\x03\x01") == b"\x00\x00\x00\x03\x16\x03\x01"
