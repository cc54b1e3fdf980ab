"""`Metrics`: what the daemon's events and state become in the exposed text, read back with
prometheus_client's own parser."""

from __future__ import annotations

import platform
import re

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pagerduty_client import CallAttempt, CallRetry
from pagerduty_client.testing import FakeClock, FakePagerDuty
from teleport_access import DispatchOutcome
from teleport_pd_cli import __version__
from teleport_pd_cli.daemon import events
from teleport_pd_cli.ops.metrics import Metrics
from tests.teleport_pd_cli.daemon_view import FakeDaemon

BOT = "bot@example.com"


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every exposed sample as {(name, labels): value}."""
    text = metrics.render().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    """The value of one exposed series (fails if it is absent)."""
    key = (name, frozenset(labels.items()))
    found = samples(metrics)
    assert key in found, f"{name}{labels} not exposed"
    return found[key]


def attempt(status: int | None, endpoint: str = "/incidents", method: str = "POST") -> CallAttempt:
    return CallAttempt(method=method, endpoint=endpoint, status=status, elapsed=0.2)


def handled(op: str, result: str, duration: float = 0.3) -> events.EventHandled:
    return events.EventHandled(request_id="r1", op=op, result=result, duration=duration)


def metrics_for(daemon: FakeDaemon | None = None) -> tuple[Metrics, FakeDaemon]:
    daemon = daemon or FakeDaemon()
    return Metrics(daemon), daemon


# -- the exposition ----------------------------------------------------------------------------


def test_every_family_has_help_and_a_type_and_a_tpd_or_process_name() -> None:
    metrics, _ = metrics_for()
    text = metrics.render().decode()
    names = re.findall(r"^# TYPE (\S+) ", text, re.M)
    assert names
    assert all(name.startswith(("tpd_", "process_")) for name in names)
    assert re.findall(r"^# HELP (\S+) \S", text, re.M) == names


def test_counters_are_exposed_under_their_documented_total_names() -> None:
    metrics, _ = metrics_for()
    text = metrics.render().decode()
    assert "# TYPE tpd_events_handled_total counter\n" in text
    assert "# TYPE tpd_teleport_watch_reconnects_total counter\n" in text
    assert "tpd_events_handled_total{" in text


def test_no_created_series_are_exposed() -> None:
    metrics, daemon = metrics_for()
    daemon.emit(handled("put", "ok"), attempt(201))
    daemon.emit(events.IncidentCreated(request_id="r1", incident_id="P1", service_name="S"))
    exposed = {name for name, _ in samples(metrics)}
    assert "tpd_incidents_created_total" in exposed
    assert not {name for name in exposed if name.endswith("_created")}


def test_other_users_of_prometheus_client_keep_their_created_series() -> None:
    metrics_for()
    registry = CollectorRegistry()
    Counter("other_total", "Another program's counter.", registry=registry).inc()
    assert b"other_created" in generate_latest(registry)


def test_two_metrics_keep_separate_families() -> None:
    first, first_daemon = metrics_for()
    second, _ = metrics_for()
    first_daemon.emit(events.IncidentCreated(request_id="r1", incident_id="P1", service_name="S"))
    assert sample(first, "tpd_incidents_created_total") == 1
    assert sample(second, "tpd_incidents_created_total") == 0


def test_build_info_carries_the_versions() -> None:
    metrics, _ = metrics_for()
    labels = {"version": __version__, "python": platform.python_version()}
    assert sample(metrics, "tpd_build_info", **labels) == 1


def test_process_metrics_are_plausible() -> None:
    metrics, _ = metrics_for()
    assert sample(metrics, "process_resident_memory_bytes") > 10_000_000
    assert sample(metrics, "process_cpu_seconds_total") > 0
    assert sample(metrics, "process_open_fds") >= 3
    assert sample(metrics, "process_start_time_seconds") > 1_600_000_000


# -- handled events ----------------------------------------------------------------------------


def test_every_op_and_result_starts_at_zero() -> None:
    metrics, _ = metrics_for()
    for op in ("put", "delete"):
        for outcome in DispatchOutcome:
            assert sample(metrics, "tpd_events_handled_total", op=op, result=outcome.value) == 0


def test_a_handled_event_is_counted_by_op_and_result_and_timed() -> None:
    metrics, daemon = metrics_for()
    daemon.emit(handled("put", "ok", 0.3), handled("delete", "error", 2.0))
    assert sample(metrics, "tpd_events_handled_total", op="put", result="ok") == 1
    assert sample(metrics, "tpd_events_handled_total", op="delete", result="error") == 1
    assert sample(metrics, "tpd_handler_duration_seconds_bucket", op="put", le="0.5") == 1
    assert sample(metrics, "tpd_handler_duration_seconds_bucket", op="put", le="0.25") == 0
    assert sample(metrics, "tpd_handler_duration_seconds_sum", op="delete") == 2.0


def test_events_that_never_ran_are_counted_but_not_timed() -> None:
    metrics, daemon = metrics_for()
    daemon.emit(handled("put", "coalesced", 0), handled("put", "dropped", 0))
    assert sample(metrics, "tpd_events_handled_total", op="put", result="coalesced") == 1
    assert sample(metrics, "tpd_handler_duration_seconds_count", op="put") == 0


def test_in_flight_and_queued_are_read_from_the_daemon_when_scraped() -> None:
    metrics, daemon = metrics_for()
    assert (sample(metrics, "tpd_events_in_flight"), sample(metrics, "tpd_events_queued")) == (0, 0)
    daemon.in_flight, daemon.queued = 3, 2
    assert (sample(metrics, "tpd_events_in_flight"), sample(metrics, "tpd_events_queued")) == (3, 2)


# -- PagerDuty calls ---------------------------------------------------------------------------


def test_pagerduty_attempts_are_counted_by_method_endpoint_and_status() -> None:
    metrics, daemon = metrics_for()
    daemon.emit(attempt(201), attempt(201), attempt(None, "/incidents/{id}", "PUT"))
    labels = {"method": "POST", "endpoint": "/incidents"}
    assert sample(metrics, "tpd_pagerduty_requests_total", **labels, status="201") == 2
    unanswered = {"method": "PUT", "endpoint": "/incidents/{id}", "status": "no_answer"}
    assert sample(metrics, "tpd_pagerduty_requests_total", **unanswered) == 1
    assert sample(metrics, "tpd_pagerduty_request_duration_seconds_count", **labels) == 2


def test_429s_and_retries_have_their_own_counters() -> None:
    metrics, daemon = metrics_for()
    daemon.emit(attempt(429), CallRetry(method="POST", endpoint="/incidents", delay=2.0))
    labels = {"method": "POST", "endpoint": "/incidents"}
    assert sample(metrics, "tpd_pagerduty_rate_limited_total", **labels) == 1
    assert sample(metrics, "tpd_pagerduty_retries_total", **labels) == 1


async def test_a_client_observed_by_the_metrics_reports_its_calls_retries_and_429s() -> None:
    clock = FakeClock()
    fake = FakePagerDuty(strict=True, clock=clock.monotonic, now=clock.now)
    fake.add_user("Bot", BOT)
    metrics, _ = metrics_for()
    fake.fail_next(1, status=429)
    async with fake.client(
        user_email=BOT, clock=clock.monotonic, sleep=clock.sleep, observer=metrics.on_event
    ) as pd:
        await pd.abilities()
    labels = {"method": "GET", "endpoint": "/abilities"}
    assert sample(metrics, "tpd_pagerduty_requests_total", **labels, status="429") == 1
    assert sample(metrics, "tpd_pagerduty_requests_total", **labels, status="200") == 1
    assert sample(metrics, "tpd_pagerduty_rate_limited_total", **labels) == 1
    assert sample(metrics, "tpd_pagerduty_retries_total", **labels) == 1


# -- the daemon's other events and its state ---------------------------------------------------


def test_the_daemons_own_events_are_counted() -> None:
    metrics, daemon = metrics_for()
    daemon.emit(
        events.WatcherConnected(connections=1),
        events.WatcherConnected(connections=2),
        events.IncidentCreated(request_id="r1", incident_id="P1", service_name="S"),
        events.NotesPosted(request_id="r1", incident_id="P1", count=2),
        events.NotesPosted(request_id="r1", incident_id="P1", count=1),
        events.IncidentResolved(request_id="r1", incident_id="P1", resolution="denied"),
        events.ApprovalOutcome(request_id="r2", result="approved"),
        events.ApprovalOutcome(request_id="r3", result="already_reviewed"),
        events.RetryScheduled(request_id="r4", attempt=1, delay=2.0),
    )
    assert sample(metrics, "tpd_teleport_watch_reconnects_total") == 1
    assert sample(metrics, "tpd_incidents_created_total") == 1
    assert sample(metrics, "tpd_notes_posted_total") == 3
    assert sample(metrics, "tpd_resolutions_total", resolution="denied") == 1
    assert sample(metrics, "tpd_approvals_submitted_total") == 1
    assert sample(metrics, "tpd_approval_attempts_total", result="approved") == 1
    assert sample(metrics, "tpd_approval_attempts_total", result="already_reviewed") == 1
    assert sample(metrics, "tpd_event_retries_total") == 1


def test_the_state_gauges_follow_the_daemons_health() -> None:
    metrics, daemon = metrics_for()
    gauges = ("tpd_teleport_watch_connected", "tpd_pagerduty_reachable", "tpd_ready")
    assert [sample(metrics, name) for name in gauges] == [0, 0, 0]
    daemon.make_ready()
    assert [sample(metrics, name) for name in gauges] == [1, 1, 1]
    daemon.emit(attempt(503))
    assert [sample(metrics, name) for name in gauges] == [1, 0, 0]
    daemon.emit(events.WatcherDisconnected(error="UNAVAILABLE: gone"), attempt(201))
    assert [sample(metrics, name) for name in gauges] == [0, 1, 0]


def test_after_close_the_daemons_events_are_no_longer_counted() -> None:
    metrics, daemon = metrics_for()
    daemon.emit(events.RetryScheduled(request_id="r1", attempt=1, delay=2.0))
    metrics.close()
    daemon.emit(events.RetryScheduled(request_id="r1", attempt=2, delay=4.0))
    assert sample(metrics, "tpd_event_retries_total") == 1
