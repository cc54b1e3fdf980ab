"""The two public web API calls of the Teleport Proxy that routing needs.

- ``GET /webapi/find``: unauthenticated discovery. Says the cluster name and whether TLS routing
  is enabled (``proxy.tls_routing_enabled``).
- ``GET /webapi/connectionupgrade``: turns an HTTPS request into a raw tunnel into the Proxy's
  TLS-routing handler, for when an L7 load balancer terminates TLS in front of the Proxy and so
  hides the ALPN list. We ask, as Teleport's own clients do, for a WebSocket upgrade with
  sub-protocol ``alpn-ping`` and add the legacy ``Upgrade: alpn-ping`` / ``X-Teleport-Upgrade``
  headers, then follow whichever the server chose.

Both run over a `ByteStream` the caller opened (TCP + TLS verified against the Proxy's public
certificate), with h11 (`_http1`) for the HTTP and wsproto for the WebSocket framing; errors are
`TransportError` / OSError / ssl.SSLError for the caller to translate.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs
from wsproto.utilities import generate_accept_token, generate_nonce

from teleport_access._http1 import HTTP1Client, header, status_text
from teleport_access._streams import ByteStream, PingFramedStream, TransportError, WebSocketStream
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


async def find(stream: ByteStream, host: str) -> ProxyInfo:
    """``GET /webapi/find`` over *stream* (which the caller closes afterwards)."""
    http = HTTP1Client(stream, "the Proxy")
    headers = [
        ("Host", host),
        ("User-Agent", _USER_AGENT),
        ("Accept", "application/json"),
        ("Connection", "close"),
    ]
    head = await http.request("GET", FIND_PATH, headers)
    if head.status_code != 200:
        raise TransportError(f"{FIND_PATH} answered {status_text(head)}")
    return parse_find_response(await http.read_body(_MAX_BODY_BYTES))


async def upgrade(
    stream: ByteStream, host: str, *, ping: bool = True
) -> tuple[ByteStream, UpgradeFraming]:
    """Upgrade *stream* (HTTPS to the Proxy or its balancer) to a tunnel into TLS routing.

    Returns the tunnel, already unframed, and which framing the server chose.
    """
    wanted = UPGRADE_ALPN_PING if ping else UPGRADE_ALPN
    key = generate_nonce()
    headers = [
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
        ("Sec-WebSocket-Key", key.decode("ascii")),
    ]
    http = HTTP1Client(stream, "the Proxy")
    head = await http.request("GET", UPGRADE_PATH, headers)
    if head.status_code != 101:
        if head.status_code == 404:
            raise TransportError(
                f"the Proxy does not support {UPGRADE_PATH} ({status_text(head)}); "
                "it may be too old"
            )
        raise TransportError(f"the connection upgrade was refused: {status_text(head)}")
    tunnel = http.switched_stream()
    chosen = (header(head, "Upgrade") or "").lower()
    if chosen == UPGRADE_WEBSOCKET:
        # wsproto's client handshake would refuse the legacy answers, so the WebSocket answer
        # is checked here (sub-protocol, accept token); wsproto frames from now on.
        if header(head, "Sec-WebSocket-Protocol") != wanted:
            raise TransportError("WebSocket upgrade: the server chose another sub-protocol")
        if header(head, "Sec-WebSocket-Accept") != generate_accept_token(key).decode("ascii"):
            raise TransportError("WebSocket upgrade: wrong Sec-WebSocket-Accept")
        return WebSocketStream(tunnel, client_side=True), "websocket"
    legacy = chosen or (header(head, TELEPORT_UPGRADE_HEADER) or "").lower()
    if legacy == UPGRADE_ALPN_PING:
        return PingFramedStream(tunnel), "alpn-ping"
    if legacy == UPGRADE_ALPN:
        return tunnel, "alpn"
    raise TransportError(f"the server upgraded to an unknown protocol {legacy[:40]!r}")
