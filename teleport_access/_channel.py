"""gRPC channels to the Auth Service, rebuilt when the identity rotates.

One `grpc.aio` secure channel per identity *generation*: mutual TLS with the identity's
certificate and key, only the identity's CA certificates as trust roots (no system roots), and
TLS server name `teleport.cluster.local`, the name every Teleport Auth/Proxy certificate carries.

When the `IdentitySource` reports a new generation (tbot renewed the identity file), the next
call gets a channel built from the new identity; the old channel is closed once the calls and
streams still using it have finished, so a long-lived watch stream is never cut by a rotation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import grpc
import grpc.aio

from teleport_access._credentials import Identity, IdentitySource
from teleport_access._proto.access_monitoring_rules_service_pb2_grpc import (
    AccessMonitoringRulesServiceStub,
)
from teleport_access._proto.authservice_pb2_grpc import AuthServiceStub
from teleport_access._proto.users_service_pb2_grpc import UsersServiceStub
from teleport_access._version import __version__

if TYPE_CHECKING:  # the async stub classes exist only in the .pyi files
    from teleport_access._proto.access_monitoring_rules_service_pb2_grpc import (
        AccessMonitoringRulesServiceAsyncStub,
    )
    from teleport_access._proto.authservice_pb2_grpc import AuthServiceAsyncStub
    from teleport_access._proto.users_service_pb2_grpc import UsersServiceAsyncStub

__all__ = ["DEFAULT_SERVER_NAME", "ChannelPool", "Lease", "Stubs", "channel_credentials"]

#: Constants.APIDomain: the DNS name on every Teleport host certificate.
DEFAULT_SERVER_NAME = "teleport.cluster.local"
#: Teleport's Auth Service listens here by default.
DEFAULT_AUTH_PORT = 3025


def channel_credentials(identity: Identity) -> grpc.ChannelCredentials:
    """Mutual-TLS credentials trusting only the identity's CAs."""
    return grpc.ssl_channel_credentials(
        root_certificates=b"".join(_with_newline(pem) for pem in identity.ca_pems),
        private_key=identity.private_key_pem,
        certificate_chain=identity.certificate_pem,
    )


def _with_newline(pem: bytes) -> bytes:
    return pem if pem.endswith(b"\n") else pem + b"\n"


@attrs.frozen
class Stubs:
    """The gRPC services of one channel: the Auth Service and the newer per-resource ones."""

    auth: AuthServiceAsyncStub
    rules: AccessMonitoringRulesServiceAsyncStub
    users: UsersServiceAsyncStub

    @classmethod
    def on(cls, channel: grpc.aio.Channel) -> Stubs:
        return cls(
            auth=AuthServiceStub(channel),
            rules=AccessMonitoringRulesServiceStub(channel),
            users=UsersServiceStub(channel),
        )


@attrs.define(eq=False)
class _Entry:
    generation: int
    channel: grpc.aio.Channel
    stubs: Stubs
    active: int = 0
    retired: bool = False


@attrs.frozen
class Lease:
    """A channel and its stubs, valid until released."""

    channel: grpc.aio.Channel
    stubs: Stubs
    generation: int
    entry: _Entry = attrs.field(repr=False)

    @property
    def stub(self) -> AuthServiceAsyncStub:
        """The Auth Service stub (`proto.AuthService`)."""
        return self.stubs.auth


class ChannelPool:
    """Hands out the channel for the current identity and retires the old ones."""

    def __init__(
        self,
        address: str,
        source: IdentitySource,
        *,
        server_name: str = DEFAULT_SERVER_NAME,
        keepalive_interval: float | None = 300.0,
        max_receive_message_length: int = 64 * 1024 * 1024,
        extra_options: Sequence[tuple[str, Any]] = (),
        insecure_target: str | None = None,
    ) -> None:
        self.address = address
        self._source = source
        #: Set for the Proxy routes: the local tunnel (`_tunnel.AuthTunnel`) does the mutual TLS
        #: with our own ALPN list, so the channel speaks plaintext HTTP/2 to its Unix socket.
        self._insecure_target = insecure_target
        options: list[tuple[str, Any]] = [
            ("grpc.ssl_target_name_override", server_name),
            ("grpc.primary_user_agent", f"tpd-teleport-access/{__version__}"),
            ("grpc.max_receive_message_length", max_receive_message_length),
            # Like the Go client: reconnect attempts back off to at most 2 s.
            ("grpc.max_reconnect_backoff_ms", 2000),
        ]
        if keepalive_interval is not None:
            # Teleport's server rejects pings more frequent than its keep-alive period (5 min).
            options += [
                ("grpc.keepalive_time_ms", int(keepalive_interval * 1000)),
                ("grpc.keepalive_timeout_ms", 20_000),
                ("grpc.keepalive_permit_without_calls", 1),
            ]
        self._options = (*options, *extra_options)
        self._current: _Entry | None = None
        self._retired: set[_Entry] = set()
        self._closed = False
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def closed(self) -> bool:
        return self._closed

    def _build(self, identity: Identity, generation: int) -> _Entry:
        if self._insecure_target is not None:
            # Still one channel per identity generation: its new connection makes the tunnel
            # dial Auth again, with the renewed certificate.
            channel = grpc.aio.insecure_channel(self._insecure_target, options=self._options)
        else:
            channel = grpc.aio.secure_channel(
                self.address, channel_credentials(identity), options=self._options
            )
        return _Entry(generation=generation, channel=channel, stubs=Stubs.on(channel))

    def _entry(self) -> _Entry:
        # current() first: a refreshing source re-reads its file there and may bump generation.
        identity = self._source.current()
        generation = self._source.generation
        current = self._current
        if current is not None and current.generation == generation:
            return current
        fresh = self._build(identity, generation)
        self._current = fresh
        if current is not None:
            current.retired = True
            if current.active == 0:
                self._close_soon(current)
            else:
                self._retired.add(current)
        return fresh

    def _close_soon(self, entry: _Entry) -> None:
        task = asyncio.get_running_loop().create_task(entry.channel.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def acquire(self) -> Lease:
        """The channel to use for one call or stream; `release` it when the call has finished.

        (A plain pair of methods rather than only a context manager, so that async generators,
        which may be finalized in any order at interpreter shutdown, can hold a lease.)
        """
        if self._closed:
            raise RuntimeError("the client is closed")
        entry = self._entry()
        entry.active += 1
        return Lease(
            channel=entry.channel, stubs=entry.stubs, generation=entry.generation, entry=entry
        )

    async def release(self, lease: Lease) -> None:
        entry = lease.entry
        entry.active -= 1
        if entry.retired and entry.active == 0 and entry in self._retired:
            self._retired.discard(entry)
            await entry.channel.close()

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Lease]:
        """`acquire` / `release` around a block."""
        lease = self.acquire()
        try:
            yield lease
        finally:
            await self.release(lease)

    async def close(self, grace: float | None = None) -> None:
        """Close every channel; calls still running are cancelled after `grace` seconds."""
        if self._closed:
            return
        self._closed = True
        entries = list(self._retired)
        if self._current is not None:
            entries.append(self._current)
        self._retired.clear()
        self._current = None
        for entry in entries:
            await entry.channel.close(grace)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
