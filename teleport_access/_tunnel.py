"""A private local endpoint through which grpc.aio reaches the Auth Service along a Proxy route.

grpcio cannot put our own values in the TLS ALPN list, which TLS routing needs. So gRPC does not
do the TLS: it speaks plaintext HTTP/2 to a Unix domain socket of this process, and for every
connection accepted there the tunnel opens its own mutual-TLS connection to Auth along the
route (`RouteDialer`) and copies bytes both ways. TLS, and with it authentication, stays end to
end between this process and the Auth Service; the Proxy (or load balancer) in between sees
only ciphertext.

Why no other local user can use the authenticated tunnel: the socket lives in a directory that
`tempfile.mkdtemp` creates with mode 0700, owned by this process's user. Connecting to a Unix
socket needs search permission on every directory of its path, so other users (root aside) get
EACCES before they reach the socket; the socket itself is also 0600, and on Linux the peer's uid
is checked (SO_PEERCRED) on every connection. The directory and socket are removed on close.

When a connection to Auth cannot be opened, the local connection is closed at once, so gRPC
fails the call with UNAVAILABLE rather than waiting, and `last_error` holds a ConnectionProblem
naming the address and the reason, for the client to raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import ssl
import struct
import tempfile

import attrs

from teleport_access._alpn import API_DOMAIN
from teleport_access._credentials import IdentitySource
from teleport_access._exceptions import ConnectionProblem
from teleport_access._route import ConnectOptions, Route, RouteDialer
from teleport_access._streams import (
    READ_SIZE,
    ByteStream,
    SocketStream,
    TransportError,
    close_server,
)

__all__ = ["AuthTunnel", "TunnelStats"]

logger = logging.getLogger(__name__)

# sockaddr_un.sun_path is 108 bytes on Linux, 104 on macOS; stay under both.
_MAX_SOCKET_PATH = 100
_SOCKET_NAME = "auth.sock"


@attrs.frozen(kw_only=True)
class TunnelStats:
    """Counters since the tunnel started."""

    connections_opened: int
    connections_failed: int
    connections_active: int
    bytes_to_auth: int
    bytes_from_auth: int


class AuthTunnel:
    """Serves gRPC's connections on a private Unix socket and carries each to the Auth Service.

    Usage (the client owns one per channel)::

        route = await resolve_route("proxy.example.com:443", identity_source)
        async with AuthTunnel(route, identity_source) as tunnel:
            channel = grpc.aio.insecure_channel(tunnel.grpc_target, options=tunnel.grpc_options)

    The identity is read from *identity* for every new connection, so a refreshed identity
    file takes effect from the next connection on.
    """

    def __init__(
        self,
        route: Route,
        identity: IdentitySource,
        options: ConnectOptions | None = None,
    ) -> None:
        self.route = route
        self._dialer = RouteDialer(route, identity, options)
        self._directory: str | None = None
        self._socket_path: str | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_error: ConnectionProblem | None = None
        self._opened = 0
        self._failed = 0
        self._to_auth = 0
        self._from_auth = 0

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the private directory and start listening. Idempotent."""
        if self._server is not None:
            return
        directory = tempfile.mkdtemp(prefix="tpd-auth-")
        path = os.path.join(directory, _SOCKET_NAME)
        if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
            # A long $TMPDIR: fall back to /tmp, still in a private 0700 directory.
            os.rmdir(directory)
            directory = tempfile.mkdtemp(prefix="tpd-auth-", dir="/tmp")
            path = os.path.join(directory, _SOCKET_NAME)
        os.chmod(directory, 0o700)  # mkdtemp already does; say so explicitly for the reader
        try:
            self._server = await asyncio.start_unix_server(self._accept, path=path)
            os.chmod(path, 0o600)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        self._directory, self._socket_path = directory, path
        logger.debug(
            "Auth tunnel listening on %s for route %s",
            path,
            self.route.describe(),
            extra={"teleport_route": str(self.route.kind), "teleport_address": self.route.address},
        )

    async def aclose(self) -> None:
        """Stop listening, end every carried connection, remove the directory. Idempotent."""
        server, self._server = self._server, None
        await close_server(server, self._tasks)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    async def __aenter__(self) -> AuthTunnel:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- what a gRPC channel needs ---------------------------------------------------------------

    @property
    def socket_path(self) -> str:
        if self._socket_path is None:
            raise RuntimeError("the tunnel is not started")
        return self._socket_path

    @property
    def grpc_target(self) -> str:
        """The target for ``grpc.aio.insecure_channel``: ``unix:/…/auth.sock``."""
        return f"unix:{self.socket_path}"

    @property
    def grpc_options(self) -> tuple[tuple[str, str], ...]:
        """Channel options: the HTTP/2 authority Auth expects instead of the socket path."""
        return (("grpc.default_authority", API_DOMAIN),)

    @property
    def last_error(self) -> ConnectionProblem | None:
        """Why the latest connection to Auth could not be opened; None after one succeeds."""
        return self._last_error

    @property
    def stats(self) -> TunnelStats:
        return TunnelStats(
            connections_opened=self._opened,
            connections_failed=self._failed,
            connections_active=len(self._tasks),
            bytes_to_auth=self._to_auth,
            bytes_from_auth=self._from_auth,
        )

    # --- carrying connections --------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        local = SocketStream(reader, writer)
        try:
            if not _peer_is_us(writer):
                logger.warning("Auth tunnel refused a local connection from another user")
                return
            try:
                upstream = await self._dialer.open()
            except ConnectionProblem as exc:
                self._failed += 1
                # gRPC retries every couple of seconds during an outage: warn when the trouble
                # starts or changes, not on every retry.
                repeated = self._last_error is not None and str(self._last_error) == str(exc)
                self._last_error = exc
                logger.log(
                    logging.DEBUG if repeated else logging.WARNING,
                    "Cannot open a connection to the Teleport Auth Service: %s",
                    exc,
                    extra={
                        "teleport_route": str(self.route.kind),
                        "teleport_address": self.route.address,
                    },
                )
                return
            self._opened += 1
            if self._last_error is not None:
                logger.info(
                    "Connected to the Teleport Auth Service again (route %s)",
                    self.route.describe(),
                    extra={
                        "teleport_route": str(self.route.kind),
                        "teleport_address": self.route.address,
                    },
                )
            self._last_error = None
            await self._pipe(local, upstream)
        except asyncio.CancelledError:
            # Cancelled by aclose(). End normally: asyncio 3.11's connection callback calls
            # task.exception(), which would raise on a cancelled task.
            pass
        finally:
            with contextlib.suppress(Exception):
                await local.aclose()
            self._tasks.discard(task)

    async def _pipe(self, local: ByteStream, upstream: ByteStream) -> None:
        """Copy both ways until either side ends; HTTP/2 has no half-close, so then end both."""

        async def copy(source: ByteStream, target: ByteStream, to_auth: bool) -> None:
            while True:
                chunk = await source.read(READ_SIZE)
                if not chunk:
                    return
                await target.write(chunk)
                if to_auth:
                    self._to_auth += len(chunk)
                else:
                    self._from_auth += len(chunk)

        directions = {
            asyncio.create_task(copy(local, upstream, True)),
            asyncio.create_task(copy(upstream, local, False)),
        }
        try:
            done, _pending = await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if error is not None and not isinstance(
                    error, OSError | ssl.SSLError | TransportError
                ):
                    raise error
                if error is not None:
                    logger.debug("Auth tunnel connection ended: %s", error)
        finally:
            for task in directions:
                task.cancel()
            await asyncio.gather(*directions, return_exceptions=True)
            with contextlib.suppress(Exception):
                await upstream.aclose()


def _peer_is_us(writer: asyncio.StreamWriter) -> bool:
    """On Linux, whether the connecting process runs as our user (elsewhere: the 0700 dir rules)."""
    peercred = getattr(socket, "SO_PEERCRED", None)
    sock = writer.get_extra_info("socket")
    if peercred is None or sock is None:
        return True
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, peercred, struct.calcsize("3i"))
    except OSError:
        return True
    _pid, uid, _gid = struct.unpack("3i", raw)
    return bool(uid == os.getuid())
