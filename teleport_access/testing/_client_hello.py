"""A TLS ClientHello reader for the fake Proxy: SNI and ALPN list, without terminating TLS. Pure.

The real Proxy peeks at each connection's ClientHello to route it (docs/connecting.md); the fake
does the same with this reader. The standard library's ssl module offers no way to read a
ClientHello without answering it, and no production code needs one, so it lives here.
"""

from __future__ import annotations

import attrs

# A ClientHello larger than this is refused rather than buffered (real ones are a few KiB).
MAX_CLIENT_HELLO_BYTES = 64 * 1024

_TLS_HANDSHAKE_RECORD = 0x16
_HANDSHAKE_CLIENT_HELLO = 0x01
_EXT_SERVER_NAME = 0x0000
_EXT_ALPN = 0x0010
_SNI_HOST_NAME = 0x00
# Record headers (5 bytes each) of a hello split over many records, on top of its own size.
_RECORD_OVERHEAD_ALLOWANCE = 1024


@attrs.frozen(kw_only=True)
class ClientHello:
    """What a TLS ClientHello says about where the client wants to go."""

    server_name: str | None
    alpn_protocols: tuple[str, ...]
    #: How many bytes of the stream the ClientHello took (all of its TLS records).
    length: int


class ClientHelloError(ValueError):
    """The bytes are not a well-formed TLS ClientHello."""


class _Reader:
    """Bounds-checked big-endian reads over one buffer; every overrun is a ClientHelloError."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, count: int) -> bytes:
        if count > self.remaining:
            raise ClientHelloError(f"truncated {self._what}")
        chunk = self._data[self._pos : self._pos + count]
        self._pos += count
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def vector(self, length_size: int) -> _Reader:
        """A reader over the next length-prefixed vector (the prefix is *length_size* bytes)."""
        return _Reader(self.take(self.uint(length_size)), self._what)


def parse_client_hello(data: bytes) -> ClientHello | None:
    """Parse the ClientHello at the start of a TLS stream; None while more bytes are needed.

    Handles a ClientHello split over several handshake records. Raises ClientHelloError when
    the stream does not start with a ClientHello or it is malformed or oversized.
    """
    handshake = bytearray()
    pos = 0
    while True:
        if len(data) - pos < 5:
            _check_size(pos)
            return None
        if data[pos] != _TLS_HANDSHAKE_RECORD:
            raise ClientHelloError("the stream does not start with a TLS handshake record")
        if data[pos + 1] != 0x03:
            raise ClientHelloError("unsupported TLS record version")
        record_length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        if record_length == 0:
            raise ClientHelloError("empty TLS handshake record")
        if len(data) - pos - 5 < record_length:
            _check_size(pos + 5 + record_length)
            return None
        handshake += data[pos + 5 : pos + 5 + record_length]
        pos += 5 + record_length
        if len(handshake) >= 4:
            if handshake[0] != _HANDSHAKE_CLIENT_HELLO:
                raise ClientHelloError("the first handshake message is not a ClientHello")
            body_length = int.from_bytes(handshake[1:4], "big")
            if body_length + 4 > MAX_CLIENT_HELLO_BYTES:
                raise ClientHelloError("ClientHello is too large")
            if len(handshake) >= 4 + body_length:
                server_name, alpn = _parse_client_hello_body(bytes(handshake[4 : 4 + body_length]))
                return ClientHello(server_name=server_name, alpn_protocols=alpn, length=pos)


def _check_size(wanted: int) -> None:
    """Refuse to wait for more bytes when the caller would have to buffer an oversized hello."""
    if wanted > MAX_CLIENT_HELLO_BYTES + _RECORD_OVERHEAD_ALLOWANCE:
        raise ClientHelloError("ClientHello is too large")


def _parse_client_hello_body(body: bytes) -> tuple[str | None, tuple[str, ...]]:
    reader = _Reader(body, "ClientHello")
    reader.take(2 + 32)  # legacy_version, random
    reader.vector(1)  # legacy_session_id
    reader.vector(2)  # cipher_suites
    reader.vector(1)  # legacy_compression_methods
    if reader.remaining == 0:
        return None, ()  # a hello without extensions (SSL 3.0 style)
    extensions = reader.vector(2)
    server_name: str | None = None
    alpn: tuple[str, ...] = ()
    while extensions.remaining:
        ext_type = extensions.uint(2)
        ext = extensions.vector(2)
        if ext_type == _EXT_SERVER_NAME:
            server_name = _parse_server_name(ext)
        elif ext_type == _EXT_ALPN:
            alpn = _parse_alpn(ext)
    return server_name, alpn


def _parse_server_name(ext: _Reader) -> str | None:
    names = ext.vector(2)
    while names.remaining:
        name_type = names.uint(1)
        name = names.take(names.uint(2))
        if name_type == _SNI_HOST_NAME:
            try:
                return name.decode("ascii")
            except UnicodeDecodeError as exc:
                raise ClientHelloError("the server name is not ASCII") from exc
    return None


def _parse_alpn(ext: _Reader) -> tuple[str, ...]:
    protocols = ext.vector(2)
    found: list[str] = []
    while protocols.remaining:
        raw = protocols.take(protocols.uint(1))
        if not raw:
            raise ClientHelloError("empty ALPN protocol name")
        found.append(raw.decode("ascii", errors="replace"))
    return tuple(found)
