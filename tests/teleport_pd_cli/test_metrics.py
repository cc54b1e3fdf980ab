"""`Metrics`: the library hooks it offers, the families they feed, readiness and the probe."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator

import pytest

from pagerduty_client import CallAttempt, CallRetry, RetryPolicy, Unauthorized
from pagerduty_client.testing import FakeClock, FakePagerDuty
from teleport_access import (
    AccessRequest,
    AccessRequestDelete,
    AccessRequestPut,
    Dispatcher,
    DispatchOutcome,
    HandledEvent,
)
from teleport_access._models import AccessRequestEvent
from teleport_pd_cli.daemon import events as observe
from teleport_pd_cli.ops.metrics import Metrics, MetricsServer, Readiness

BOT = "bot@example.com"


class Watcher:
    def __init__(self, connected: bool = False) -> None:
        self.connected = connected
        self.reconnects = 0
        self.last_error: object = None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    """The value of one series in the rendered text (fails if it is absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    series = f"{name}{{{wanted}}}" if labels else name
    for line in metrics.render().splitlines():
        if line.startswith(f"{series} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not rendered")


def put(request_id: str = "r1") -> AccessRequestPut:
    return AccessRequestPut(request=AccessRequest(id=request_id, user="alice@example.com"))


def attempt(status: int | None, endpoint: str = "/incidents", method: str = "POST") -> CallAttempt:
    return CallAttempt(method=method, endpoint=endpoint, status=status, elapsed=0.2)


def ready_metrics(clock: Clock | None = None) -> tuple[Metrics, Watcher]:
    metrics = Metrics(clock=clock or Clock())
    watcher = Watcher(connected=True)
    metrics.track_watcher(watcher)
    metrics.record_pagerduty(True)
    return metrics, watcher


# -- families --------------------------------------------------------------------------------


def test_every_metric_name_is_prefixed_and_every_family_has_help() -> None:
    text = Metrics().render()
    names = re.findall(r"^# TYPE (\S+) ", text, re.M)
    assert all(name.startswith(("tpd_", "process_")) for name in names)
    assert len(re.findall(r"^# HELP \S+ \S", text, re.M)) == len(names)
    for expected in (
        "tpd_events_handled_total",
        "tpd_handler_duration_seconds",
        "tpd_pagerduty_requests_total",
        "tpd_pagerduty_retries_total",
        "tpd_pagerduty_rate_limited_total",
        "tpd_teleport_watch_reconnects_total",
        "tpd_approvals_submitted_total",
        "tpd_incidents_created_total",
        "tpd_notes_posted_total",
        "tpd_resolutions_total",
        "tpd_build_info",
    ):
        assert expected in names


def test_build_info_carries_the_versions() -> None:
    from teleport_pd_cli import __version__

    assert f'tpd_build_info{{version="{__version__}",python="' in Metrics().render()


def test_every_op_and_result_starts_at_zero() -> None:
    metrics = Metrics()
    for op in ("put", "delete"):
        for outcome in DispatchOutcome:
            assert sample(metrics, "tpd_events_handled_total", op=op, result=str(outcome)) == 0


def test_a_handled_event_is_counted_by_op_and_result_and_timed() -> None:
    metrics = Metrics()
    metrics.on_outcome(HandledEvent(event=put(), outcome=DispatchOutcome.OK, duration=0.3))
    metrics.on_outcome(
        HandledEvent(
            event=AccessRequestDelete(request_id="r2"),
            outcome=DispatchOutcome.ERROR,
            duration=2.0,
            error=RuntimeError("x"),
        )
    )
    assert sample(metrics, "tpd_events_handled_total", op="put", result="ok") == 1
    assert sample(metrics, "tpd_events_handled_total", op="delete", result="error") == 1
    assert sample(metrics, "tpd_handler_duration_seconds_bucket", op="put", le="0.5") == 1
    assert sample(metrics, "tpd_handler_duration_seconds_bucket", op="put", le="0.25") == 0
    assert sample(metrics, "tpd_handler_duration_seconds_sum", op="delete") == 2.0


def test_events_that_never_ran_are_counted_but_not_timed() -> None:
    metrics = Metrics()
    metrics.on_outcome(HandledEvent(event=put(), outcome=DispatchOutcome.COALESCED, duration=0))
    metrics.on_outcome(HandledEvent(event=put(), outcome=DispatchOutcome.DROPPED, duration=0))
    assert sample(metrics, "tpd_events_handled_total", op="put", result="coalesced") == 1
    assert sample(metrics, "tpd_handler_duration_seconds_count", op="put") == 0


async def test_the_dispatcher_hook_and_state_feed_the_metrics() -> None:
    metrics = Metrics()
    release = asyncio.Event()
    two_done = asyncio.Event()

    async def handle(event: AccessRequestEvent) -> None:
        if event.request_id == "slow":
            await release.wait()

    def on_outcome(handled: HandledEvent) -> None:
        metrics.on_outcome(handled)
        if sample(metrics, "tpd_events_handled_total", op="put", result="ok") == 2:
            two_done.set()

    async def events() -> AsyncIterator[AccessRequestEvent]:
        for request_id in ("a", "b", "slow"):
            yield put(request_id)
        await release.wait()

    dispatcher = Dispatcher(handle, on_outcome=on_outcome)
    metrics.track_dispatcher(dispatcher)
    task = asyncio.create_task(dispatcher.run(events()))
    try:
        async with asyncio.timeout(10):
            await two_done.wait()
            await asyncio.sleep(0)
        assert sample(metrics, "tpd_events_in_flight") == 1
        release.set()
        async with asyncio.timeout(10):
            await task
    finally:
        release.set()
        task.cancel()
    assert sample(metrics, "tpd_events_handled_total", op="put", result="ok") == 3
    assert sample(metrics, "tpd_events_in_flight") == 0


def test_pagerduty_attempts_are_counted_by_method_endpoint_and_status() -> None:
    metrics = Metrics()
    metrics.on_pagerduty_call(attempt(201))
    metrics.on_pagerduty_call(attempt(201))
    metrics.on_pagerduty_call(attempt(None, "/incidents/{id}", "PUT"))
    labels = {"method": "POST", "endpoint": "/incidents"}
    assert sample(metrics, "tpd_pagerduty_requests_total", **labels, status="201") == 2
    assert (
        sample(
            metrics,
            "tpd_pagerduty_requests_total",
            method="PUT",
            endpoint="/incidents/{id}",
            status="no_answer",
        )
        == 1
    )
    assert sample(metrics, "tpd_pagerduty_request_duration_seconds_count", **labels) == 2


def test_429s_and_retries_have_their_own_counters() -> None:
    metrics = Metrics()
    metrics.on_pagerduty_call(attempt(429))
    metrics.on_pagerduty_call(CallRetry(method="POST", endpoint="/incidents", delay=2.0))
    labels = {"method": "POST", "endpoint": "/incidents"}
    assert sample(metrics, "tpd_pagerduty_rate_limited_total", **labels) == 1
    assert sample(metrics, "tpd_pagerduty_retries_total", **labels) == 1


async def test_a_real_client_with_the_observer_reports_its_calls_retries_and_429s() -> None:
    clock = FakeClock()
    fake = FakePagerDuty(clock=clock.monotonic, now=clock.now)
    fake.add_user("Bot", BOT)
    metrics = Metrics()
    fake.fail_next(1, status=429)
    async with fake.client(
        user_email=BOT, clock=clock.monotonic, sleep=clock.sleep, observer=metrics.on_pagerduty_call
    ) as pd:
        await pd.abilities()
    labels = {"method": "GET", "endpoint": "/abilities"}
    assert sample(metrics, "tpd_pagerduty_requests_total", **labels, status="429") == 1
    assert sample(metrics, "tpd_pagerduty_requests_total", **labels, status="200") == 1
    assert sample(metrics, "tpd_pagerduty_rate_limited_total", **labels) == 1
    assert sample(metrics, "tpd_pagerduty_retries_total", **labels) == 1
    assert sample(metrics, "tpd_pagerduty_reachable") == 1


def test_the_daemons_own_events_are_counted() -> None:
    metrics = Metrics()
    metrics.incident_created()
    metrics.note_posted()
    metrics.note_posted(2)
    metrics.incident_resolved("approved")
    metrics.incident_resolved("expired")
    metrics.approval_submitted()
    assert sample(metrics, "tpd_incidents_created_total") == 1
    assert sample(metrics, "tpd_notes_posted_total") == 3
    assert sample(metrics, "tpd_resolutions_total", resolution="approved") == 1
    assert sample(metrics, "tpd_resolutions_total", resolution="expired") == 1
    assert sample(metrics, "tpd_approvals_submitted_total") == 1


def test_watch_state_is_read_from_the_watcher_at_scrape_time() -> None:
    metrics = Metrics()
    watcher = Watcher()
    metrics.track_watcher(watcher)
    assert sample(metrics, "tpd_teleport_watch_connected") == 0
    watcher.connected = True
    watcher.reconnects = 4
    assert sample(metrics, "tpd_teleport_watch_connected") == 1
    assert sample(metrics, "tpd_teleport_watch_reconnects_total") == 4


def test_process_metrics_are_plausible() -> None:
    metrics = Metrics()
    assert sample(metrics, "process_resident_memory_bytes") > 10_000_000
    assert sample(metrics, "process_cpu_seconds_total") > 0
    assert sample(metrics, "process_open_fds") >= 3
    assert sample(metrics, "process_start_time_seconds") > 1_600_000_000


# -- readiness -------------------------------------------------------------------------------


def test_not_ready_before_the_watcher_and_pagerduty_are_known() -> None:
    readiness = Metrics().readiness()
    assert readiness == Readiness(
        ready=False,
        reasons=("Teleport watch stream not started", "PagerDuty not reached yet"),
    )
    assert str(readiness).startswith("not ready: Teleport watch stream not started; ")


def test_ready_when_the_stream_is_connected_and_pagerduty_answered() -> None:
    metrics, _ = ready_metrics()
    assert metrics.readiness() == Readiness(ready=True)
    assert str(metrics.readiness()) == "ready"
    assert sample(metrics, "tpd_ready") == 1


def test_a_lost_watch_stream_makes_tpd_unready_with_the_last_error() -> None:
    metrics, watcher = ready_metrics()
    watcher.connected = False
    watcher.last_error = "UNAVAILABLE: auth down"
    readiness = metrics.readiness()
    assert not readiness.ready
    assert readiness.reasons == (
        "Teleport watch stream not connected (last error: UNAVAILABLE: auth down)",
    )
    watcher.connected = True
    assert metrics.readiness().ready


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
    metrics, _ = ready_metrics(clock)
    metrics.on_pagerduty_call(attempt(status))
    clock.now += 12
    assert metrics.readiness().reasons == (f"{reason}, 12 s ago",)
    assert sample(metrics, "tpd_pagerduty_reachable") == 0
    metrics.on_pagerduty_call(attempt(201))
    assert metrics.readiness().ready


@pytest.mark.parametrize("status", [200, 201, 400, 404, 409, 429])
def test_any_other_answer_shows_pagerduty_is_reachable(status: int) -> None:
    metrics, _ = ready_metrics()
    metrics.on_pagerduty_call(attempt(500))
    metrics.on_pagerduty_call(attempt(status))
    assert metrics.readiness().ready


def test_shutting_down_makes_tpd_unready() -> None:
    metrics, _ = ready_metrics()
    metrics.mark_stopping()
    assert metrics.readiness().reasons == ("shutting down",)


def test_reachability_changes_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    metrics, _ = ready_metrics()
    with caplog.at_level(logging.INFO, logger="teleport_pd_cli.ops.metrics"):
        metrics.on_pagerduty_call(attempt(500))
        metrics.on_pagerduty_call(attempt(502))
        metrics.on_pagerduty_call(attempt(201))
        metrics.on_pagerduty_call(attempt(201))
    assert [record.getMessage() for record in caplog.records] == [
        "PagerDuty is not reachable: PagerDuty answered 500 to POST /incidents",
        "PagerDuty is reachable again",
    ]


async def test_a_refused_api_key_is_never_shown_in_readiness_or_metrics() -> None:
    secret = "u+sEcReT-KeY-0987654321"
    clock = FakeClock()
    fake = FakePagerDuty(api_key="the-right-key", clock=clock.monotonic, now=clock.now)
    metrics = Metrics()
    async with fake.client(
        api_key=secret, clock=clock.monotonic, sleep=clock.sleep, observer=metrics.on_pagerduty_call
    ) as pd:
        server = MetricsServer(metrics, "127.0.0.1", 0, pagerduty_probe=pd.abilities)
        await server.probe_once()
    readiness = str(metrics.readiness())
    assert "PagerDuty health check failed" in readiness
    assert secret not in readiness
    assert secret not in metrics.render()


# -- the PagerDuty probe ---------------------------------------------------------------------


class Sleeper:
    """An injected sleep that advances a clock and stops the loop after `limit` waits."""

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


async def run_probe_loop(server: MetricsServer, sleeper: Sleeper) -> None:
    await server.start()
    try:
        async with asyncio.timeout(10):
            await sleeper.done.wait()
    finally:
        await server.aclose()


async def test_the_probe_checks_pagerduty_at_start_and_after_each_idle_interval() -> None:
    clock = Clock()
    metrics = Metrics(clock=clock)
    calls: list[float] = []

    async def probe() -> None:
        calls.append(clock.now)

    sleeper = Sleeper(clock, limit=3)
    server = MetricsServer(
        metrics, "127.0.0.1", 0, pagerduty_probe=probe, probe_interval=30, sleep=sleeper
    )
    await run_probe_loop(server, sleeper)
    assert calls == [1000.0, 1030.0, 1060.0]
    assert sleeper.waits == [30, 30, 30]
    assert metrics.pagerduty_idle() == 30


async def test_the_probe_stays_quiet_while_tpd_talks_to_pagerduty_itself() -> None:
    clock = Clock()
    metrics = Metrics(clock=clock)
    calls: list[float] = []

    async def probe() -> None:
        calls.append(clock.now)

    class Busy(Sleeper):
        async def __call__(self, seconds: float) -> None:
            await super().__call__(seconds)
            metrics.on_pagerduty_call(attempt(201))  # tpd's own calls keep the state fresh

    sleeper = Busy(clock, limit=3)
    server = MetricsServer(
        metrics, "127.0.0.1", 0, pagerduty_probe=probe, probe_interval=30, sleep=sleeper
    )
    await run_probe_loop(server, sleeper)
    assert calls == [1000.0]  # only the first check, before any call of tpd's own


async def test_a_failing_probe_makes_tpd_unready_with_its_error() -> None:
    metrics, _ = ready_metrics()

    async def probe() -> None:
        raise Unauthorized("GET /abilities: 401 Unauthorized", status=401)

    server = MetricsServer(metrics, "127.0.0.1", 0, pagerduty_probe=probe)
    await server.probe_once()
    [reason] = metrics.readiness().reasons
    assert reason.startswith("PagerDuty health check failed: ")


async def test_a_hanging_probe_is_cut_off_by_its_timeout() -> None:
    metrics, _ = ready_metrics()

    async def probe() -> None:
        await asyncio.Event().wait()

    server = MetricsServer(metrics, "127.0.0.1", 0, pagerduty_probe=probe, probe_timeout=0.05)
    await server.probe_once()
    [reason] = metrics.readiness().reasons
    assert reason.startswith("PagerDuty health check timed out after 0.05 s")


async def test_a_successful_probe_makes_pagerduty_reachable_again() -> None:
    clock = FakeClock()
    fake = FakePagerDuty(clock=clock.monotonic, now=clock.now)
    metrics, _ = ready_metrics()
    metrics.on_pagerduty_call(attempt(503))
    async with fake.client(
        clock=clock.monotonic, sleep=clock.sleep, retry=RetryPolicy(max_attempts=1)
    ) as pd:
        server = MetricsServer(metrics, "127.0.0.1", 0, pagerduty_probe=pd.abilities)
        await server.probe_once()
    assert metrics.readiness().ready


# -- the daemon's events and health ------------------------------------------------------------


def health(
    *,
    ready: bool = True,
    connected: bool = True,
    reachable: bool | None = True,
    stopping: bool = False,
) -> observe.Health:
    return observe.Health(
        ready=ready, watcher_connected=connected, pagerduty_reachable=reachable, stopping=stopping
    )


def test_the_daemons_events_feed_the_same_families() -> None:
    metrics = Metrics()
    for event in (
        observe.EventHandled(request_id="r1", op="put", result="ok", duration=0.2),
        observe.EventHandled(request_id="r1", op="put", result="coalesced", duration=0),
        attempt(201),
        CallRetry(method="POST", endpoint="/incidents", delay=1.0),
        observe.WatcherConnected(connections=1),
        observe.WatcherConnected(connections=2),
        observe.IncidentCreated(request_id="r1", incident_id="P1", service_name="S"),
        observe.NotesPosted(request_id="r1", incident_id="P1", count=2),
        observe.IncidentResolved(request_id="r1", incident_id="P1", resolution="denied"),
        observe.ApprovalOutcome(request_id="r2", result="approved"),
        observe.ApprovalOutcome(request_id="r3", result="already_reviewed"),
        observe.RetryScheduled(request_id="r4", attempt=1, delay=2.0),
    ):
        metrics.on_daemon_event(event)
    assert sample(metrics, "tpd_events_handled_total", op="put", result="ok") == 1
    assert sample(metrics, "tpd_events_handled_total", op="put", result="coalesced") == 1
    assert sample(metrics, "tpd_handler_duration_seconds_count", op="put") == 1
    labels = {"method": "POST", "endpoint": "/incidents"}
    assert sample(metrics, "tpd_pagerduty_requests_total", **labels, status="201") == 1
    assert sample(metrics, "tpd_pagerduty_retries_total", **labels) == 1
    assert sample(metrics, "tpd_teleport_watch_reconnects_total") == 1
    assert sample(metrics, "tpd_incidents_created_total") == 1
    assert sample(metrics, "tpd_notes_posted_total") == 2
    assert sample(metrics, "tpd_resolutions_total", resolution="denied") == 1
    assert sample(metrics, "tpd_approvals_submitted_total") == 1
    assert sample(metrics, "tpd_approval_attempts_total", result="already_reviewed") == 1
    assert sample(metrics, "tpd_event_retries_total") == 1


def test_readiness_follows_the_daemons_health() -> None:
    state = {"health": health(ready=False, connected=False)}
    metrics = Metrics()
    metrics.track_health(lambda: state["health"])
    metrics.record_pagerduty(True)
    assert metrics.readiness().reasons == ("Teleport watch stream not connected yet",)
    state["health"] = health(ready=False, connected=True)
    assert metrics.readiness().reasons == ("starting: listing the existing access requests",)
    state["health"] = health()
    assert metrics.readiness().ready
    assert sample(metrics, "tpd_teleport_watch_connected") == 1
    metrics.on_daemon_event(observe.WatcherDisconnected(error="UNAVAILABLE: gone"))
    state["health"] = health(connected=False)
    assert metrics.readiness().reasons == (
        "Teleport watch stream not connected (last error: UNAVAILABLE: gone)",
    )
    state["health"] = health(stopping=True)
    assert metrics.readiness().reasons == ("shutting down",)


def test_the_operations_guide_documents_every_metric_family() -> None:
    from pathlib import Path

    metrics = Metrics()
    metrics.track_dispatcher(type("D", (), {"in_flight": 0, "queued": 0})())
    names = set(re.findall(r"^# TYPE (\S+) ", metrics.render(), re.M))
    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"`((?:tpd|process)_[a-z_]+)`", guide))
    assert names <= documented, names - documented
    assert {name for name in documented if name.startswith("tpd_")} <= names
