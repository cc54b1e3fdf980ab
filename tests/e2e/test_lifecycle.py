"""`tpd run` as an operator sees it: signals, exit codes, fatal start-up errors, `tpd start`."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teleport_access.testing import FakeAuthServer
from tests.e2e.world import (
    PLUGIN_USER,
    REQUESTER_OSS,
    TIMEOUT,
    PagerDutyWorld,
    StartTpd,
    TpdProcess,
    config_text,
)


async def test_sigterm_stops_gracefully_with_status_0(tpd: TpdProcess) -> None:
    tpd.send(signal.SIGTERM)
    assert await tpd.wait_exit() == 0
    assert tpd.find_logs("Received SIGTERM: shutting down gracefully")
    assert tpd.find_logs("Successfully shut down")


async def test_sigint_lets_the_event_in_flight_finish_then_exits_0(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    pagerduty.fake.faults.delay = 1.0  # every PagerDuty answer takes a second
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="in flight")
    await pagerduty.wait_for(
        lambda: pagerduty.fake.requests_to("GET", "/services"), what="the handler to start"
    )

    tpd.send(signal.SIGINT)
    assert await tpd.wait_exit() == 0
    assert tpd.find_logs("Received SIGINT: shutting down gracefully")
    data = fake_auth.plugin_data(request.id, "pagerduty")
    assert data is not None
    assert data.get("incident_id")  # finished, not cut off
    assert tpd.find_logs("Stopped:")[0]["msg"].endswith("0 cancelled, 0 dropped")


async def test_a_second_sigint_exits_at_once_with_a_non_zero_status(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    pagerduty.fake.faults.delay = 20.0  # the handler in flight would hold shutdown for 15 s
    fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="stuck")
    await pagerduty.wait_for(
        lambda: pagerduty.fake.requests_to("GET", "/services"), what="the handler to start"
    )
    tpd.send(signal.SIGINT)
    await tpd.wait_for_log("Received SIGINT")
    tpd.send(signal.SIGINT)
    assert await tpd.wait_exit(timeout=5.0) == 130
    assert tpd.find_logs("Received a second SIGINT: exiting at once")


async def test_the_go_plugins_start_command_runs_the_daemon(
    teleport_address: str,
    identity_path: Path,
    pagerduty: PagerDutyWorld,
    fake_auth: FakeAuthServer,
    tmp_path: Path,
) -> None:
    path = tmp_path / "go.toml"
    path.write_text(
        config_text(
            teleport_address=teleport_address, identity=identity_path, pagerduty_url=pagerduty.url
        )
    )
    process = TpdProcess(path, argv=("start", "--config", str(path)))
    await process.start()
    try:
        await process.wait_ready()
        request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="via start")
        await pagerduty.wait_for_incident(request.id)
    finally:
        assert await process.stop() == 0


async def _fatal(start_tpd: StartTpd, **overrides: object) -> TpdProcess:
    process = await start_tpd(wait_ready=False, **overrides)
    assert await process.wait_exit(timeout=TIMEOUT) == 1
    return process


async def test_a_rejected_pagerduty_key_is_fatal_and_clear(start_tpd: StartTpd) -> None:
    process = await _fatal(start_tpd, api_key="wrong-key-1234567")
    assert (
        "Error: PagerDuty rejected the API key (401): check [pagerduty] api_key" in process.output
    )
    assert process.find_logs("Terminating with fatal error")
    assert "wrong-key-1234567" not in process.output


@pytest.mark.own_teleport_address
async def test_a_teleport_older_than_6_1_is_fatal_and_clear(
    start_tpd: StartTpd, fake_auth: FakeAuthServer
) -> None:
    async with FakeAuthServer(ca=fake_auth.ca, server_version="6.0.2") as old:
        process = await _fatal(start_tpd, teleport_address=old.address)
    assert "server version must be at least 6.1.0" in process.output


async def test_missing_credentials_are_fatal_and_clear(
    start_tpd: StartTpd, teleport_address: str, pagerduty: PagerDutyWorld
) -> None:
    text = (
        f'[teleport]\naddr = "{teleport_address}"\n\n'
        f'[pagerduty]\napi_key = "x-key-123456"\nuser_email = "bot@example.com"\n'
        f'api_endpoint = "{pagerduty.url}"\n'
    )
    process = await start_tpd(wait_ready=False, config=text)
    assert await process.wait_exit() == 1
    assert "Error: no credentials configured" in process.output


async def test_expired_credentials_are_fatal_and_clear(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, tmp_path: Path
) -> None:
    expired = fake_auth.write_identity_file(
        tmp_path / "expired",
        PLUGIN_USER,
        not_before=datetime.now(UTC) - timedelta(hours=3),
        ttl=timedelta(hours=1),
    )
    process = await _fatal(start_tpd, identity=expired)
    assert "Error: No valid credentials found" in process.output
    assert "expired" in process.output


@pytest.mark.own_teleport_address
async def test_a_start_up_deadline_bounds_the_wait_for_an_unreachable_auth_service(
    start_tpd: StartTpd,
) -> None:
    process = await start_tpd(
        wait_ready=False, teleport_address="127.0.0.1:9", args=("--startup-timeout", "2s")
    )
    assert await process.wait_exit(timeout=TIMEOUT) == 1
    assert "failed until the start-up deadline" in process.output
    assert process.find_logs("Connecting to the Teleport Auth Service")
