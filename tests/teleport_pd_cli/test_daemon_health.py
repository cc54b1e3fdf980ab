"""`Health`: readiness and its reasons, PagerDuty's reachability, and the idle check."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from pagerduty_client import CallAttempt, RetryPolicy, Unauthorized
from pagerduty_client.testing import FakeClock, FakePagerDuty
from teleport_pd_cli.daemon import Readiness
from teleport_pd_cli.daemon.events import WatcherConnected, WatcherDisconnected
from tests.teleport_pd_cli.daemon_view import FakeDaemon


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def attempt(status: int | None, endpoint: str = "/incidents", method: str = "POST") -> CallAttempt:
    return CallAttempt(method=method, endpoint=endpoint, status=status, elapsed=0.2)


def ready_daemon(clock: Clock | None = None) -> FakeDaemon:
    daemon = FakeDaemon(clock=clock or Clock())
    daemon.make_ready()
    return daemon


# -- readiness ---------------------------------------------------------------------------------


def test_not_ready_before_the_watch_stream_and_pagerduty_are_known() -> None:
    readiness = FakeDaemon().health.readiness()
    assert readiness == Readiness(
        ready=False,
        reasons=("Teleport watch stream not connected yet", "PagerDuty not reached yet"),
    )
    assert str(readiness) == (
        "not ready: Teleport watch stream not connected yet; PagerDuty not reached yet"
    )


def test_connected_but_not_started_is_still_listing_the_existing_requests() -> None:
    daemon = FakeDaemon()
    daemon.health.record_pagerduty(True)
    daemon.emit(WatcherConnected(connections=1))
    assert daemon.health.readiness().reasons == ("starting: listing the existing access requests",)


def test_ready_when_started_connected_and_pagerduty_answered() -> None:
    daemon = ready_daemon()
    assert daemon.health.readiness() == Readiness(ready=True)
    assert str(daemon.health.readiness()) == "ready"


def test_a_lost_watch_stream_makes_tpd_unready_with_its_error_until_it_reconnects() -> None:
    daemon = ready_daemon()
    daemon.emit(WatcherDisconnected(error="UNAVAILABLE: auth down"))
    assert daemon.health.readiness().reasons == (
        "Teleport watch stream not connected (last error: UNAVAILABLE: auth down)",
    )
    daemon.emit(WatcherConnected(connections=2))
    assert daemon.health.readiness().ready


def test_shutting_down_makes_tpd_unready() -> None:
    daemon = ready_daemon()
    daemon.stopping = True
    assert daemon.health.readiness().reasons == ("shutting down",)


# -- PagerDuty's reachability ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (503, "PagerDuty answered 503 to POST /incidents"),
        (None, "no answer from PagerDuty to POST /incidents"),
        (401, "PagerDuty refused the API key (401 to POST /incidents)"),
        (403, "PagerDuty refused the API key (403 to POST /incidents)"),
    ],
)
def test_a_failed_pagerduty_call_makes_tpd_unready_until_the_next_answer(
    status: int | None, reason: str
) -> None:
    clock = Clock()
    daemon = ready_daemon(clock)
    daemon.emit(attempt(status))
    clock.now += 12
    assert daemon.health.readiness().reasons == (f"{reason}, 12 s ago",)
    assert daemon.health.pagerduty_reachable is False
    daemon.emit(attempt(201))
    assert daemon.health.readiness().ready


@pytest.mark.parametrize("status", [200, 201, 400, 404, 409, 429])
def test_any_other_answer_shows_pagerduty_is_reachable(status: int) -> None:
    daemon = ready_daemon()
    daemon.emit(attempt(500), attempt(status))
    assert daemon.health.pagerduty_reachable is True


def test_reachability_changes_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    daemon = ready_daemon()
    with caplog.at_level(logging.INFO, logger="teleport_pd_cli.daemon.health"):
        daemon.emit(attempt(500), attempt(502), attempt(201), attempt(201))
    assert [record.getMessage() for record in caplog.records] == [
        "PagerDuty is not reachable: PagerDuty answered 500 to POST /incidents",
        "PagerDuty is reachable again",
    ]


# -- checking PagerDuty ------------------------------------------------------------------------


async def test_a_failing_check_makes_tpd_unready_with_its_error() -> None:
    daemon = ready_daemon()

    async def check() -> None:
        raise Unauthorized("GET /abilities: 401 Unauthorized", status=401)

    await daemon.health.check_pagerduty(check)
    [reason] = daemon.health.readiness().reasons
    assert reason.startswith("PagerDuty health check failed: GET /abilities: 401 Unauthorized")


async def test_a_hanging_check_is_cut_off_by_its_time_limit() -> None:
    daemon = ready_daemon()

    async def check() -> None:
        await asyncio.Event().wait()

    await daemon.health.check_pagerduty(check, time_limit=0.05)
    [reason] = daemon.health.readiness().reasons
    assert reason.startswith("PagerDuty health check timed out after 0.05 s")


async def test_a_successful_check_makes_pagerduty_reachable_again() -> None:
    clock = FakeClock()
    fake = FakePagerDuty(strict=True, clock=clock.monotonic, now=clock.now)
    daemon = ready_daemon()
    daemon.emit(attempt(503))
    async with fake.client(
        clock=clock.monotonic, sleep=clock.sleep, retry=RetryPolicy(max_attempts=1)
    ) as pd:
        await daemon.health.check_pagerduty(pd.abilities)
    assert daemon.health.readiness().ready


async def test_a_refused_api_key_is_never_shown_in_readiness() -> None:
    secret = "u+sEcReT-KeY-0987654321"
    clock = FakeClock()
    fake = FakePagerDuty(strict=True, api_key="the-right-key", clock=clock.monotonic, now=clock.now)
    daemon = ready_daemon()
    async with fake.client(api_key=secret, clock=clock.monotonic, sleep=clock.sleep) as pd:
        await daemon.health.check_pagerduty(pd.abilities)
    readiness = str(daemon.health.readiness())
    assert "PagerDuty health check failed" in readiness
    assert secret not in readiness


class Sleeper:
    """An injected sleep that advances a clock and parks the loop after `limit` waits."""

    def __init__(self, clock: Clock, limit: int) -> None:
        self.clock = clock
        self.limit = limit
        self.waits: list[float] = []
        self.done = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.now += seconds
        if len(self.waits) >= self.limit:
            self.done.set()
            await asyncio.Event().wait()  # park until cancelled


async def keep_checking_until_parked(
    daemon: FakeDaemon, check: Callable[[], Awaitable[object]], sleeper: Sleeper
) -> None:
    task = asyncio.create_task(daemon.health.keep_checking(check, interval=30, sleep=sleeper))
    try:
        async with asyncio.timeout(10):
            await sleeper.done.wait()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_keep_checking_checks_at_once_and_after_each_idle_interval() -> None:
    clock = Clock()
    daemon = FakeDaemon(clock=clock)
    calls: list[float] = []

    async def check() -> None:
        calls.append(clock.now)

    sleeper = Sleeper(clock, limit=3)
    await keep_checking_until_parked(daemon, check, sleeper)
    assert calls == [1000.0, 1030.0, 1060.0]
    assert sleeper.waits == [30, 30, 30]
    assert daemon.health.pagerduty_idle() == 30


async def test_keep_checking_stays_quiet_while_tpd_talks_to_pagerduty_itself() -> None:
    clock = Clock()
    daemon = FakeDaemon(clock=clock)
    calls: list[float] = []

    async def check() -> None:
        calls.append(clock.now)

    class Busy(Sleeper):
        async def __call__(self, seconds: float) -> None:
            await super().__call__(seconds)
            daemon.emit(attempt(201))  # tpd's own calls keep the state fresh

    sleeper = Busy(clock, limit=3)
    await keep_checking_until_parked(daemon, check, sleeper)
    assert calls == [1000.0]  # only the first check, before any call of tpd's own
