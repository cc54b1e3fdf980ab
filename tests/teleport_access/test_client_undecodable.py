"""A message the client cannot decode is an APIError, not an AttributeError from None.

grpc.aio logs "Exception deserializing message!" and hands over None for a message its
deserializer rejects (found by tests/fuzz/test_teleport_events.py); the client must turn that
into its own error, so the watcher reconnects instead of crashing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from teleport_access import APIError, AuthClient, WatchInit
from teleport_access._convert import server_info_to_proto
from teleport_access._models import ServerInfo
from teleport_access._proto import event_pb2
from teleport_access.testing import TestCertificateAuthority

GARBAGE = b"\xff\xff\xff\xff"


@pytest.fixture
async def garbling_server() -> AsyncIterator[tuple[str, TestCertificateAuthority]]:
    """A mutual-TLS Auth Service that answers Ping properly and GetRole / WatchEvents with bytes
    that are no protobuf message."""
    ca = TestCertificateAuthority("garble.example.com")

    async def ping(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        info = ServerInfo(cluster_name="garble.example.com", server_version="17.0.0")
        return server_info_to_proto(info).SerializeToString()

    async def get_role(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return GARBAGE

    async def watch(
        request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> AsyncIterator[bytes]:
        yield event_pb2.Event(Type=event_pb2.INIT).SerializeToString()
        yield GARBAGE

    handlers: dict[str, Any] = {
        "Ping": grpc.unary_unary_rpc_method_handler(ping),
        "GetRole": grpc.unary_unary_rpc_method_handler(get_role),
        "WatchEvents": grpc.unary_stream_rpc_method_handler(watch),
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("proto.AuthService", handlers),)
    )
    key_pem, cert_pem = ca.issue_server_credentials()
    credentials = grpc.ssl_server_credentials(
        [(key_pem, cert_pem)], root_certificates=ca.user_ca_pem, require_client_auth=True
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        yield f"127.0.0.1:{port}", ca
    finally:
        await server.stop(None)


async def test_an_undecodable_unary_answer_is_an_api_error(
    garbling_server: tuple[str, TestCertificateAuthority],
) -> None:
    address, ca = garbling_server
    async with AuthClient(address, ca.issue_identity("plugin"), route="auth") as client:
        with pytest.raises(APIError, match="GetRole: the Auth Service sent a message that does"):
            await client.get_role("editor")


async def test_an_undecodable_stream_message_ends_the_watch_with_an_api_error(
    garbling_server: tuple[str, TestCertificateAuthority],
) -> None:
    address, ca = garbling_server
    received: list[object] = []

    async def consume(client: AuthClient) -> None:
        async for message in client.watch():
            received.append(message)

    async with AuthClient(address, ca.issue_identity("plugin"), route="auth") as client:
        with pytest.raises(APIError) as caught:
            await consume(client)
    assert received == [WatchInit()]
    assert caught.value.code == "INTERNAL"
    assert caught.value.method == "WatchEvents"
