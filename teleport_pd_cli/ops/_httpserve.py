"""A minimal asyncio HTTP/1.1 server for the metrics and health endpoints: GET and HEAD only.

Enough of RFC 9112 for Prometheus scrapers, kubelet probes and curl: persistent connections
(the HTTP/1.1 default, and HTTP/1.0 with `Connection: keep-alive`), a size limit on the request
head and a timeout to receive it, `405` with `Allow` for other methods, and `Connection: close`
after anything the server cannot resynchronise from (a request with a body, a malformed head).
Stdlib only: tpd takes no web framework for three fixed endpoints.

The handler is a plain function from `HttpRequest` to `HttpResponse`. It runs on the event loop,
so it must be quick (rendering a few hundred metric lines is).
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import re
import urllib.parse
from collections.abc import Callable

import attrs

__all__ = ["HttpRequest", "HttpResponse", "HttpServer"]

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(r"HTTP/(\d)\.(\d)")


@attrs.frozen(kw_only=True)
class HttpRequest:
    method: str
    #: The request target as sent ("/metrics?x=1").
    target: str
    #: Its path, percent-decoded ("/metrics"), and its raw query ("x=1").
    path: str
    query: str
    #: (major, minor), e.g. (1, 1).
    version: tuple[int, int]
    #: Header fields in order, names lower-cased.
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)


@attrs.frozen(kw_only=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[HttpRequest], HttpResponse]


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_head(head: bytes) -> HttpRequest:
    """The request line and header fields of one request head (ending with an empty line)."""
    # Latin-1 maps every byte, so no request head fails to decode; field values are ASCII anyway.
    text = head.decode("latin-1")
    lines = text.lstrip("\r\n").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise _BadRequest(400, "malformed request line")
    method, target, version_text = parts
    version = _VERSION.fullmatch(version_text)
    if version is None:
        raise _BadRequest(400, "malformed HTTP version")
    if version.group(1) != "1":
        raise _BadRequest(505, "only HTTP/1.x is supported")
    if target.startswith("/"):
        raw_path, _, query = target.partition("?")
    elif target.startswith(("http://", "https://")):  # absolute-form, as sent to proxies
        split = urllib.parse.urlsplit(target)
        raw_path, query = split.path or "/", split.query
    else:
        raise _BadRequest(400, "unsupported request target")
    raw_path = raw_path.partition("#")[0]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise _BadRequest(400, "obsolete header line folding")
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            raise _BadRequest(400, "malformed header field")
        headers.append((name.lower(), value.strip(" \t")))
    return HttpRequest(
        method=method,
        target=target,
        path=urllib.parse.unquote(raw_path),
        query=query,
        version=(int(version.group(1)), int(version.group(2))),
        headers=tuple(headers),
    )


def _wants_keep_alive(request: HttpRequest) -> bool:
    tokens = {token.strip().lower() for token in (request.header("connection") or "").split(",")}
    if request.version >= (1, 1):
        return "close" not in tokens
    return "keep-alive" in tokens


def _has_body(request: HttpRequest) -> bool:
    """Whether a body follows the head (which this server never reads). Raises _BadRequest for
    a Content-Length that is not a number."""
    if request.header("transfer-encoding") is not None:
        return True
    length = request.header("content-length")
    if length is None:
        return False
    if not length.isdigit():
        raise _BadRequest(400, "invalid Content-Length")
    return int(length) > 0


def _encode(response: HttpResponse, *, head_only: bool, keep_alive: bool, http10: bool) -> bytes:
    try:
        reason = http.HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
    ]
    lines.extend(f"{name}: {value}" for name, value in response.headers)
    if not keep_alive:
        lines.append("Connection: close")
    elif http10:
        lines.append("Connection: keep-alive")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


def _plain(status: int, text: str, *headers: tuple[str, str]) -> HttpResponse:
    return HttpResponse(status=status, body=f"{text}\n".encode(), headers=headers)


class HttpServer:
    """Serves `handler` on host:port (host "" or None: every interface; port 0: any free port).

    `head_limit` bounds a request head in bytes (431 beyond it); `idle_timeout` is how long a
    connection may take to send a complete head, the first or the next, before it is closed.
    """

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
        self._server = await asyncio.start_server(
            self._accept, self._host, self._port, limit=self._head_limit
        )

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The bound (host, port) of every listening socket."""
        if self._server is None:
            return []
        return [socket.getsockname()[:2] for socket in self._server.sockets]

    @property
    def port(self) -> int:
        """The bound port (useful after binding port 0)."""
        addresses = self.addresses
        if not addresses:
            raise RuntimeError("the server is not started")
        return addresses[0][1]

    async def aclose(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

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
        try:
            await self._serve(reader, writer)
        except ConnectionError:
            pass  # the peer went away mid-answer
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                async with asyncio.timeout(self._idle_timeout):
                    head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, TimeoutError):
                return  # closed by the peer, or idle too long: close quietly
            except asyncio.LimitOverrunError:
                await self._send(writer, _plain(431, "request head too large"), keep_alive=False)
                return
            try:
                request = parse_head(head)
                has_body = _has_body(request)
            except _BadRequest as exc:
                await self._send(writer, _plain(exc.status, exc.reason), keep_alive=False)
                return
            keep_alive = _wants_keep_alive(request) and not has_body
            if request.method in ("GET", "HEAD"):
                response = self._call(request)
            else:
                response = _plain(405, "method not allowed", ("Allow", "GET, HEAD"))
            await self._send(
                writer,
                response,
                keep_alive=keep_alive,
                head_only=request.method == "HEAD",
                http10=request.version < (1, 1),
            )
            if not keep_alive:
                return

    def _call(self, request: HttpRequest) -> HttpResponse:
        try:
            return self._handler(request)
        except Exception:
            logger.exception("The %s handler failed", request.path)
            return _plain(500, "internal error")

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        response: HttpResponse,
        *,
        keep_alive: bool,
        head_only: bool = False,
        http10: bool = False,
    ) -> None:
        writer.write(_encode(response, head_only=head_only, keep_alive=keep_alive, http10=http10))
        await writer.drain()
