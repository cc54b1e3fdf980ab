"""Teleport's Ping framing (``alpn-ping`` upgrades and ``<protocol>-ping`` ALPN names). Pure.

Behind an L7 load balancer the tunnelled connection may sit idle longer than the balancer's idle
timeout, so the Proxy writes keepalive pings into it. Every write is framed as a 4-byte
big-endian payload length followed by the payload; a frame of length 0 is a ping, which the
reader discards.
"""

from __future__ import annotations

#: A keepalive ping: a frame of length zero.
PING_FRAME = b"\x00\x00\x00\x00"

_HEADER_SIZE = 4
_MAX_FRAME_PAYLOAD = 0xFFFF_FFFF


def encode_frame(payload: bytes) -> bytes:
    """One data frame carrying *payload*; empty payloads produce nothing (they would be pings)."""
    if not payload:
        return b""
    if len(payload) > _MAX_FRAME_PAYLOAD:
        raise ValueError("a Ping frame carries at most 4 GiB")
    return len(payload).to_bytes(_HEADER_SIZE, "big") + payload


class PingFrameDecoder:
    """Incremental reader of Ping frames: feed it received bytes, get the payload bytes back."""

    def __init__(self) -> None:
        self._header = bytearray()
        self._remaining = 0  # payload bytes still to come in the current frame
        self.pings_received = 0

    @property
    def at_frame_boundary(self) -> bool:
        """True when no frame is partly received (a clean place for the stream to end)."""
        return self._remaining == 0 and not self._header

    def feed(self, data: bytes) -> bytes:
        """The payload bytes contained in *data*, in order, with framing and pings removed."""
        out = bytearray()
        view = memoryview(data)
        while view:
            if self._remaining:
                take = min(self._remaining, len(view))
                out += view[:take]
                view = view[take:]
                self._remaining -= take
                continue
            need = _HEADER_SIZE - len(self._header)
            self._header += view[:need]
            view = view[need:]
            if len(self._header) == _HEADER_SIZE:
                self._remaining = int.from_bytes(self._header, "big")
                self._header.clear()
                if self._remaining == 0:
                    self.pings_received += 1
        return bytes(out)
