"""End-to-end harness: `tpd run` as a real subprocess against the fake Auth Service (mutual TLS
on 127.0.0.1) and the fake PagerDuty (HTTP on 127.0.0.1), both served from the test's loop.

The world is the Go plugin's acceptance suite (reference §6.1/§6.2): requesters, reviewers, the
plugin user with a role that may review `editor`, and the PagerDuty services "Teleport
Notifications", "Service 1" / "Service 2" (annotated for auto-approval) and "Service 3" (not
annotated). `tpd` starts processes that are always stopped (SIGTERM, then SIGKILL) at teardown;
each process logs JSON lines at debug severity, which tests wait on (`wait_for_log`) instead of
sleeping.

Every test runs twice, once with tpd pointed at the Auth Service and once at a fake Teleport
Proxy (TLS routing) in front of it (`teleport_address`); `--teleport-route auth|proxy` picks one
way. A test marked `own_teleport_address` chooses its own address and runs once.

A test marked `paging_modes` also runs once per `[pagerduty.auto_approval] page_when_approved`
(the `page_when_approved` fixture, which `start_tpd` writes into the config it generates);
`--page-when-approved false` runs the whole suite with `false` (`true`: with the default;
`both`: every test both ways).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from teleport_access.testing import FakeAuthServer, FakeProxy
from tests.e2e.world import (
    PLUGIN_USER,
    PagerDutyWorld,
    StartTpd,
    TpdProcess,
    choose_seed,
    config_text,
    save_logs,
    seed_teleport,
    serve_pagerduty,
    with_paging,
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that starts tpd once per route chosen by `--teleport-route`, and once
    per paging mode chosen by `--page-when-approved`."""
    if "page_when_approved" in metafunc.fixturenames:
        chosen_mode = metafunc.config.getoption("--page-when-approved")
        if chosen_mode == "auto":
            marked = metafunc.definition.get_closest_marker("paging_modes") is not None
            chosen_mode = "both" if marked else "true"
        modes = [True, False] if chosen_mode == "both" else [chosen_mode == "true"]
        ids = ["page-when-approved" if mode else "approve-first" for mode in modes]
        metafunc.parametrize("page_when_approved", modes, indirect=True, ids=ids)
    if "teleport_address" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("own_teleport_address") is not None:
        return
    chosen = metafunc.config.getoption("--teleport-route")
    routes = ["auth", "proxy"] if chosen == "both" else [chosen]
    metafunc.parametrize("teleport_address", routes, indirect=True)


@pytest.fixture
def page_when_approved(request: pytest.FixtureRequest) -> bool:
    """The tpd under test's `[pagerduty.auto_approval] page_when_approved`: the test's
    parameter (see `pytest_generate_tests`)."""
    return bool(getattr(request, "param", True))


@pytest.fixture
async def fake_auth() -> AsyncIterator[FakeAuthServer]:
    async with FakeAuthServer(cluster_name="e2e.example.com") as auth:
        seed_teleport(auth)
        yield auth


@pytest.fixture
async def teleport_address(
    request: pytest.FixtureRequest, fake_auth: FakeAuthServer
) -> AsyncIterator[str]:
    """Where tpd reaches Teleport: the Auth Service itself ("auth"), or a fake Teleport Proxy
    (TLS routing) in front of it ("proxy"); the test's parameter, see `pytest_generate_tests`."""
    route = getattr(request, "param", "auth")
    if route == "auth":
        yield fake_auth.address
        return
    assert route == "proxy", route
    async with FakeProxy(
        auth_address=fake_auth.address, cluster_name=fake_auth.cluster_name
    ) as proxy:
        yield proxy.address


@pytest.fixture
def seed() -> int:
    """The random seed of a test that injects faults at random: fresh on every run and printed
    (pytest shows it on failure), or `$TPD_FAULT_SEED` to replay one."""
    return choose_seed()


@pytest.fixture
async def pagerduty(request: pytest.FixtureRequest) -> AsyncIterator[PagerDutyWorld]:
    """The suite's fake PagerDuty on loopback; its random failures are seeded with the test's
    `seed` when the test takes one, else with 0."""
    seed = request.getfixturevalue("seed") if "seed" in request.fixturenames else 0
    async with serve_pagerduty(seed=seed) as world:
        yield world


@pytest.fixture
def identity_path(fake_auth: FakeAuthServer, tmp_path: Path) -> Path:
    return fake_auth.write_identity_file(
        tmp_path / "identity", PLUGIN_USER, roles=["access-plugin", "auto-approval-plugin"]
    )


@pytest.fixture
async def start_tpd(
    teleport_address: str,
    identity_path: Path,
    pagerduty: PagerDutyWorld,
    tmp_path: Path,
    page_when_approved: bool,
) -> AsyncIterator[StartTpd]:
    """`await start_tpd(extra="...", wait_ready=True, args=(), **config_overrides)`; the
    generated config has the test's `page_when_approved` (a whole `config=` is taken as is)."""
    processes: list[TpdProcess] = []

    async def start(
        *,
        wait_ready: bool = True,
        args: tuple[str, ...] = (),
        config: str | None = None,
        **overrides: Any,
    ) -> TpdProcess:
        text = config
        if text is None:
            options: dict[str, Any] = {
                "teleport_address": teleport_address,
                "identity": identity_path,
                "pagerduty_url": pagerduty.url,
            }
            options.update(overrides)
            options["extra"] = with_paging(options.get("extra", ""), page_when_approved)
            text = config_text(**options)
        path = tmp_path / f"tpd-{len(processes)}.toml"
        path.write_text(text)
        process = TpdProcess(path, args=args)
        processes.append(process)
        await process.start()
        if wait_ready:
            await process.wait_ready()
        return process

    yield start
    if processes:
        save_logs(processes, tmp_path)
        print(f"tpd output is saved in {tmp_path}")
    for process in processes:
        if process.process is not None and process.returncode is None:
            with contextlib.suppress(Exception):
                await process.stop(timeout=10.0)
        if process.process is not None and process.returncode is None:
            with contextlib.suppress(Exception):
                await process.kill()


@pytest.fixture
async def tpd(start_tpd: StartTpd) -> TpdProcess:
    """A ready `tpd run` with the default config."""
    return await start_tpd()
