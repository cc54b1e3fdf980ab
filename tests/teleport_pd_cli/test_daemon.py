"""The daemon in-process, against the fake Auth Service (mutual TLS) and the fake PagerDuty's
loopback HTTP server: start-up, readiness, catch-up and sweep, re-attempts, observability, stop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import attrs
import pytest

from pagerduty_client.testing import FakePagerDuty
from teleport_access import RequestState
from teleport_access.testing import FakeAuthServer
from teleport_pd_cli.config import Config, parse_config
from teleport_pd_cli.daemon import Daemon, StartupAborted, StartupError
from teleport_pd_cli.daemon.events import (
    ApprovalOutcome,
    CallAttempt,
    DaemonEvent,
    EventHandled,
    IncidentCreated,
    RetryScheduled,
    WatcherConnected,
)
from teleport_pd_cli.policy import incident_key
from teleport_pd_cli.policy.plugindata import PLUGIN_NAME, PagerDutyData, encode
from tests.e2e.world import (
    API_KEY,
    BOT_EMAIL,
    NOTIFY_SERVICE,
    PLUGIN_USER,
    REQUESTER_OSS,
    PagerDutyWorld,
    seed_pagerduty,
    seed_teleport,
)

TIMEOUT = 20.0


@attrs.define
class Setup:
    auth: FakeAuthServer
    pagerduty: PagerDutyWorld
    identity: Path

    def config(
        self, *, address: str | None = None, api_key: str = API_KEY, extra: str = ""
    ) -> Config:
        text = (
            f'[teleport]\naddr = "{address or self.auth.address}"\n'
            f'identity = "{self.identity}"\n'
            f'[pagerduty]\napi_key = "{api_key}"\nuser_email = "{BOT_EMAIL}"\n'
            f'api_endpoint = "{self.pagerduty.url}"\n{extra}'
        )
        config, _ = parse_config(text)
        return config


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    fake = FakePagerDuty(strict=True, api_key=API_KEY)
    services, policies = seed_pagerduty(fake)
    async with FakeAuthServer() as auth, fake.serve() as url:
        seed_teleport(auth)
        identity = auth.write_identity_file(
            tmp_path / "identity", PLUGIN_USER, roles=["access-plugin", "auto-approval-plugin"]
        )
        yield Setup(auth, PagerDutyWorld(fake, url, services, policies), identity)


def count(seen: list[DaemonEvent], kind: type[object], **fields: object) -> int:
    """How many of the `seen` events are a `kind` with these field values."""
    return sum(
        isinstance(event, kind) and all(getattr(event, k) == v for k, v in fields.items())
        for event in seen
    )


@pytest.fixture
async def daemons() -> AsyncIterator[Callable[..., Daemon]]:
    """Makes daemons and stops each at teardown."""
    made: list[Daemon] = []

    def make(config: Config, **kwargs: object) -> Daemon:
        daemon = Daemon(config, **kwargs)  # type: ignore[arg-type]
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        await daemon.stop(grace=1.0)


async def test_start_returns_ready_with_the_cluster_and_the_plugin_user(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    daemon = daemons(setup.config())
    seen: list[DaemonEvent] = []
    daemon.subscribe(seen.append)

    await daemon.start()

    assert daemon.ready.is_set()
    assert daemon.server_info is not None
    assert daemon.server_info.cluster_name == setup.auth.cluster_name
    assert daemon.plugin_user == PLUGIN_USER
    assert str(daemon.health.readiness()) == "ready"
    assert (daemon.health.watch_connected, daemon.health.pagerduty_reachable) == (True, True)
    assert count(seen, CallAttempt, method="GET", endpoint="/abilities", status=200) == 1
    assert count(seen, WatcherConnected) == 1


async def test_a_request_is_paged_and_reported_to_listeners(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    daemon = daemons(setup.config())
    seen: list[DaemonEvent] = []
    daemon.subscribe(seen.append)
    await daemon.start()

    request = setup.auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")
    incident = await setup.pagerduty.wait_for_incident(request.id, timeout=TIMEOUT)
    await setup.auth.wait_for_plugin_data(
        request.id, PLUGIN_NAME, lambda d: bool(d.get("incident_id")), timeout=TIMEOUT
    )
    await setup.pagerduty.wait_for(lambda: count(seen, EventHandled, op="put", result="ok") >= 1)

    created = [event for event in seen if isinstance(event, IncidentCreated)]
    assert created == [
        IncidentCreated(request_id=request.id, incident_id=incident.id, service_name=NOTIFY_SERVICE)
    ]
    assert any(isinstance(e, EventHandled) and e.request_id == request.id for e in seen)
    assert count(seen, CallAttempt, method="POST", endpoint="/incidents", status=201) == 1


async def test_a_failed_handler_is_re_attempted_without_another_event(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    daemon = daemons(setup.config())
    seen: list[DaemonEvent] = []
    daemon.subscribe(seen.append)
    await daemon.start()
    setup.pagerduty.fake.fail_next(times=1, status=403)  # the first lookup is refused

    request = setup.auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    await setup.pagerduty.wait_for_incident(request.id, timeout=TIMEOUT)
    await setup.pagerduty.wait_for(
        lambda: any(isinstance(e, EventHandled) and e.retry and e.result == "ok" for e in seen)
    )
    scheduled = [e for e in seen if isinstance(e, RetryScheduled)]
    assert [(e.request_id, e.attempt) for e in scheduled] == [(request.id, 1)]
    assert count(seen, EventHandled, op="put", result="error") == 1
    assert len(setup.pagerduty.incidents_for(request.id)) == 1
    assert daemon.pending_retries == frozenset()


async def test_catch_up_pages_the_requests_that_existed_before_the_start(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    requests = [setup.auth.create_request(REQUESTER_OSS, ["editor"]) for _ in range(3)]
    daemon = daemons(setup.config())

    await daemon.start()
    await asyncio.wait_for(daemon.caught_up.wait(), TIMEOUT)

    for request in requests:
        assert len(setup.pagerduty.incidents_for(request.id)) == 1


async def test_the_sweep_resolves_the_incident_of_a_request_deleted_while_tpd_was_down(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    request = setup.auth.create_request(REQUESTER_OSS, ["editor"])
    service = setup.pagerduty.services[NOTIFY_SERVICE]
    incident = setup.pagerduty.fake.add_incident(
        service, "left over", incident_key=incident_key(request.id)
    )
    setup.auth.set_plugin_data(
        request.id,
        PLUGIN_NAME,
        encode(PagerDutyData(user=REQUESTER_OSS, incident_id=incident.id, service_id=service.id)),
    )
    setup.auth.delete_request(request.id)
    daemon = daemons(setup.config())

    await daemon.start()
    await asyncio.wait_for(daemon.caught_up.wait(), TIMEOUT)

    assert setup.pagerduty.fake.incident(incident.id).status == "resolved"
    assert setup.pagerduty.note_texts(incident.id) == ["Access request has been expired\n"]


async def test_an_on_call_requester_is_approved(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    user = setup.pagerduty.fake.add_user("Test User", REQUESTER_OSS)
    setup.pagerduty.fake.add_on_call(user, setup.pagerduty.policies["escalation_policy-2"])
    daemon = daemons(setup.config())
    seen: list[DaemonEvent] = []
    daemon.subscribe(seen.append)
    await daemon.start()

    request = setup.auth.create_request(REQUESTER_OSS, ["editor"])

    approved = await setup.auth.wait_for_state(request.id, RequestState.APPROVED, timeout=TIMEOUT)
    assert [review.author for review in approved.reviews] == [PLUGIN_USER]
    await setup.pagerduty.wait_for(lambda: count(seen, ApprovalOutcome, result="approved") == 1)


async def test_stop_finishes_and_is_idempotent(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    daemon = daemons(setup.config())
    await daemon.start()

    report = await daemon.stop()

    assert report.clean
    assert await daemon.stop() is report
    assert daemon.health.readiness().reasons[0] == "shutting down"


async def test_request_stop_from_another_thread_ends_run(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    daemon = daemons(setup.config())
    runner = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.ready.wait(), TIMEOUT)

    thread = threading.Thread(target=daemon.request_stop)
    thread.start()
    thread.join()

    await asyncio.wait_for(runner, TIMEOUT)
    assert runner.exception() is None


async def test_a_stop_during_start_up_makes_run_return_normally(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    daemon = daemons(setup.config(address="127.0.0.1:9"))  # nothing listens there
    runner = asyncio.create_task(daemon.run())
    await asyncio.sleep(0.3)

    daemon.request_stop()

    await asyncio.wait_for(runner, TIMEOUT)
    assert not daemon.ready.is_set()
    with pytest.raises(StartupAborted):
        await daemon.start()


async def test_a_start_up_deadline_ends_the_wait_for_teleport(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    daemon = daemons(setup.config(address="127.0.0.1:9"), startup_timeout=0.5)

    with pytest.raises(StartupError, match="start-up deadline"):
        await asyncio.wait_for(daemon.start(), TIMEOUT)


async def test_a_rejected_api_key_is_fatal(setup: Setup, daemons: Callable[..., Daemon]) -> None:
    daemon = daemons(setup.config(api_key="not-the-key-123"))

    with pytest.raises(StartupError, match=r"PagerDuty rejected the API key \(401\)"):
        await daemon.start()


async def test_an_old_teleport_is_fatal(setup: Setup, daemons: Callable[..., Daemon]) -> None:
    async with FakeAuthServer(ca=setup.auth.ca, server_version="6.0.2") as old:
        daemon = daemons(setup.config(address=old.address))
        with pytest.raises(StartupError, match=r"server version must be at least 6\.1\.0"):
            await daemon.start()


async def test_a_plugin_user_that_may_not_list_requests_is_fatal(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    setup.auth.fail_next("ListAccessRequests", code="PERMISSION_DENIED", message="access denied")
    daemon = daemons(setup.config())

    with pytest.raises(StartupError, match="may not list access requests"):
        await daemon.start()


async def test_an_injected_client_is_used_and_not_closed(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    from teleport_access import AuthClient

    identity = setup.auth.issue_identity(PLUGIN_USER, roles=["access-plugin"])
    async with AuthClient(setup.auth.address, identity) as client:
        daemon = daemons(setup.config(), auth_client=client)
        await daemon.start()
        await daemon.stop()
        assert (await client.ping()).cluster_name == setup.auth.cluster_name


async def test_cancelling_run_still_closes_everything(
    setup: Setup, daemons: Callable[..., Daemon]
) -> None:
    daemon = daemons(setup.config())
    runner = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.ready.wait(), TIMEOUT)

    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner

    assert daemon.health.readiness().reasons[0] == "shutting down"
    assert not daemon.health.watch_connected
    await setup.auth.wait_for(lambda: setup.auth.watch_stream_count == 0, what="no watch stream")
