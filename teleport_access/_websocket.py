"""The WebSocket framing (RFC 6455) that carries an upgraded Teleport connection. Pure.

Newer Teleport clients upgrade ``/webapi/connectionupgrade`` to a WebSocket whose sub-protocol is
``alpn`` or ``alpn-ping``: the tunnelled bytes travel in binary frames (masked from the client, as
RFC 6455 requires), and for ``alpn-ping`` the Proxy sends WebSocket pings that the client answers
with pongs. Only what that tunnel needs is here: no extensions, no text messages.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import os

import attrs

# RFC 6455 section 1.3: the fixed GUID mixed into Sec-WebSocket-Accept.
_ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_CONTROL_PAYLOAD = 125
#: Frames larger than this are refused (the tunnel writes at most a few hundred KiB at once).
MAX_FRAME_PAYLOAD = 16 * 1024 * 1024


class Opcode(enum.IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


@attrs.frozen
class Frame:
    opcode: Opcode
    payload: bytes
    fin: bool = True


class WebSocketError(ValueError):
    """The peer broke the WebSocket framing rules."""


def new_key() -> str:
    """A fresh Sec-WebSocket-Key: 16 random bytes, base64."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer to *key*."""
    digest = hashlib.sha1((key + _ACCEPT_GUID).encode("ascii"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def _apply_mask(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    size = len(payload)
    keystream = (mask * (size // 4 + 1))[:size]
    # One big-integer XOR is much faster in CPython than a per-byte loop.
    return (int.from_bytes(payload, "little") ^ int.from_bytes(keystream, "little")).to_bytes(
        size, "little"
    )


def encode_frame(opcode: Opcode, payload: bytes, *, masked: bool) -> bytes:
    """One final frame. Clients must send *masked* frames; servers must not."""
    if opcode >= Opcode.CLOSE and len(payload) > _MAX_CONTROL_PAYLOAD:
        raise ValueError("a control frame carries at most 125 bytes")
    size = len(payload)
    head = bytearray([0x80 | opcode])
    mask_bit = 0x80 if masked else 0
    if size < 126:
        head.append(mask_bit | size)
    elif size < 1 << 16:
        head.append(mask_bit | 126)
        head += size.to_bytes(2, "big")
    else:
        head.append(mask_bit | 127)
        head += size.to_bytes(8, "big")
    if masked:
        mask = os.urandom(4)
        return bytes(head) + mask + _apply_mask(payload, mask)
    return bytes(head) + payload


def close_payload(code: int = 1000, reason: str = "") -> bytes:
    """The payload of a Close frame: a status code and a short UTF-8 reason."""
    return code.to_bytes(2, "big") + reason.encode("utf-8")[: _MAX_CONTROL_PAYLOAD - 2]


class FrameDecoder:
    """Incremental frame reader. *expect_masked* is True on the server side, False on the client."""

    def __init__(self, *, expect_masked: bool) -> None:
        self._expect_masked = expect_masked
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """Every complete frame contained in the bytes received so far, unmasked."""
        self._buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return frames
            frames.append(frame)

    def _next_frame(self) -> Frame | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        if first & 0x70:
            raise WebSocketError("reserved bits set, but no extension was negotiated")
        try:
            opcode = Opcode(first & 0x0F)
        except ValueError as exc:
            raise WebSocketError(f"unknown opcode {first & 0x0F:#x}") from exc
        fin = bool(first & 0x80)
        masked = bool(second & 0x80)
        if masked != self._expect_masked:
            side = "client" if self._expect_masked else "server"
            raise WebSocketError(f"a {side} frame has the wrong masking")
        size = second & 0x7F
        pos = 2
        if size == 126:
            if len(buf) < 4:
                return None
            size = int.from_bytes(buf[2:4], "big")
            pos = 4
        elif size == 127:
            if len(buf) < 10:
                return None
            size = int.from_bytes(buf[2:10], "big")
            pos = 10
        if opcode >= Opcode.CLOSE and (size > _MAX_CONTROL_PAYLOAD or not fin):
            raise WebSocketError("a control frame is fragmented or longer than 125 bytes")
        if size > MAX_FRAME_PAYLOAD:
            raise WebSocketError(f"a frame of {size} bytes exceeds the {MAX_FRAME_PAYLOAD} limit")
        mask = b""
        if masked:
            if len(buf) < pos + 4:
                return None
            mask = bytes(buf[pos : pos + 4])
            pos += 4
        if len(buf) < pos + size:
            return None
        payload = bytes(buf[pos : pos + size])
        del buf[: pos + size]
        if masked:
            payload = _apply_mask(payload, mask)
        return Frame(opcode, payload, fin)
