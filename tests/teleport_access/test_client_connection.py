"""AuthClient transport: TLS trust, unreachable servers, timeouts, identity rotation."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teleport_access._client import AuthClient
from teleport_access._credentials import Identity, RefreshingIdentityFile
from teleport_access._exceptions import AccessDenied, ConnectionProblem
from teleport_access._models import AccessRequestPut, RequestState, WatchInit
from teleport_access.testing import FakeAuthServer, TestCertificateAuthority


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unavailable_is_a_connection_problem_naming_the_address(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.fail_next("Ping", message="auth restarting")
    with pytest.raises(ConnectionProblem, match="auth restarting") as caught:
        await auth_client.ping()
    assert caught.value.address == fake_auth.address
    assert fake_auth.address in str(caught.value)
    assert (await auth_client.ping()).cluster_name  # only the next call failed


async def test_an_address_nobody_listens_on_is_a_connection_problem(
    plugin_identity: Identity,
) -> None:
    address = f"127.0.0.1:{_free_port()}"
    async with AuthClient(address, plugin_identity, call_timeout=5.0) as client:
        with pytest.raises(ConnectionProblem) as caught:
            await client.ping()
    assert caught.value.address == address


async def test_a_server_from_another_cluster_is_not_trusted(fake_auth: FakeAuthServer) -> None:
    stranger = TestCertificateAuthority("other.example.com").issue_identity("access-plugin")
    async with AuthClient(fake_auth.address, stranger, call_timeout=5.0) as client:
        with pytest.raises(ConnectionProblem):
            await client.ping()
    assert fake_auth.calls == []  # the TLS handshake failed before any RPC


async def test_a_server_that_does_not_answer_in_time_is_a_connection_problem(
    fake_auth: FakeAuthServer, plugin_identity: Identity
) -> None:
    fake_auth.delay("Ping", 2.0)
    async with AuthClient(fake_auth.address, plugin_identity, call_timeout=0.2) as client:
        with pytest.raises(ConnectionProblem, match="did not answer in time"):
            await client.ping()


async def test_a_closed_client_refuses_new_calls(auth_client: AuthClient) -> None:
    await auth_client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await auth_client.ping()


def test_an_address_without_a_port_gets_teleports_auth_port(plugin_identity: Identity) -> None:
    assert AuthClient("auth.example.com", plugin_identity).address == "auth.example.com:3025"
    assert AuthClient("[::1]", plugin_identity).address == "[::1]:3025"
    assert AuthClient("[::1]:4000", plugin_identity).address == "[::1]:4000"
    with pytest.raises(ValueError, match="without a URL scheme"):
        AuthClient("https://auth.example.com", plugin_identity)


def test_a_path_instead_of_an_identity_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="load_identity_file"):
        AuthClient("auth.example.com:3025", tmp_path / "identity")  # type: ignore[arg-type]


# --- identity rotation --------------------------------------------------------------------------


async def test_new_calls_use_a_rewritten_identity_file_without_a_restart(
    fake_auth: FakeAuthServer, tmp_path: Path
) -> None:
    path = fake_auth.write_identity_file(tmp_path / "identity", "plugin-old")
    source = RefreshingIdentityFile(path, interval=timedelta(0))
    async with AuthClient(fake_auth.address, source) as client:
        await client.ping()
        # The old user is locked out (a revoked bot); tbot writes a fresh identity.
        fake_auth.lock_user("plugin-old", "revoked")
        with pytest.raises(AccessDenied, match="revoked"):
            await client.ping()
        fake_auth.write_identity_file(path, "plugin-new")
        await client.ping()
    assert [c.caller for c in fake_auth.calls_to("Ping")] == [
        "plugin-old",
        "plugin-old",
        "plugin-new",
    ]


async def test_a_rotation_does_not_cut_a_running_watch_stream(
    fake_auth: FakeAuthServer, tmp_path: Path
) -> None:
    path = fake_auth.write_identity_file(tmp_path / "identity", "plugin-old")
    source = RefreshingIdentityFile(path, interval=timedelta(0))
    async with AuthClient(fake_auth.address, source) as client:
        stream = client.watch()
        async with contextlib.aclosing(stream):
            assert isinstance(await anext(stream), WatchInit)
            fake_auth.write_identity_file(path, "plugin-new")
            await client.ping()  # opens the new generation's channel
            request = fake_auth.create_request("alice", ["admin"])
            put = await asyncio.wait_for(anext(stream), timeout=5)
            assert put == AccessRequestPut(request=request)
            after = await client.submit_review(request.id, proposed_state=RequestState.APPROVED)
            assert after.reviews[0].author == "plugin-new"
        assert client._pool._retired == set()  # the old channel was closed with its last stream
    assert fake_auth.calls_to("WatchEvents")[0].caller == "plugin-old"


async def test_a_source_with_a_new_generation_gets_a_new_channel(
    fake_auth: FakeAuthServer,
) -> None:
    class Rotating:
        def __init__(self, identity: Identity) -> None:
            self.identity = identity
            self.generation = 0

        def current(self) -> Identity:
            return self.identity

    source = Rotating(fake_auth.issue_identity("first"))
    async with AuthClient(fake_auth.address, source) as client:
        await client.ping()
        source.identity = fake_auth.issue_identity("second")
        await client.ping()  # same generation: the old channel (and user) stays
        source.generation = 1
        await client.ping()
    assert [c.caller for c in fake_auth.calls_to("Ping")] == ["first", "first", "second"]


async def test_an_expired_client_certificate_is_refused_at_the_handshake(
    fake_auth: FakeAuthServer,
) -> None:
    expired = fake_auth.issue_identity(
        "access-plugin", not_before=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(hours=1)
    )
    async with AuthClient(fake_auth.address, expired, call_timeout=5.0) as client:
        with pytest.raises(ConnectionProblem):
            await client.ping()
    assert fake_auth.calls == []
