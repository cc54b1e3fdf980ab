"""The fake Proxy's ClientHello reader, against real ClientHellos from Python's ssl."""

from __future__ import annotations

import contextlib
import ssl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teleport_access._alpn import auth_alpn_protocols
from teleport_access.testing._client_hello import (
    MAX_CLIENT_HELLO_BYTES,
    ClientHelloError,
    parse_client_hello,
)


def real_client_hello(server_name: str | None, alpn: list[str]) -> bytes:
    """The first flight of a real OpenSSL client, as Python's ssl produces it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    sslobj = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        sslobj.do_handshake()
    return outgoing.read()


def split_into_records(hello: bytes, fragment: int) -> bytes:
    """Re-frame one handshake record as several records of at most *fragment* bytes."""
    assert hello[0] == 0x16
    body = hello[5:]
    out = bytearray()
    for start in range(0, len(body), fragment):
        piece = body[start : start + fragment]
        out += bytes([0x16, 0x03, 0x01]) + len(piece).to_bytes(2, "big") + piece
    return bytes(out)


def test_reader_finds_sni_and_alpn_list_of_a_real_client_hello() -> None:
    alpn = list(auth_alpn_protocols("example.com"))
    hello_bytes = real_client_hello("teleport.cluster.local", alpn)
    hello = parse_client_hello(hello_bytes)
    assert hello is not None
    assert hello.server_name == "teleport.cluster.local"
    assert hello.alpn_protocols == tuple(alpn)
    assert hello.length == len(hello_bytes)


def test_reader_reports_no_sni_and_no_alpn_when_the_client_sent_none() -> None:
    hello = parse_client_hello(real_client_hello(None, []))
    assert hello is not None
    assert hello.server_name is None
    assert hello.alpn_protocols == ()


def test_reader_asks_for_more_bytes_at_every_cut_of_a_client_hello() -> None:
    hello_bytes = real_client_hello("teleport.cluster.local", ["h2"])
    for cut in range(len(hello_bytes)):
        assert parse_client_hello(hello_bytes[:cut]) is None


def test_reader_ignores_bytes_after_the_client_hello() -> None:
    hello_bytes = real_client_hello("teleport.cluster.local", ["h2"])
    hello = parse_client_hello(hello_bytes + b"\x17\x03\x03trailing")
    assert hello is not None
    assert hello.length == len(hello_bytes)


def test_reader_joins_a_client_hello_split_over_several_records() -> None:
    hello_bytes = real_client_hello("teleport.cluster.local", ["teleport-auth@00.x", "h2"])
    split = split_into_records(hello_bytes, 50)
    hello = parse_client_hello(split)
    assert hello is not None
    assert hello.alpn_protocols == ("teleport-auth@00.x", "h2")
    assert hello.length == len(split)
    assert parse_client_hello(split[:-1]) is None


def test_a_stream_that_does_not_start_with_a_handshake_is_refused() -> None:
    with pytest.raises(ClientHelloError, match="handshake record"):
        parse_client_hello(b"GET / HTTP/1.1\r\n\r\n")


def test_a_handshake_that_is_not_a_client_hello_is_refused() -> None:
    record = bytes([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00])
    with pytest.raises(ClientHelloError, match="not a ClientHello"):
        parse_client_hello(record)


def test_an_oversized_client_hello_is_refused_before_it_is_buffered() -> None:
    size = MAX_CLIENT_HELLO_BYTES + 1
    record = bytes([0x16, 0x03, 0x01, 0x00, 0x04, 0x01]) + size.to_bytes(3, "big")
    with pytest.raises(ClientHelloError, match="too large"):
        parse_client_hello(record)


def test_a_truncated_extensions_block_is_refused() -> None:
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += b"\x00\x30"  # claims 48 bytes of extensions, carries none
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    record = b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake
    with pytest.raises(ClientHelloError, match="truncated"):
        parse_client_hello(record)


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_reader(data: bytes) -> None:
    with contextlib.suppress(ClientHelloError):
        parse_client_hello(data)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-@./", min_size=1, max_size=60),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["teleport.cluster.local", "proxy.example.com", None]),
)
def test_reader_returns_exactly_the_alpn_list_and_sni_the_client_sent(
    alpn: list[str], server_name: str | None
) -> None:
    hello = parse_client_hello(real_client_hello(server_name, alpn))
    assert hello is not None
    assert hello.alpn_protocols == tuple(alpn)
    assert hello.server_name == server_name
