"""The fake Auth Service as a product: faults, recording, expiry, threads, its own process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teleport_access._client import AuthClient
from teleport_access._credentials import load_identity_file
from teleport_access._exceptions import AccessDenied, APIError, BadParameter, NotFound
from teleport_access._models import (
    AccessRequestDelete,
    AccessRequestPut,
    RequestState,
    Role,
    WatchInit,
)
from teleport_access._sync import SyncAuthClient
from teleport_access.testing import FakeAuthServer
from teleport_access.testing.__main__ import SeedError, load_seed

ROOT = Path(__file__).resolve().parents[2]

# --- faults -------------------------------------------------------------------------------------


async def test_fail_next_fails_exactly_n_calls_with_the_given_code(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.fail_next("GetRole", 2, code="INTERNAL", message="boom")
    for _ in range(2):
        with pytest.raises(APIError, match="boom") as caught:
            await auth_client.get_role("x")
        assert caught.value.code == "INTERNAL"
    with pytest.raises(NotFound):
        await auth_client.get_role("x")
    assert [c.code for c in fake_auth.calls_to("GetRole")] == ["INTERNAL", "INTERNAL", "NOT_FOUND"]


def test_fault_switches_refuse_unknown_method_names() -> None:
    fake = FakeAuthServer()
    with pytest.raises(ValueError, match="unknown method 'Pong'"):
        fake.fail_next("Pong")
    with pytest.raises(ValueError, match="unknown gRPC status code"):
        fake.fail_next("Ping", code="NOPE")


async def test_a_delay_applies_to_every_method_when_none_is_named(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.delay(None, 0.2)
    started = time.monotonic()
    await auth_client.ping()
    assert time.monotonic() - started >= 0.2
    fake_auth.delay(None, 0)
    assert fake_auth.calls_to("Ping")[0].code == "OK"


async def test_an_unimplemented_method_can_be_switched_back_on(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.add_role(Role(name="editor"))
    fake_auth.set_unimplemented("GetRole")
    with pytest.raises(APIError, match="unknown method GetRole") as caught:
        await auth_client.get_role("editor")
    assert caught.value.code == "UNIMPLEMENTED"
    fake_auth.set_unimplemented("GetRole", False)
    assert (await auth_client.get_role("editor")).name == "editor"


async def test_a_locked_user_is_refused_until_unlocked(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.lock_user("access-plugin", "compromised")
    with pytest.raises(AccessDenied, match=r'lock targeting User:"access-plugin".*compromised'):
        await auth_client.ping()
    fake_auth.clear_faults()
    await auth_client.ping()


async def test_watching_an_unsupported_kind_is_a_bad_parameter(auth_client: AuthClient) -> None:
    stream = auth_client.watch(("access_request", "node"))
    async with contextlib.aclosing(stream):
        with pytest.raises(BadParameter, match="'node' is not supported"):
            await anext(stream)


# --- observation --------------------------------------------------------------------------------


async def test_calls_are_recorded_with_the_caller_the_request_and_the_outcome(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    await auth_client.submit_review(request.id, proposed_state=RequestState.APPROVED)
    with pytest.raises(AccessDenied):
        await auth_client.submit_review(request.id, proposed_state=RequestState.APPROVED)
    first, second = fake_auth.calls_to("SubmitAccessReview")
    assert (first.caller, first.code, second.code) == ("access-plugin", "OK", "PERMISSION_DENIED")
    assert first.request.RequestID == request.id  # type: ignore[attr-defined]


async def test_waiting_helpers_time_out_with_a_message_naming_what_was_awaited(
    fake_auth: FakeAuthServer,
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    with pytest.raises(TimeoutError, match=f"request {request.id} to be APPROVED"):
        await fake_auth.wait_for_state(request.id, RequestState.APPROVED, timeout=0.05)


async def test_waiting_helpers_return_what_they_waited_for(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])

    async def plugin() -> None:
        await auth_client.update_plugin_data(request.id, "pd", set={"k": "v"}, expect=None)
        await auth_client.submit_review(request.id, proposed_state=RequestState.DENIED)

    task = asyncio.create_task(plugin())
    assert await fake_auth.wait_for_plugin_data(request.id, "pd") == {"k": "v"}
    review = await fake_auth.wait_for_review(request.id, "access-plugin")
    assert review.proposed_state is RequestState.DENIED
    assert (await fake_auth.wait_for_call("SubmitAccessReview")).caller == "access-plugin"
    await task


# --- expiry on the injected clock ---------------------------------------------------------------


async def test_requests_expire_when_the_injected_clock_passes_their_expiry() -> None:
    now = [datetime(2025, 1, 1, tzinfo=UTC)]
    async with FakeAuthServer(clock=lambda: now[0], expiry_interval=0.01) as fake:
        identity = fake.issue_identity("access-plugin")
        request = fake.create_request(
            "alice", ["admin"], resource_expires=now[0] + timedelta(minutes=10)
        )
        async with AuthClient(fake.address, identity) as client:
            stream = client.watch()
            async with contextlib.aclosing(stream):
                assert isinstance(await anext(stream), WatchInit)
                now[0] += timedelta(minutes=10)
                deleted = await asyncio.wait_for(anext(stream), timeout=5)
                assert deleted == AccessRequestDelete(request_id=request.id)


# --- serving synchronous code from a thread -----------------------------------------------------


def test_run_in_thread_serves_the_synchronous_client() -> None:
    with FakeAuthServer().run_in_thread() as fake:
        identity = fake.issue_identity("access-plugin")
        with SyncAuthClient(fake.address, identity) as client:
            assert client.ping().cluster_name == fake.cluster_name
            stream = client.watch()
            assert isinstance(next(stream), WatchInit)
            request = fake.create_request("alice", ["admin"])
            assert next(stream) == AccessRequestPut(request=request)
            stream.close()
            assert [r.id for r in client.list_access_requests()] == [request.id]
            result = client.modify_plugin_data(request.id, "pd", lambda d: {"k": "v"})
            assert result.written
            after = client.submit_review(request.id, proposed_state=RequestState.APPROVED)
            assert after.state is RequestState.APPROVED
            with pytest.raises(AccessDenied):
                client.submit_review(request.id, proposed_state=RequestState.APPROVED)
        with pytest.raises(RuntimeError, match="closed"):
            client.ping()


# --- its own process ----------------------------------------------------------------------------


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    seed = {
        "roles": [
            {
                "name": "requester",
                "allow": {
                    "request": {
                        "roles": ["admin"],
                        "annotations": {"pagerduty_notify_service": ["Ops"]},
                        "thresholds": [{"approve": 1, "deny": 1}],
                    }
                },
            }
        ],
        "users": [{"name": "alice@example.com", "roles": ["requester"]}],
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    return path


async def test_the_fake_runs_as_its_own_process_and_stops_cleanly_on_sigterm(
    tmp_path: Path, seed_file: Path
) -> None:
    identities = tmp_path / "ids"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "teleport_access.testing",
        "--identity-dir",
        str(identities),
        "--user",
        "access-plugin:access-plugin",
        "--admin",
        "tester",
        "--tls-files",
        "--seed",
        str(seed_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        ready = json.loads(line)
        assert ready["address"].startswith("127.0.0.1:")
        assert sorted(ready["identities"]) == ["access-plugin", "tester"]
        assert os.stat(ready["identities"]["access-plugin"]).st_mode & 0o777 == 0o600
        assert (identities / "tester.tls" / "identity.crt").is_file()
        admin = load_identity_file(ready["identities"]["tester"])
        async with AuthClient(ready["address"], admin) as client:
            request = await client.create_access_request("alice@example.com", ["admin"])
            assert request.system_annotations == {"pagerduty_notify_service": ("Ops",)}
        plugin = load_identity_file(ready["identities"]["access-plugin"])
        async with AuthClient(ready["address"], plugin) as client:
            after = await client.submit_review(request.id, proposed_state=RequestState.APPROVED)
            assert after.state is RequestState.APPROVED
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_a_broken_seed_file_is_reported_with_its_entry(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"roles": [{"allow": {}}]}))
    with pytest.raises(SeedError, match=r"seed.json: roles\[0\] is not a valid role"):
        load_seed(path)
    path.write_text("{not json")
    with pytest.raises(SeedError, match="cannot read seed file"):
        load_seed(path)
