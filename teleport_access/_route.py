"""How the client reaches the Auth Service: directly, or through a Teleport Proxy.

Three routes, all ending in mutual TLS with the Auth Service itself (SNI
``teleport.cluster.local``, the identity's client certificate, only the identity's CAs as roots):

``auth``
    TCP to the Auth Service (usually port 3025), TLS with ALPN ``h2``.
``proxy-tls-routing``
    TCP to the Proxy's web port (443 or 3080). The ALPN list starts with
    ``teleport-auth@<hex(cluster)>.teleport.cluster.local``; the Proxy reads it from the
    ClientHello and copies the raw TLS stream to Auth.
``proxy-alpn-upgrade``
    When an L7 load balancer terminates TLS in front of the Proxy (and so never shows it our ALPN
    list): HTTPS to the balancer, ``GET /webapi/connectionupgrade``, then the same TLS session as
    ``proxy-tls-routing`` inside the upgraded stream.

`resolve_route` finds out which one works for a configured ``addr`` by trying them, each try a
full handshake with Auth; `RouteDialer` then opens connections along the chosen route. This is
the one place where OS, ssl and protocol errors of these connections become `ConnectionProblem`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import logging
import os
import ssl
import tempfile
from collections.abc import Sequence
from typing import Literal

import attrs

from teleport_access import _httpproxy, _webapi
from teleport_access._alpn import ALPN_H2, ALPN_HTTP11, API_DOMAIN, auth_alpn_protocols
from teleport_access._credentials import Identity, IdentitySource
from teleport_access._exceptions import ConnectionProblem
from teleport_access._streams import ByteStream, SocketStream, TLSStream, TransportError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "ConnectOptions",
    "Route",
    "RouteDialer",
    "RouteKind",
    "RouteMode",
    "auth_ssl_context",
    "default_web_ssl_context",
    "fetch_proxy_info",
    "resolve_route",
    "route_candidates",
    "split_address",
]

logger = logging.getLogger(__name__)

#: Seconds allowed for one connection: TCP connect, TLS handshakes and the upgrade together.
DEFAULT_CONNECT_TIMEOUT = 10.0

#: Ports of a Teleport Proxy's web / TLS-routing listener. On these the Proxy route is tried first.
PROXY_PORTS = frozenset({443, 3080})


class RouteKind(enum.StrEnum):
    AUTH = "auth"
    PROXY_TLS_ROUTING = "proxy-tls-routing"
    PROXY_ALPN_UPGRADE = "proxy-alpn-upgrade"


#: ``auto`` tries every route (see `route_candidates`); ``auth`` and ``proxy`` restrict the choice.
RouteMode = Literal["auto", "auth", "proxy"]


@attrs.frozen(kw_only=True)
class Route:
    """A way to the Auth Service that worked. Shown by ``tpd doctor`` and logged at connect."""

    #: Also accepts the kind's string value ("proxy-tls-routing"), e.g. from configuration.
    kind: RouteKind = attrs.field(converter=RouteKind)
    #: The configured ``host:port``.
    address: str
    #: The cluster the ALPN route entry names; "" for the ``auth`` route when not known.
    cluster_name: str = ""
    #: For ``proxy-alpn-upgrade``: the framing the Proxy chose ("websocket", "alpn-ping", "alpn").
    upgrade: _webapi.UpgradeFraming | None = None

    @property
    def via_proxy(self) -> bool:
        return self.kind is not RouteKind.AUTH

    @property
    def alpn_protocols(self) -> tuple[str, ...]:
        """The ALPN list of the end-to-end TLS session with Auth on this route."""
        if self.kind is RouteKind.AUTH:
            return (ALPN_H2,)
        return auth_alpn_protocols(self.cluster_name)

    def describe(self) -> str:
        where = f"the Teleport Proxy at {self.address}" if self.via_proxy else self.address
        text = f"{self.kind} via {where}"
        if self.upgrade:
            text += f" (upgrade: {self.upgrade})"
        if self.cluster_name:
            text += f", cluster {self.cluster_name!r}"
        return text


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into (host, port); ValueError naming the problem."""
    text = address.strip()
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"address {address!r} must be [ipv6]:port")
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"address {address!r} has no port (host:port, e.g. proxy:443)")
    if not host:
        raise ValueError(f"address {address!r} has no host")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"address {address!r} has an invalid port {port_text!r}")
    return host, int(port_text)


