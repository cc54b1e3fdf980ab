"""Stand-ins for the Auth Service behind a fake Proxy, for the Proxy-route tests.

`EchoAuthServer` is a grpc.aio server with the Auth Service's TLS setup: a host certificate for
``teleport.cluster.local`` from the cluster's host CA, and mutual TLS that accepts only client
certificates of the cluster's user CA. Its methods (raw bytes, no protobuf) echo what they get
and say which client certificate the server saw, so a test can prove TLS ran end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc

from teleport_access.testing._pki import TestCertificateAuthority

UNARY = "/test.Echo/Unary"
WHO_AM_I = "/test.Echo/WhoAmI"
SERVER_STREAM = "/test.Echo/Count"
BIDI_STREAM = "/test.Echo/Chat"


def _identity(value: bytes) -> bytes:
    return value


def _client_name(context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    names = context.auth_context().get("x509_common_name") or [b""]
    return bytes(names[0])


class EchoAuthServer:
    """A mutual-TLS gRPC server on 127.0.0.1 standing in for the Auth Service."""

    def __init__(self, ca: TestCertificateAuthority) -> None:
        self._ca = ca
        self._server: grpc.aio.Server | None = None
        self.port = 0
        self.callers: list[bytes] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        key_pem, cert_pem = self._ca.issue_server_credentials()
        server = grpc.aio.server()
        handlers = {
            "Unary": grpc.unary_unary_rpc_method_handler(self._unary, _identity, _identity),
            "WhoAmI": grpc.unary_unary_rpc_method_handler(self._who, _identity, _identity),
            "Count": grpc.unary_stream_rpc_method_handler(self._count, _identity, _identity),
            "Chat": grpc.stream_stream_rpc_method_handler(self._chat, _identity, _identity),
        }
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("test.Echo", handlers),)
        )
        credentials = grpc.ssl_server_credentials(
            [(key_pem, cert_pem)], root_certificates=self._ca.user_ca_pem, require_client_auth=True
        )
        self.port = server.add_secure_port("127.0.0.1:0", credentials)
        await server.start()
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(None)
            self._server = None

    async def _unary(
        self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> bytes:
        self.callers.append(_client_name(context))
        return request

    async def _who(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return _client_name(context)

    async def _count(
        self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> AsyncIterator[bytes]:
        for number in range(int(request)):
            yield str(number).encode()

    async def _chat(
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> AsyncIterator[bytes]:
        async for message in requests:
            yield message.upper()


@contextlib.asynccontextmanager
async def echo_auth_server(ca: TestCertificateAuthority) -> AsyncIterator[EchoAuthServer]:
    server = EchoAuthServer(ca)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def silent_listener() -> AsyncIterator[str]:
    """A TCP listener on 127.0.0.1 that accepts connections and never answers (a black hole)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()


def closed_port_address() -> str:
    """An address on 127.0.0.1 where nothing listens (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"
