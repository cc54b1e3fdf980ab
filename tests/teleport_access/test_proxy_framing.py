"""Teleport's Ping framing of ``alpn-ping`` tunnels (WebSocket and HTTP framing are wsproto's and
h11's; their use is tested through `_webapi`, `_http1` and the streams)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from teleport_access import _pingconn


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