def route_candidates(port: int, mode: RouteMode = "auto") -> tuple[RouteKind, ...]:
    """The routes to try, in order, for an address on *port*.

    On a Proxy port (443, 3080) the Proxy routes go first; elsewhere the direct Auth route, with
    the Proxy routes as the fallback when it fails. The upgrade comes after direct TLS routing:
    it is only needed when something in front of the Proxy refuses the latter.
    """
    proxy = (RouteKind.PROXY_TLS_ROUTING, RouteKind.PROXY_ALPN_UPGRADE)
    if mode == "auth":
        return (RouteKind.AUTH,)
    if mode == "proxy":
        return proxy
    if port in PROXY_PORTS:
        return (*proxy, RouteKind.AUTH)
    return (RouteKind.AUTH, *proxy)


@attrs.frozen(kw_only=True)
class ConnectOptions:
    """How connections to the Auth Service (and the Proxy) are opened. Every field is optional."""

    #: Seconds for one connection: TCP connect, every TLS handshake and the upgrade together.
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    #: Trust for the Proxy's public web certificate (``/webapi/find``, the connection upgrade).
    #: None: the system's roots, as a browser would. It is never used for the Auth Service,
    #: which is verified with the identity's CAs only.
    web_ssl_context: ssl.SSLContext | None = attrs.field(default=None, eq=False)
    #: Ask for ``alpn-ping`` (keepalive pings from the Proxy) on connection upgrades, as
    #: Teleport's clients do; False asks for plain ``alpn``.
    upgrade_ping: bool = True
    #: Outbound HTTP proxy: "environment" follows HTTPS_PROXY / NO_PROXY like Teleport's Go
    #: clients; None always connects directly.
    http_proxy: _httpproxy.HTTPProxy | Literal["environment"] | None = "environment"

    def __attrs_post_init__(self) -> None:
        if self.connect_timeout <= 0:
            raise ValueError(f"connect_timeout must be positive, got {self.connect_timeout}")

    def proxy_for(self, host: str, port: int) -> _httpproxy.HTTPProxy | None:
        """The HTTP proxy for a connection to host:port (ValueError for a bad HTTPS_PROXY)."""
        if self.http_proxy == "environment":
            return _httpproxy.proxy_for(host, port)
        return self.http_proxy


# --- TLS contexts --------------------------------------------------------------------------------


def _load_client_certificate(context: ssl.SSLContext, identity: Identity) -> None:
    """Load the identity's certificate and key without leaving the key in a file.

    `ssl` only loads certificates from paths. On Linux an anonymous memory file is used (never
    on disk); elsewhere a 0600 file inside a fresh 0700 directory, removed right after loading.
    """
    pem = identity.certificate_pem.rstrip(b"\n") + b"\n" + identity.private_key_pem
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None and os.path.isdir("/proc/self/fd"):
        descriptor = memfd_create("teleport-client-credentials", os.MFD_CLOEXEC)
        try:
            _write_all(descriptor, pem)
            context.load_cert_chain(f"/proc/self/fd/{descriptor}")
        finally:
            os.close(descriptor)
        return
    with tempfile.TemporaryDirectory(prefix="tpd-credentials-") as directory:
        path = os.path.join(directory, "client.pem")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                _write_all(descriptor, pem)
            finally:
                os.close(descriptor)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def auth_ssl_context(identity: Identity, alpn_protocols: Sequence[str]) -> ssl.SSLContext:
    """Client TLS for the Auth Service, by Teleport's rules (teleport-wire.md §3.2).

    Only the identity's CAs are trusted (no system roots), the server name to verify is
    ``teleport.cluster.local``, and the client certificate is always sent.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata="".join(pem.decode("ascii") for pem in identity.ca_pems))
    context.set_alpn_protocols(list(alpn_protocols))
    _load_client_certificate(context, identity)
    return context


def default_web_ssl_context() -> ssl.SSLContext:
    """TLS for the Proxy's public web address: the system's trust roots, as a browser would."""
    context = ssl.create_default_context()
    context.set_alpn_protocols([ALPN_HTTP11])
    return context


def _sni_for(host: str) -> str | None:
    """The SNI to send to *host*: its name, or none for an IP address (RFC 6066)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return None


