"""The web API client: ``/webapi/find`` and the ``/webapi/connectionupgrade`` handshake."""

from __future__ import annotations

import base64
import json

import h11
import pytest
import wsproto
import wsproto.connection
from wsproto.events import BytesMessage, Ping, Pong
from wsproto.utilities import generate_accept_token

from teleport_access import _pingconn, _webapi
from teleport_access._streams import PingFramedStream, TransportError, WebSocketStream


class ScriptedStream:
    """A ByteStream that returns prepared chunks and records what is written to it."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = list(chunks)
        self.written = bytearray()
        self.closed = False

    async def read(self, max_bytes: int = 65536) -> bytes:
        return self._chunks.pop(0) if self._chunks else b""

    async def write(self, data: bytes) -> None:
        self.written += data

    async def aclose(self) -> None:
        self.closed = True

    def request(self) -> h11.Request:
        """The request written so far, as a server reads it."""
        server = h11.Connection(h11.SERVER)
        server.receive_data(bytes(self.written))
        event = server.next_event()
        assert isinstance(event, h11.Request)
        return event


def values(request: h11.Request, name: str) -> list[str]:
    """Every value of header *name*, in order."""
    return [v.decode() for k, v in request.headers if k == name.lower().encode()]


def server_frames(*events: Ping | BytesMessage) -> bytes:
    """What a WebSocket server (wsproto) writes for *events*."""
    server = wsproto.connection.Connection(wsproto.ConnectionType.SERVER)
    return b"".join(server.send(event) for event in events)


FIND_BODY = json.dumps(
    {
        "proxy": {"tls_routing_enabled": True, "ssh": {"public_addr": "proxy:443"}},
        "server_version": "17.4.2",
        "min_client_version": "16.0.0",
        "cluster_name": "example.com",
        "auth": {"signature_algorithm_suite": 1},
    }
).encode()


def response(status: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode() + body


async def test_find_reads_cluster_name_and_tls_routing_flag() -> None:
    stream = ScriptedStream(
        response("200 OK", [("Content-Length", str(len(FIND_BODY)))], FIND_BODY)
    )
    info = await _webapi.find(stream, "proxy.example.com")
    assert info == _webapi.ProxyInfo(
        cluster_name="example.com",
        tls_routing_enabled=True,
        server_version="17.4.2",
        min_client_version="16.0.0",
    )
    request = stream.request()
    assert (request.method, request.target) == (b"GET", b"/webapi/find")
    assert values(request, "Host") == ["proxy.example.com"]


async def test_find_reads_a_chunked_body_split_across_reads() -> None:
    wire = response("200 OK", [("Transfer-Encoding", "chunked")])
    wire += f"{len(FIND_BODY):x}\r\n".encode() + FIND_BODY + b"\r\n0\r\n\r\n"
    stream = ScriptedStream(*(wire[i : i + 13] for i in range(0, len(wire), 13)))
    assert (await _webapi.find(stream, "p")).cluster_name == "example.com"


async def test_find_reads_a_body_that_runs_to_the_end_of_the_connection() -> None:
    stream = ScriptedStream(response("200 OK", [], FIND_BODY[:10]), FIND_BODY[10:])
    assert (await _webapi.find(stream, "p")).tls_routing_enabled


async def test_find_reports_a_non_200_status() -> None:
    stream = ScriptedStream(response("404 Not Found", [("Content-Length", "0")]))
    with pytest.raises(TransportError, match="HTTP 404 Not Found"):
        await _webapi.find(stream, "p")


async def test_find_reports_a_body_that_is_not_json() -> None:
    stream = ScriptedStream(response("200 OK", [("Content-Length", "5")], b"<html"))
    with pytest.raises(TransportError, match="did not answer JSON"):
        await _webapi.find(stream, "p")


async def test_find_reports_a_connection_closed_before_the_answer() -> None:
    with pytest.raises(TransportError, match="the Proxy closed the connection"):
        await _webapi.find(ScriptedStream(b"HTTP/1.1 200"), "p")


async def test_find_reports_a_body_cut_short_by_the_connection() -> None:
    stream = ScriptedStream(response("200 OK", [("Content-Length", "500")], FIND_BODY[:10]))
    with pytest.raises(TransportError, match="closed the connection before a complete response"):
        await _webapi.find(stream, "p")


async def test_find_refuses_a_body_above_its_limit() -> None:
    huge = str(2 * 1024 * 1024)
    stream = ScriptedStream(
        response("200 OK", [("Content-Length", huge)]), b"x" * 1024 * 1024, b"x"
    )
    with pytest.raises(TransportError, match="too large"):
        await _webapi.find(stream, "p")


def test_missing_fields_of_find_read_as_empty_and_disabled() -> None:
    info = _webapi.parse_find_response(b'{"proxy": null}')
    assert info.cluster_name == ""
    assert not info.tls_routing_enabled


async def test_upgrade_request_asks_for_websocket_and_the_legacy_types_like_teleport() -> None:
    stream = ScriptedStream(response("404 Not Found", [("Content-Length", "0")]))
    with pytest.raises(TransportError):
        await _webapi.upgrade(stream, "proxy.example.com", ping=True)
    request = stream.request()
    assert (request.method, request.target) == (b"GET", b"/webapi/connectionupgrade")
    assert values(request, "Upgrade") == ["websocket", "alpn-ping"]
    assert values(request, "X-Teleport-Upgrade") == ["alpn-ping"]
    assert values(request, "Connection") == ["Upgrade"]
    assert values(request, "Sec-WebSocket-Protocol") == ["alpn-ping"]
    assert values(request, "Sec-WebSocket-Version") == ["13"]
    [key] = values(request, "Sec-WebSocket-Key")
    assert len(base64.b64decode(key, validate=True)) == 16


async def test_upgrade_without_ping_asks_for_plain_alpn() -> None:
    stream = ScriptedStream(response("404 Not Found", []))
    with pytest.raises(TransportError):
        await _webapi.upgrade(stream, "p", ping=False)
    assert values(stream.request(), "X-Teleport-Upgrade") == ["alpn"]


class WebSocketServerScript(ScriptedStream):
    """Answers the upgrade request with a correct WebSocket 101, then the given frames."""

    def __init__(self, *after: bytes, accept: str | None = None, protocol: str = "alpn-ping"):
        super().__init__()
        self._after = b"".join(after)
        self._accept = accept
        self._protocol = protocol
        self._answered = False

    async def read(self, max_bytes: int = 65536) -> bytes:
        if not self._answered and self.written:
            self._answered = True
            [key] = values(self.request(), "Sec-WebSocket-Key")
            accept = generate_accept_token(key.encode()).decode()
            head = response(
                "101 Switching Protocols",
                [
                    ("Upgrade", "websocket"),
                    ("Connection", "Upgrade"),
                    ("Sec-WebSocket-Accept", self._accept or accept),
                    ("Sec-WebSocket-Protocol", self._protocol),
                ],
            )
            self._chunks.append(head + self._after)
        return await super().read(max_bytes)


async def test_a_websocket_upgrade_yields_a_stream_of_binary_frame_payloads() -> None:
    stream = WebSocketServerScript(server_frames(Ping(b"teleport"), BytesMessage(b"tls bytes")))
    tunnel, framing = await _webapi.upgrade(stream, "p")
    assert framing == "websocket"
    assert isinstance(tunnel, WebSocketStream)
    written_before = len(stream.written)
    assert await tunnel.read() == b"tls bytes"
    # The ping was answered with a pong carrying the same payload, framed as a client must.
    server = wsproto.connection.Connection(wsproto.ConnectionType.SERVER)
    server.receive_data(bytes(stream.written[written_before:]))
    assert list(server.events()) == [Pong(payload=b"teleport")]
    assert tunnel.pings_received == 1


async def test_a_websocket_upgrade_with_a_wrong_accept_key_is_refused() -> None:
    with pytest.raises(TransportError, match="Sec-WebSocket-Accept"):
        await _webapi.upgrade(WebSocketServerScript(accept="forged"), "p")


async def test_a_websocket_upgrade_to_another_sub_protocol_is_refused() -> None:
    with pytest.raises(TransportError, match="sub-protocol"):
        await _webapi.upgrade(WebSocketServerScript(protocol="alpn"), "p", ping=True)


async def test_a_legacy_alpn_ping_upgrade_unframes_and_drops_pings() -> None:
    head = response(
        "101 Switching Protocols",
        [("Upgrade", "alpn-ping"), ("X-Teleport-Upgrade", "alpn-ping"), ("Connection", "Upgrade")],
    )
    wire = head + _pingconn.PING_FRAME + _pingconn.encode_frame(b"server hello")
    stream = ScriptedStream(wire)
    tunnel, framing = await _webapi.upgrade(stream, "p")
    assert framing == "alpn-ping"
    assert isinstance(tunnel, PingFramedStream)
    assert await tunnel.read() == b"server hello"
    assert tunnel.pings_received == 1
    mark = len(stream.written)
    await tunnel.write(b"client hello")
    assert bytes(stream.written[mark:]) == _pingconn.encode_frame(b"client hello")


async def test_a_legacy_alpn_upgrade_is_a_raw_tunnel_that_keeps_early_bytes() -> None:
    head = response("101 Switching Protocols", [("Upgrade", "alpn"), ("Connection", "Upgrade")])
    stream = ScriptedStream(head + b"early", b"late")
    tunnel, framing = await _webapi.upgrade(stream, "p", ping=False)
    assert framing == "alpn"
    assert await tunnel.read() == b"early"
    assert await tunnel.read() == b"late"


async def test_a_balancer_that_drops_upgrade_still_upgrades_by_the_teleport_header() -> None:
    head = response("101 Switching Protocols", [("X-Teleport-Upgrade", "alpn")])
    _tunnel, framing = await _webapi.upgrade(ScriptedStream(head), "p", ping=False)
    assert framing == "alpn"


async def test_an_old_proxy_without_the_upgrade_endpoint_is_named_as_too_old() -> None:
    with pytest.raises(TransportError, match="too old"):
        await _webapi.upgrade(ScriptedStream(response("404 Not Found", [])), "p")


async def test_an_upgrade_refused_with_another_status_names_it() -> None:
    with pytest.raises(TransportError, match="HTTP 502 Bad Gateway"):
        await _webapi.upgrade(ScriptedStream(response("502 Bad Gateway", [])), "p")


async def test_a_response_head_split_across_reads_is_read_whole() -> None:
    head = response("101 Switching Protocols", [("Upgrade", "alpn"), ("Connection", "Upgrade")])
    stream = ScriptedStream(*(head[i : i + 1] for i in range(len(head))), b"tunnel")
    tunnel, framing = await _webapi.upgrade(stream, "p", ping=False)
    assert framing == "alpn"
    assert await tunnel.read() == b"tunnel"


async def test_an_interim_response_before_the_answer_is_skipped() -> None:
    head = response("100 Continue", []) + response("101 Switching Protocols", [("Upgrade", "alpn")])
    _tunnel, framing = await _webapi.upgrade(ScriptedStream(head), "p", ping=False)
    assert framing == "alpn"


async def test_a_malformed_status_line_is_named_in_the_error() -> None:
    with pytest.raises(TransportError, match="the Proxy sent a malformed HTTP response"):
        await _webapi.upgrade(ScriptedStream(b"HTTP/1.1 abc OK\r\n\r\n"), "p")


async def test_an_endless_response_head_is_refused() -> None:
    stream = ScriptedStream(b"HTTP/1.1 200 OK\r\n", *[b"X-Filler: " + b"x" * 1000 + b"\r\n"] * 70)
    with pytest.raises(TransportError, match="malformed HTTP response"):
        await _webapi.find(stream, "p")
