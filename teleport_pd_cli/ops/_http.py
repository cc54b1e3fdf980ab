"""The HTTP/1.1 server under the metrics and health endpoints: GET and HEAD of a few fixed paths.

h11 parses and frames the messages; this module moves bytes between it and asyncio streams, one
task per connection, so a slow or stuck client holds up only itself. On top of h11 it adds what
a server must decide for itself: how long a client may take to send each request head
(`idle_timeout`, then the connection is closed), how much of an unfinished head it buffers
(`head_limit`, then 431), an answer to whatever h11 refuses to parse (its status hint, usually
400), 505 for HTTP versions other than 1.x, 405 with `Allow` for methods other than GET and
HEAD, and closing the connection after a request that came with a body (never read).

The handler maps a path (percent-decoded, without the query) to a `Response`. It runs on the
event loop, so it must be quick; what it raises is logged and answered with 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import urllib.parse
from collections.abc import Callable

import attrs
import h11

__all__ = ["Handler", "HttpServer", "Response"]

logger = logging.getLogger(__name__)

#: Small reads, so that h11 sees an oversized head while it is still incomplete and refuses it.
_READ_SIZE = 4096


@attrs.frozen(kw_only=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[str], Response]


def _text(status: int, text: str, *headers: tuple[str, str]) -> Response:
    return Response(status=status, body=f"{text}\n".encode(), headers=headers)


def _path(target: bytes) -> str | None:
    """The percent-decoded path of an origin-form ("/x?q") or absolute-form ("http://h/x")
    request target; None for any other form."""
    text = target.decode("ascii")  # h11 accepts only visible ASCII in a target
    if text.startswith("/"):
        return urllib.parse.unquote(text.partition("?")[0])
    if text.startswith(("http://", "https://")):
        return urllib.parse.unquote(urllib.parse.urlsplit(text).path or "/")
    return None


class HttpServer:
    """Serves `handler` on host:port (host "" or None: every interface; port 0: any free port)."""

    def __init__(
        self,
        handler: Handler,
        host: str | None,
        port: int,
        *,
        head_limit: int = 16 * 1024,
        idle_timeout: float = 30.0,
    ) -> None:
        self._handler = handler
        self._host = host or None
        self._port = port
        self._head_limit = head_limit
        self._idle_timeout = idle_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Bind and start accepting. Raises OSError when the address cannot be bound."""
        self._server = await asyncio.start_server(self._accept, self._host, self._port)

    @property
    def port(self) -> int:
        """The bound port (useful after binding port 0)."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def aclose(self) -> None:
        """Stop listening and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- one connection ------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=self._head_limit)
        try:
            while await self._serve_one(connection, reader, writer):
                connection.start_next_cycle()
        except (ConnectionError, TimeoutError):
            pass  # the peer went away, or stopped reading its answer
        except asyncio.CancelledError:
            # Only aclose() cancels these tasks; ending quietly keeps asyncio's streams from
            # logging the cancelled handler as an error.
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError, RuntimeError):
                await writer.wait_closed()

    async def _serve_one(
        self, connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; True if the connection stays open for the next."""
        try:
            async with asyncio.timeout(self._idle_timeout):
                request = await _next_request(connection, reader)
        except TimeoutError:
            return False  # idle too long, or a head too slow: close quietly
        except h11.RemoteProtocolError as exc:
            await self._send(connection, writer, _text(exc.error_status_hint, str(exc)), close=True)
            return False
        if request is None:
            return False  # the peer closed the connection between requests
        # After a refused request, or one with a body (never read), the connection closes: what
        # follows on it cannot be trusted to be the next request.
        path = _path(request.target)
        if not request.http_version.startswith(b"1."):
            response, close = _text(505, "only HTTP/1.x is supported"), True
        elif path is None:
            response, close = _text(400, "unsupported request target"), True
        elif request.method not in (b"GET", b"HEAD"):
            response, close = _text(405, "method not allowed", ("Allow", "GET, HEAD")), True
        else:
            response, close = self._call(path), _has_body(connection)
        await self._send(
            connection, writer, response, close=close, head_only=request.method == b"HEAD"
        )
        return connection.our_state is h11.DONE and connection.their_state is h11.DONE

    def _call(self, path: str) -> Response:
        try:
            return self._handler(path)
        except Exception:
            logger.exception("The %s handler failed", path)
            return _text(500, "internal error")

    async def _send(
        self,
        connection: h11.Connection,
        writer: asyncio.StreamWriter,
        response: Response,
        *,
        close: bool,
        head_only: bool = False,
    ) -> None:
        headers = [
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
            *response.headers,
        ]
        if close:
            headers.append(("Connection", "close"))
        reason = http.HTTPStatus(response.status).phrase
        writer.write(
            connection.send(
                h11.Response(status_code=response.status, headers=headers, reason=reason)
            )
            or b""
        )
        if response.body and not head_only:
            writer.write(connection.send(h11.Data(data=response.body)) or b"")
        writer.write(connection.send(h11.EndOfMessage()) or b"")
        # A client that does not read its answer is dropped like one that does not ask.
        async with asyncio.timeout(self._idle_timeout):
            await writer.drain()


def _has_body(connection: h11.Connection) -> bool:
    """Whether the request just read has a body (anything but its end follows the head)."""
    try:
        return not isinstance(connection.next_event(), h11.EndOfMessage)
    except h11.RemoteProtocolError:
        return True  # a malformed body: there is one


async def _next_request(
    connection: h11.Connection, reader: asyncio.StreamReader
) -> h11.Request | None:
    """The next request's head; None when the peer closed the connection instead."""
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(_READ_SIZE))
        else:
            return event if isinstance(event, h11.Request) else None
