"""Outbound HTTP(S) proxies (``HTTPS_PROXY`` / ``NO_PROXY``) for the connections the tunnel opens.

Teleport's Go clients, the Go plugin among them, reach the Proxy through the proxy named by
``HTTPS_PROXY`` (Go's ``httpproxy.FromEnvironment`` for an ``https://<addr>`` URL), tunnelling
with HTTP ``CONNECT``. grpcio does the same by itself for a direct channel, but the tunnel opens
its own TCP connections, so it follows the same rules here:

* ``HTTPS_PROXY`` (or ``https_proxy``) names the proxy; a value without a scheme means
  ``http://``. ``http://`` proxies get CONNECT over TCP, ``https://`` proxies CONNECT over TLS
  (verified with the system's roots); ``user:password@`` becomes Basic Proxy-Authorization.
* ``NO_PROXY`` (or ``no_proxy``) lists exceptions: ``*`` for all; host names match themselves
  and their subdomains (``example.com``), or only subdomains (``.example.com``); IP addresses
  and CIDR ranges; an entry with ``:port`` matches only that port.
* ``localhost`` and loopback addresses never use a proxy.

`proxy_for` is the pure decision; `connect` does the I/O.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import ssl
import urllib.parse
from collections.abc import Mapping

import attrs

from teleport_access._http1 import HTTP1Client, status_text
from teleport_access._streams import ByteStream, SocketStream, TLSStream, TransportError
from teleport_access._version import __version__

__all__ = ["HTTPProxy", "connect", "proxy_for"]


@attrs.frozen(kw_only=True)
class HTTPProxy:
    """An HTTP proxy that tunnels with CONNECT."""

    scheme: str
    host: str
    port: int
    username: str = attrs.field(default="", repr=False)
    password: str = attrs.field(default="", repr=False)

    @classmethod
    def parse(cls, url: str) -> HTTPProxy:
        """``[http|https]://[user:password@]host[:port]``; ValueError naming the problem."""
        text = url.strip()
        if "://" not in text:
            text = "http://" + text
        parts = urllib.parse.urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(
                f"proxy URL scheme {parts.scheme!r} is not supported (use http:// or https://)"
            )
        if not parts.hostname:
            raise ValueError("the proxy URL has no host")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise ValueError(f"the proxy URL has an invalid port: {exc}") from exc
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=port,
            username=urllib.parse.unquote(parts.username or ""),
            password=urllib.parse.unquote(parts.password or ""),
        )

    def __str__(self) -> str:  # never shows the credentials
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _getenv(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name.upper()) or environ.get(name.lower()) or ""


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _excluded(host: str, port: int, no_proxy: str) -> bool:
    host = host.lower().rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            try:
                if address is not None and address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry_host, entry_port = entry, None
        if entry.startswith("["):
            inside, _, rest = entry[1:].partition("]")
            entry_host = inside
            entry_port = rest[1:] if rest.startswith(":") else None
        elif entry.count(":") == 1:
            entry_host, entry_port = entry.split(":")
        if entry_port is not None and entry_port != str(port):
            continue
        if address is not None:
            try:
                if address == ipaddress.ip_address(entry_host):
                    return True
            except ValueError:
                pass
            continue
        if entry_host.startswith("*."):
            entry_host = entry_host[1:]
        if entry_host.startswith("."):
            if host.endswith(entry_host):
                return True
        elif host == entry_host or host.endswith("." + entry_host):
            return True
    return False


def proxy_for(host: str, port: int, environ: Mapping[str, str] | None = None) -> HTTPProxy | None:
    """The proxy to reach ``https://host:port`` through, by the environment; None for direct.

    Raises ValueError when ``HTTPS_PROXY`` is set but malformed (a clear configuration error
    rather than a silent direct connection).
    """
    env = os.environ if environ is None else environ
    url = _getenv(env, "HTTPS_PROXY")
    if not url or _is_loopback(host) or _excluded(host, port, _getenv(env, "NO_PROXY")):
        return None
    try:
        return HTTPProxy.parse(url)
    except ValueError as exc:
        raise ValueError(f"HTTPS_PROXY: {exc}") from exc


async def connect(proxy: HTTPProxy, host: str, port: int) -> ByteStream:
    """A byte stream to host:port tunnelled through *proxy* with CONNECT.

    Raises OSError / ssl.SSLError / TransportError (the caller translates).
    """
    stream: ByteStream = await SocketStream.connect_tcp(proxy.host, proxy.port)
    try:
        if proxy.scheme == "https":
            context = ssl.create_default_context()
            context.set_alpn_protocols(["http/1.1"])
            stream = await TLSStream.client(stream, context, proxy.host)
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        headers: list[tuple[str, str]] = [
            ("Host", target),
            ("User-Agent", f"tpd-teleport-access/{__version__}"),
        ]
        if proxy.username or proxy.password:
            token = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode()
            headers.append(("Proxy-Authorization", f"Basic {token}"))
        http = HTTP1Client(stream, f"the HTTP proxy {proxy}")
        head = await http.request("CONNECT", target, headers)
        if not 200 <= head.status_code < 300:
            raise TransportError(
                f"the HTTP proxy {proxy} refused CONNECT {target}: {status_text(head)}"
            )
    except BaseException:
        await stream.aclose()
        raise
    return http.switched_stream()
