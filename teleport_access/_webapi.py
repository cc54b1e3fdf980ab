"""The two public web API calls of the Teleport Proxy that routing needs.

- ``GET /webapi/find``: unauthenticated discovery. Says the cluster name and whether TLS routing
  is enabled (``proxy.tls_routing_enabled``).
- ``GET /webapi/connectionupgrade``: turns an HTTPS request into a raw tunnel into the Proxy's
  TLS-routing handler, for when an L7 load balancer terminates TLS in front of the Proxy and so
  hides the ALPN list. We ask, as Teleport's own clients do, for a WebSocket upgrade with
  sub-protocol ``alpn-ping`` and add the legacy ``Upgrade: alpn-ping`` / ``X-Teleport-Upgrade``
  headers, then follow whichever the server chose.

Both run over a `ByteStream` the caller opened (TCP + TLS verified against the Proxy's public
certificate); errors are `TransportError` / `HTTPFormatError` / OSError for the caller to
translate.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs

from teleport_access import _http1, _websocket
from teleport_access._streams import (
    ByteStream,
    PingFramedStream,
    PrefixedStream,
    TransportError,
    WebSocketStream,
)
from teleport_access._version import __version__

FIND_PATH = "/webapi/find"
UPGRADE_PATH = "/webapi/connectionupgrade"

UPGRADE_ALPN = "alpn"
UPGRADE_ALPN_PING = "alpn-ping"
UPGRADE_WEBSOCKET = "websocket"
TELEPORT_UPGRADE_HEADER = "X-Teleport-Upgrade"

#: How the upgraded tunnel is framed: WebSocket frames (either sub-protocol), the legacy Ping
#: framing, or raw bytes (legacy ``alpn``).
UpgradeFraming = Literal["websocket", "alpn-ping", "alpn"]

_USER_AGENT = f"tpd-teleport-access/{__version__}"
_MAX_BODY_BYTES = 1024 * 1024


@attrs.frozen(kw_only=True)
class ProxyInfo:
    """What ``/webapi/find`` says about a Proxy."""

    cluster_name: str
    tls_routing_enabled: bool
    server_version: str = ""
    min_client_version: str = ""


def parse_find_response(body: bytes) -> ProxyInfo:
    """Read ``/webapi/find``'s JSON (``webclient.PingResponse``); unknown fields are ignored."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TransportError(f"{FIND_PATH} did not answer JSON") from exc
    if not isinstance(document, dict):
        raise TransportError(f"{FIND_PATH} did not answer a JSON object")
    proxy = document.get("proxy")
    proxy_settings: dict[str, Any] = proxy if isinstance(proxy, dict) else {}

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    return ProxyInfo(
        cluster_name=text(document.get("cluster_name")),
        tls_routing_enabled=proxy_settings.get("tls_routing_enabled") is True,
        server_version=text(document.get("server_version")),
        min_client_version=text(document.get("min_client_version")),
    )


async def _read_head(stream: ByteStream) -> tuple[_http1.ResponseHead, bytes]:
    buffer = bytearray()
    while True:
        length = _http1.head_length(buffer)
        if length is not None:
            head = _http1.parse_response_head(bytes(buffer[:length]))
            return head, bytes(buffer[length:])
        chunk = await stream.read()
        if not chunk:
            raise TransportError("the Proxy closed the connection before answering")
        buffer += chunk


async def _read_body(stream: ByteStream, head: _http1.ResponseHead, rest: bytes) -> bytes:
    if "chunked" in head.tokens("Transfer-Encoding"):
        decoder = _http1.ChunkedDecoder()
        body = bytearray(decoder.feed(rest))
        while not decoder.done:
            chunk = await stream.read()
            if not chunk:
                raise TransportError("the response body ended early")
            body += decoder.feed(chunk)
            if len(body) > _MAX_BODY_BYTES:
                raise TransportError("the response body is too large")
        return bytes(body)
    length_text = head.get("Content-Length")
    body = bytearray(rest)
    if length_text is not None:
        if not length_text.isdigit():
            raise TransportError(f"bad Content-Length {length_text[:20]!r}")
        length = int(length_text)
        if length > _MAX_BODY_BYTES:
            raise TransportError("the response body is too large")
        while len(body) < length:
            chunk = await stream.read()
            if not chunk:
                raise TransportError("the response body ended early")
            body += chunk
        return bytes(body[:length])
    while len(body) <= _MAX_BODY_BYTES:  # no length: the body runs to the end of the connection
        chunk = await stream.read()
        if not chunk:
            return bytes(body)
        body += chunk
    raise TransportError("the response body is too large")


async def find(stream: ByteStream, host: str) -> ProxyInfo:
    """``GET /webapi/find`` over *stream* (which the caller closes afterwards)."""
    await stream.write(
        _http1.encode_request(
            "GET",
            FIND_PATH,
            (
                ("Host", host),
                ("User-Agent", _USER_AGENT),
                ("Accept", "application/json"),
                ("Connection", "close"),
            ),
        )
    )
    head, rest = await _read_head(stream)
    body = await _read_body(stream, head, rest)
    if head.status != 200:
        raise TransportError(f"{FIND_PATH} answered HTTP {head.status} {head.reason}".rstrip())
    return parse_find_response(body)


async def upgrade(
    stream: ByteStream, host: str, *, ping: bool = True
) -> tuple[ByteStream, UpgradeFraming]:
    """Upgrade *stream* (HTTPS to the Proxy or its balancer) to a tunnel into TLS routing.

    Returns the tunnel, already unframed, and which framing the server chose.
    """
    wanted = UPGRADE_ALPN_PING if ping else UPGRADE_ALPN
    key = _websocket.new_key()
    headers: _http1.Headers = (
        ("Host", host),
        ("User-Agent", _USER_AGENT),
        ("Upgrade", UPGRADE_WEBSOCKET),
        # The legacy upgrade type, as a second Upgrade value and in Teleport's own header (some
        # balancers drop Upgrade). A server picks WebSocket when it knows it.
        ("Upgrade", wanted),
        (TELEPORT_UPGRADE_HEADER, wanted),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Protocol", wanted),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", key),
    )
    await stream.write(_http1.encode_request("GET", UPGRADE_PATH, headers))
    head, rest = await _read_head(stream)
    if head.status != 101:
        detail = f"HTTP {head.status} {head.reason}".rstrip()
        if head.status == 404:
            raise TransportError(
                f"the Proxy does not support {UPGRADE_PATH} ({detail}); it may be too old"
            )
        raise TransportError(f"the connection upgrade was refused: {detail}")
    tunnel: ByteStream = PrefixedStream(rest, stream) if rest else stream
    chosen = (head.get("Upgrade") or "").lower()
    if chosen == UPGRADE_WEBSOCKET:
        if head.get("Sec-WebSocket-Protocol") != wanted:
            raise TransportError("WebSocket upgrade: the server chose another sub-protocol")
        if head.get("Sec-WebSocket-Accept") != _websocket.accept_key(key):
            raise TransportError("WebSocket upgrade: wrong Sec-WebSocket-Accept")
        return WebSocketStream(tunnel, client_side=True), "websocket"
    legacy = chosen or (head.get(TELEPORT_UPGRADE_HEADER) or "").lower()
    if legacy == UPGRADE_ALPN_PING:
        return PingFramedStream(tunnel), "alpn-ping"
    if legacy == UPGRADE_ALPN:
        return tunnel, "alpn"
    raise TransportError(f"the server upgraded to an unknown protocol {legacy[:40]!r}")
