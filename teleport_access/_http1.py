"""The client side of the HTTP/1.1 exchanges on the Proxy routes, with h11 doing the protocol.

``GET /webapi/find``, the ``/webapi/connectionupgrade`` upgrade and an HTTPS_PROXY's ``CONNECT``
run over a `ByteStream` the route opened, and the last two hand that stream over to another
protocol, which httpx cannot do. h11 parses and builds the messages; this module only feeds it
and turns its protocol errors into `TransportError`.
"""

from __future__ import annotations

import h11

from teleport_access._streams import ByteStream, PrefixedStream, TransportError

#: A response head longer than this is refused (h11 would otherwise buffer up to 16 KiB).
MAX_HEAD_BYTES = 64 * 1024

#: A final response, or the ``101 Switching Protocols`` that ends HTTP on the connection.
ResponseHead = h11.Response | h11.InformationalResponse


def header(head: ResponseHead, name: str) -> str | None:
    """The first value of header *name* (any case), or None."""
    wanted = name.lower().encode("ascii")
    for key, value in head.headers:  # h11 hands out lowercased names
        if key == wanted:
            return value.decode("latin-1")
    return None


def status_text(head: ResponseHead) -> str:
    """``HTTP 407 Proxy Authentication Required``: the status line for an error message."""
    return f"HTTP {head.status_code} {head.reason.decode('latin-1')}".rstrip()


class HTTP1Client:
    """One request and its response over *stream*; *peer* names the server in errors."""

    def __init__(self, stream: ByteStream, peer: str) -> None:
        self._stream = stream
        self._peer = peer
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._eof = False

    async def request(
        self, method: str, target: str, headers: list[tuple[str, str]]
    ) -> ResponseHead:
        """Send a request without a body; return the final response head, or a 101."""
        request = h11.Request(method=method, target=target, headers=headers)
        await self._stream.write(self._h11.send(request) + self._h11.send(h11.EndOfMessage()))
        while True:
            event = await self._next_event()
            if isinstance(event, h11.InformationalResponse) and event.status_code != 101:
                continue  # 100 Continue, 103 Early Hints: the answer follows
            if isinstance(event, h11.Response | h11.InformationalResponse):
                return event
            raise TransportError(f"{self._peer} answered no response head")

    async def read_body(self, limit: int) -> bytes:
        """The body of the response `request` returned, refused above *limit* bytes."""
        body = bytearray()
        while not isinstance(event := await self._next_event(), h11.EndOfMessage):
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > limit:
                    raise TransportError(f"the response body from {self._peer} is too large")
        return bytes(body)

    def switched_stream(self) -> ByteStream:
        """The stream after a 101 or an accepted CONNECT, bytes that came with the head first."""
        rest, _closed = self._h11.trailing_data
        return PrefixedStream(bytes(rest), self._stream) if rest else self._stream

    async def _next_event(self) -> h11.Event:
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                if self._eof:
                    problem = f"{self._peer} closed the connection before a complete response"
                    raise TransportError(problem) from exc
                problem = f"{self._peer} sent a malformed HTTP response: {exc}"
                raise TransportError(problem) from exc
            if isinstance(event, h11.Event):
                return event
            if event is h11.PAUSED:  # a caller read on after a 101 or CONNECT: a bug of ours
                raise RuntimeError("HTTP is over on a connection that switched protocols")
            chunk = await self._stream.read()
            self._eof = not chunk
            self._h11.receive_data(chunk)  # b"" tells h11 the connection ended