def _host_header(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == 443 else f"{shown}:{port}"


# --- dialing -------------------------------------------------------------------------------------

_Stage = Literal["connect", "web-tls", "upgrade", "auth-tls", "alpn"]


class _DialFailure(Exception):
    """Where a dial failed and why; turned into ConnectionProblem by `_problem`."""

    def __init__(self, stage: _Stage, cause: BaseException | str) -> None:
        super().__init__(stage, cause)
        self.stage = stage
        self.cause = cause


def _describe_cause(cause: BaseException | str) -> str:
    if isinstance(cause, str):
        return cause
    if isinstance(cause, TimeoutError):
        return "timed out"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"certificate verification failed: {cause.verify_message or cause.reason}"
    if isinstance(cause, ssl.SSLError):
        return f"TLS error: {cause.reason or cause}"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(cause) or type(cause).__name__


_STAGE_TEXT: dict[_Stage, str] = {
    "connect": "cannot connect",
    "web-tls": "the HTTPS handshake with the Proxy's public address failed",
    "upgrade": "the connection upgrade failed",
    "auth-tls": "the mutual-TLS handshake with the Auth Service failed",
    "alpn": "the server is not a Teleport Auth Service",
}


def _problem(route: Route, failure: _DialFailure) -> ConnectionProblem:
    target = f"the Teleport Proxy at {route.address}" if route.via_proxy else route.address
    text = f"{_STAGE_TEXT[failure.stage]} ({route.kind} via {target}): "
    text += _describe_cause(failure.cause)
    if failure.stage == "auth-tls" and route.via_proxy:
        cause = failure.cause
        if isinstance(cause, ssl.SSLCertVerificationError):
            text += (
                "; something in front of the Auth Service answered TLS itself (an L7 load "
                "balancer, or not a Teleport Proxy)"
            )
        elif isinstance(cause, ssl.SSLEOFError | ConnectionResetError) or (
            isinstance(cause, ssl.SSLError) and "EOF" in str(cause)
        ):
            text += (
                f"; the Proxy closed the connection, as it does for a cluster it does not serve "
                f"(asked for {route.cluster_name!r})"
            )
    return ConnectionProblem(text, address=route.address)


async def _tcp(host: str, port: int, http_proxy: _httpproxy.HTTPProxy | None) -> ByteStream:
    if http_proxy is None:
        try:
            return await SocketStream.connect_tcp(host, port)
        except OSError as exc:
            raise _DialFailure("connect", exc) from exc
    try:
        return await _httpproxy.connect(http_proxy, host, port)
    except (OSError, ssl.SSLError, TransportError) as exc:
        raise _DialFailure(
            "connect", f"through the HTTP proxy {http_proxy}: {_describe_cause(exc)}"
        ) from exc


async def _tls(
    stage: _Stage, inner: ByteStream, context: ssl.SSLContext, server_name: str | None
) -> TLSStream:
    try:
        return await TLSStream.client(inner, context, server_name)
    except (ssl.SSLError, OSError, TransportError) as exc:
        raise _DialFailure(stage, exc) from exc


class RouteDialer:
    """Opens TLS connections to the Auth Service along a route, one per call to `open`.

    The identity is read from *identity* for every connection, so a refreshed certificate is
    used from the next connection on. TLS contexts are cached per identity.
    """

    def __init__(
        self,
        route: Route,
        identity: IdentitySource,
        options: ConnectOptions | None = None,
    ) -> None:
        if route.via_proxy and not route.cluster_name:
            raise ValueError("a Proxy route needs the cluster name")
        self.route = route
        self.options = options or ConnectOptions()
        self._identity = identity
        self._timeout = self.options.connect_timeout
        self._web_context = self.options.web_ssl_context
        self._upgrade_ping = self.options.upgrade_ping
        self._cached: tuple[Identity, ssl.SSLContext] | None = None
        self._host, self._port = split_address(route.address)
        self._http_proxy = self.options.proxy_for(self._host, self._port)
        #: The framing of the last successful upgrade (``proxy-alpn-upgrade`` only).
        self.last_upgrade: _webapi.UpgradeFraming | None = None

    def _auth_context(self) -> ssl.SSLContext:
        identity = self._identity.current()
        cached = self._cached
        if cached is not None and cached[0] is identity:
            return cached[1]
        context = auth_ssl_context(identity, self.route.alpn_protocols)
        self._cached = (identity, context)
        return context

    def _web_ssl_context(self) -> ssl.SSLContext:
        if self._web_context is None:
            self._web_context = default_web_ssl_context()
        return self._web_context

    async def open(self) -> TLSStream:
        """A TLS stream to Auth with ``h2`` negotiated; ConnectionProblem when that fails."""
        try:
            return await self._open()
        except _DialFailure as failure:
            raise _problem(self.route, failure) from _cause_exception(failure)

    async def _open(self) -> TLSStream:
        progress: list[_Stage] = ["connect"]
        opened: list[ByteStream] = []  # the outermost layer last; closing it closes the rest
        try:
            try:
                async with asyncio.timeout(self._timeout):
                    stream = await self._open_untimed(progress, opened)
            except TimeoutError as exc:
                raise _DialFailure(progress[-1], f"timed out after {self._timeout:g} s") from exc
            negotiated = stream.selected_alpn_protocol
            if negotiated != ALPN_H2:
                raise _DialFailure("alpn", f"it negotiated ALPN {negotiated!r} instead of 'h2'")
        except BaseException:
            if opened:
                with contextlib.suppress(Exception):
                    await opened[-1].aclose()
            raise
        return stream

    async def _open_untimed(self, progress: list[_Stage], opened: list[ByteStream]) -> TLSStream:
        """Open the layers in order, noting each stage in *progress* and each layer in *opened*."""
        context = self._auth_context()
        tcp = await _tcp(self._host, self._port, self._http_proxy)
        opened.append(tcp)
        inner: ByteStream = tcp
        if self.route.kind is RouteKind.PROXY_ALPN_UPGRADE:
            progress.append("web-tls")
            web = await _tls("web-tls", tcp, self._web_ssl_context(), _sni_for(self._host))
            opened.append(web)
            progress.append("upgrade")
            try:
                inner, framing = await _webapi.upgrade(
                    web, _host_header(self._host, self._port), ping=self._upgrade_ping
                )
            except (TransportError, OSError, ssl.SSLError) as exc:
                raise _DialFailure("upgrade", exc) from exc
            opened.append(inner)
            self.last_upgrade = framing
        progress.append("auth-tls")
        stream = await _tls("auth-tls", inner, context, API_DOMAIN)
        opened.append(stream)
        return stream


def _cause_exception(failure: _DialFailure) -> BaseException | None:
    return failure.cause if isinstance(failure.cause, BaseException) else None


# --- discovery -----------------------------------------------------------------------------------


async def fetch_proxy_info(
    address: str, options: ConnectOptions | None = None
) -> _webapi.ProxyInfo:
    """``GET https://<address>/webapi/find``: the cluster name and whether TLS routing is on.

    Raises ConnectionProblem when the Proxy cannot be reached or does not answer like one.
    """
    options = options or ConnectOptions()
    host, port = split_address(address)
    context = options.web_ssl_context or default_web_ssl_context()
    connect_timeout = options.connect_timeout
    http_proxy = options.proxy_for(host, port)
    what = f"{_webapi.FIND_PATH} on the Teleport Proxy at {address} failed"
    stream: ByteStream | None = None
    try:
        async with asyncio.timeout(connect_timeout):
            stream = await _tcp(host, port, http_proxy)
            stream = await _tls("web-tls", stream, context, _sni_for(host))
            return await _webapi.find(stream, _host_header(host, port))
    except TimeoutError as exc:
        raise ConnectionProblem(
            f"{what}: timed out after {connect_timeout:g} s", address=address
        ) from exc
    except _DialFailure as failure:
        raise ConnectionProblem(
            f"{what}: {_STAGE_TEXT[failure.stage]}: {_describe_cause(failure.cause)}",
            address=address,
        ) from _cause_exception(failure)
    except (TransportError, OSError, ssl.SSLError) as exc:
        raise ConnectionProblem(f"{what}: {_describe_cause(exc)}", address=address) from exc
    finally:
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.aclose()


async def resolve_route(
    address: str,
    identity: IdentitySource,
    *,
    mode: RouteMode = "auto",
    options: ConnectOptions | None = None,
) -> Route:
    """Find a route to the Auth Service at or behind *address* by trying one connection per route.

    Each try is a complete mutual-TLS handshake with Auth, so the returned route is known to
    work. The cluster name for the Proxy routes comes from the identity (its issuer), or else
    from the Proxy's ``/webapi/find``. Logs the route chosen. Raises ConnectionProblem listing
    why each route failed, or ValueError for a malformed address.
    """
    options = options or ConnectOptions()
    _host, port = split_address(address)
    cluster = identity.current().cluster_name
    proxy_info: _webapi.ProxyInfo | None = None
    failures: list[str] = []
    for kind in route_candidates(port, mode):
        if kind is not RouteKind.AUTH and not cluster:
            try:
                proxy_info = proxy_info or await fetch_proxy_info(address, options)
            except ConnectionProblem as exc:
                failures.append(f"cannot learn the cluster name for {kind}: {exc}")
                continue
            cluster = proxy_info.cluster_name
            if not cluster:
                failures.append(
                    f"{kind}: neither the identity nor {_webapi.FIND_PATH} names the cluster"
                )
                continue
        route = Route(kind=kind, address=address, cluster_name=cluster)
        dialer = RouteDialer(route, identity, options)
        try:
            stream = await dialer._open()
        except _DialFailure as failure:
            failures.append(str(_problem(route, failure)))
            if failure.stage == "connect":
                break  # nothing listens there: the other routes use the same TCP address
            continue
        with contextlib.suppress(Exception):
            await stream.aclose()
        if kind is RouteKind.PROXY_ALPN_UPGRADE:
            route = attrs.evolve(route, upgrade=dialer.last_upgrade)
        logger.info(
            "Reaching the Teleport Auth Service by route %s",
            route.describe(),
            extra={
                "teleport_route": str(route.kind),
                "teleport_address": address,
                "teleport_cluster": route.cluster_name,
            },
        )
        return route
    hints = await _diagnose(address, cluster, proxy_info, options, failures)
    raise ConnectionProblem(
        f"cannot reach the Teleport Auth Service at or behind {address}:\n  - "
        + "\n  - ".join(failures + hints),
        address=address,
    )


async def _diagnose(
    address: str,
    cluster: str,
    proxy_info: _webapi.ProxyInfo | None,
    options: ConnectOptions,
    failures: list[str],
) -> list[str]:
    """Ask ``/webapi/find`` why the Proxy routes failed, when the address looks like a Proxy."""
    if any(failure.startswith("cannot connect") for failure in failures):
        return []
    if proxy_info is None:
        try:
            proxy_info = await fetch_proxy_info(address, options)
        except ConnectionProblem:
            return []
    hints: list[str] = []
    if cluster and proxy_info.cluster_name and proxy_info.cluster_name != cluster:
        hints.append(
            f"the Proxy serves cluster {proxy_info.cluster_name!r}, but the identity was "
            f"issued by cluster {cluster!r}"
        )
    if not proxy_info.tls_routing_enabled:
        hints.append(
            "the Proxy reports TLS routing disabled (proxy_listener_mode: separate); point "
            "addr at the Auth Service (port 3025) or enable TLS routing"
        )
    return hints
