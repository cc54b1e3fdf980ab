"""The pure codecs of the Proxy routes: Ping framing, WebSocket framing, HTTP/1.1 heads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teleport_access import _http1, _pingconn, _websocket
from teleport_access._websocket import Frame, FrameDecoder, Opcode, WebSocketError

# --- Ping framing ---------------------------------------------------------------------------------


def test_ping_frame_is_a_four_byte_big_endian_length_then_the_payload() -> None:
    assert _pingconn.encode_frame(b"abc") == b"\x00\x00\x00\x03abc"


def test_an_empty_write_produces_no_frame_because_it_would_read_as_a_ping() -> None:
    assert _pingconn.encode_frame(b"") == b""


def test_the_ping_is_a_frame_of_length_zero() -> None:
    assert _pingconn.PING_FRAME == b"\x00\x00\x00\x00"


def test_decoder_discards_pings_and_counts_them() -> None:
    decoder = _pingconn.PingFrameDecoder()
    stream = _pingconn.PING_FRAME + _pingconn.encode_frame(b"hello") + _pingconn.PING_FRAME
    assert decoder.feed(stream) == b"hello"
    assert decoder.pings_received == 2
    assert decoder.at_frame_boundary


@given(
    st.lists(st.one_of(st.binary(min_size=1, max_size=40), st.just(b"")), max_size=12),
    st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=8),
)
def test_decoder_returns_the_payloads_whatever_the_read_boundaries(
    payloads: list[bytes], cuts: list[int]
) -> None:
    wire = b"".join(_pingconn.encode_frame(p) if p else _pingconn.PING_FRAME for p in payloads)
    decoder = _pingconn.PingFrameDecoder()
    out = bytearray()
    position, index = 0, 0
    while position < len(wire):
        step = cuts[index % len(cuts)]
        out += decoder.feed(wire[position : position + step])
        position += step
        index += 1
    assert bytes(out) == b"".join(payloads)
    assert decoder.pings_received == payloads.count(b"")
    assert decoder.at_frame_boundary


def test_decoder_knows_when_a_frame_is_cut_short() -> None:
    decoder = _pingconn.PingFrameDecoder()
    assert decoder.feed(b"\x00\x00\x00\x05ab") == b"ab"
    assert not decoder.at_frame_boundary


# --- WebSocket framing ----------------------------------------------------------------------------


def test_accept_key_matches_the_rfc_6455_example() -> None:
    assert _websocket.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_a_new_key_is_sixteen_random_bytes_in_base64() -> None:
    key = _websocket.new_key()
    assert len(key) == 24
    assert key.endswith("==")
    assert key != _websocket.new_key()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_masked_client_frames_round_trip_through_a_server_decoder(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    wire = _websocket.encode_frame(Opcode.BINARY, payload, masked=True)
    assert payload[:8] not in wire[14:] or size < 8  # masked on the wire
    assert FrameDecoder(expect_masked=True).feed(wire) == [Frame(Opcode.BINARY, payload)]


def test_server_frames_are_not_masked() -> None:
    wire = _websocket.encode_frame(Opcode.BINARY, b"data", masked=False)
    assert wire == b"\x82\x04data"
    assert FrameDecoder(expect_masked=False).feed(wire) == [Frame(Opcode.BINARY, b"data")]


def test_decoder_waits_for_the_whole_frame() -> None:
    wire = _websocket.encode_frame(Opcode.PING, b"teleport", masked=True)
    decoder = FrameDecoder(expect_masked=True)
    for byte in wire[:-1]:
        assert decoder.feed(bytes([byte])) == []
    assert decoder.feed(wire[-1:]) == [Frame(Opcode.PING, b"teleport")]


def test_an_unmasked_client_frame_is_a_protocol_error() -> None:
    wire = _websocket.encode_frame(Opcode.BINARY, b"x", masked=False)
    with pytest.raises(WebSocketError, match="masking"):
        FrameDecoder(expect_masked=True).feed(wire)


def test_reserved_bits_are_a_protocol_error() -> None:
    with pytest.raises(WebSocketError, match="reserved"):
        FrameDecoder(expect_masked=False).feed(b"\xc2\x01x")


def test_an_oversized_control_frame_is_a_protocol_error() -> None:
    with pytest.raises(WebSocketError, match="control frame"):
        FrameDecoder(expect_masked=False).feed(b"\x89\x7e\x00\x80" + bytes(128))


def test_an_unknown_opcode_is_a_protocol_error() -> None:
    with pytest.raises(WebSocketError, match="opcode"):
        FrameDecoder(expect_masked=False).feed(b"\x83\x00")


def test_a_frame_above_the_size_limit_is_refused_before_it_arrives() -> None:
    head = b"\x82\x7f" + (_websocket.MAX_FRAME_PAYLOAD + 1).to_bytes(8, "big")
    with pytest.raises(WebSocketError, match="limit"):
        FrameDecoder(expect_masked=False).feed(head)


def test_a_close_payload_carries_the_status_code() -> None:
    assert _websocket.close_payload(1000, "bye") == b"\x03\xe8bye"


# --- HTTP/1.1 -------------------------------------------------------------------------------------


def test_head_length_is_none_until_the_blank_line_arrives() -> None:
    assert _http1.head_length(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: alpn\r\n") is None
    assert _http1.head_length(b"HTTP/1.1 200 OK\r\n\r\nbody") == 19


def test_an_endless_head_is_refused() -> None:
    with pytest.raises(_http1.HTTPFormatError, match="longer"):
        _http1.head_length(b"X" * (_http1.MAX_HEAD_BYTES + 1))


def test_response_head_keeps_repeated_headers_in_order() -> None:
    head = _http1.parse_response_head(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"connection: keep-alive, Upgrade\r\nUpgrade: alpn\r\n\r\n"
    )
    assert head.status == 101
    assert head.reason == "Switching Protocols"
    assert head.values("upgrade") == ["websocket", "alpn"]
    assert head.get("UPGRADE") == "websocket"
    assert head.tokens("Connection") == ["keep-alive", "upgrade"]


def test_request_head_splits_method_target_and_path() -> None:
    request = _http1.parse_request_head(
        b"GET /webapi/find?group=x HTTP/1.1\r\nHost: proxy:443\r\n\r\n"
    )
    assert request.method == "GET"
    assert request.path == "/webapi/find"
    assert request.get("host") == "proxy:443"


@pytest.mark.parametrize(
    "raw",
    [b"NOT HTTP\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"],
)
def test_malformed_response_heads_are_refused(raw: bytes) -> None:
    with pytest.raises(_http1.HTTPFormatError):
        _http1.parse_response_head(raw)


def test_a_request_encodes_repeated_headers_on_separate_lines() -> None:
    raw = _http1.encode_request("GET", "/x", (("Upgrade", "websocket"), ("Upgrade", "alpn")))
    assert raw == b"GET /x HTTP/1.1\r\nUpgrade: websocket\r\nUpgrade: alpn\r\n\r\n"


def test_header_values_with_line_breaks_are_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        _http1.encode_request("GET", "/", (("X", "a\r\nInjected: 1"),))


@given(st.binary(max_size=200), st.lists(st.integers(min_value=1, max_value=9), min_size=1))
def test_chunked_bodies_decode_whatever_the_read_boundaries(body: bytes, cuts: list[int]) -> None:
    wire = bytearray()
    for start in range(0, len(body), 7):
        piece = body[start : start + 7]
        wire += f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n"
    wire += b"0\r\nTrailer: x\r\n\r\n"
    decoder = _http1.ChunkedDecoder()
    out, position, index = bytearray(), 0, 0
    while position < len(wire):
        out += decoder.feed(bytes(wire[position : position + cuts[index % len(cuts)]]))
        position += cuts[index % len(cuts)]
        index += 1
    assert bytes(out) == body
    assert decoder.done


def test_a_malformed_chunk_size_is_refused() -> None:
    with pytest.raises(_http1.HTTPFormatError, match="chunk size"):
        _http1.ChunkedDecoder().feed(b"zz\r\n")
