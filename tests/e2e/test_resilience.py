"""`tpd run` loses nothing and duplicates nothing across downtime, restarts, crashes, PagerDuty's
rate limit and errors, and a dropped watch stream."""

from __future__ import annotations

import collections
import socket

import pytest

from teleport_access import RequestState
from teleport_access.testing import FakeAuthServer
from tests.e2e.world import (
    REQUESTER_1,
    REQUESTER_OSS,
    REVIEWER_1,
    TIMEOUT,
    PagerDutyWorld,
    StartTpd,
    TpdProcess,
    plugin_data_has,
    seed_teleport,
)


def incident_posts(pagerduty: PagerDutyWorld) -> int:
    """Incident-creating calls PagerDuty answered with 201."""
    return sum(1 for r in pagerduty.fake.requests_to("POST", "/incidents") if r.status == 201)


def assert_one_incident_per_request(pagerduty: PagerDutyWorld) -> None:
    keys = collections.Counter(incident.incident_key for incident in pagerduty.fake.incidents)
    duplicates = {key: count for key, count in keys.items() if count > 1}
    assert not duplicates, duplicates


async def paged(
    fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld, user: str = REQUESTER_OSS
) -> str:
    request = fake_auth.create_request(user, ["editor"], reason="because of")
    await fake_auth.wait_for_plugin_data(
        request.id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
    )
    return request.id


async def test_catch_up_after_downtime_handles_what_happened_while_tpd_was_stopped(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    first = await start_tpd()
    reviewed = await paged(fake_auth, pagerduty, REQUESTER_1)
    approved = await paged(fake_auth, pagerduty)
    deleted = await paged(fake_auth, pagerduty)
    untouched = await paged(fake_auth, pagerduty)
    assert await first.stop() == 0
    assert first.find_logs("Successfully shut down")

    # While tpd is down:
    fake_auth.submit_review(reviewed, REVIEWER_1, RequestState.APPROVED, reason="while away")
    fake_auth.approve(approved, reason="approved while away")
    fake_auth.delete_request(deleted)
    created = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="created while away")

    second = await start_tpd()
    await second.wait_for_log("Caught up")
    new_incident = await pagerduty.wait_for_incident(created.id)
    assert new_incident.status == "triggered"
    await pagerduty.wait_for_note(
        pagerduty.incident_for(reviewed).id, f"{REVIEWER_1} reviewed the request", "while away"
    )
    approved_incident = pagerduty.incident_for(approved).id
    await pagerduty.wait_for_note(
        approved_incident, "Access request has been approved", "Reason: approved while away"
    )
    await pagerduty.wait_for_status(approved_incident, "resolved")
    deleted_incident = pagerduty.incident_for(deleted).id
    await pagerduty.wait_for_note(deleted_incident, "Access request has been expired")
    await pagerduty.wait_for_status(deleted_incident, "resolved")
    assert pagerduty.incident_for(untouched).status == "triggered"

    assert incident_posts(pagerduty) == 5
    assert_one_incident_per_request(pagerduty)
    for incident in pagerduty.fake.incidents:
        notes = pagerduty.note_texts(incident.id)
        assert len(notes) == len(set(notes)), notes


async def test_a_restart_creates_no_second_incident(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    first = await start_tpd()
    request_id = await paged(fake_auth, pagerduty)
    assert await first.kill() != 0  # kill -9: no graceful anything

    second = await start_tpd()
    await second.wait_for_log("Caught up")
    fake_auth.approve(request_id, reason="after the restart")
    incident = pagerduty.incident_for(request_id)
    await pagerduty.wait_for_status(incident.id, "resolved")

    assert incident_posts(pagerduty) == 1
    assert len(pagerduty.fake.incidents) == 1
    notes = pagerduty.note_texts(incident.id)
    assert notes == ["Access request has been approved\nReason: after the restart"]


async def test_kill_9_during_a_burst_then_restart_leaves_exactly_one_incident_each(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    first = await start_tpd()
    # PagerDuty answers slowly (after doing the work): the kill catches incidents that exist in
    # PagerDuty but were never recorded in Teleport.
    pagerduty.fake.faults.delay = 0.3
    requests = [
        fake_auth.create_request(REQUESTER_OSS, ["editor"], reason=f"burst {index}")
        for index in range(12)
    ]
    await pagerduty.wait_for(lambda: pagerduty.fake.incidents, what="a first incident")
    await first.kill()
    pagerduty.fake.reset_faults()
    recorded = sum(
        1
        for request in requests
        if (fake_auth.plugin_data(request.id, "pagerduty") or {}).get("incident_id")
    )
    assert recorded < len(pagerduty.fake.incidents) or recorded < len(requests)

    second = await start_tpd()
    for request in requests:
        await fake_auth.wait_for_plugin_data(
            request.id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
        )
    await second.wait_for_log("Caught up")
    assert len(pagerduty.fake.incidents) == len(requests)
    assert_one_incident_per_request(pagerduty)
    for request in requests:
        data = fake_auth.plugin_data(request.id, "pagerduty")
        assert data is not None
        assert data["incident_id"] == pagerduty.incident_for(request.id).id


async def test_a_rate_limit_storm_delays_but_never_duplicates_or_loses_an_incident(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    tpd = await start_tpd()
    pagerduty.fake.faults.rate_limit = 3
    pagerduty.fake.faults.rate_limit_window = 1.0
    requests = [
        fake_auth.create_request(REQUESTER_OSS, ["editor"], reason=f"storm {index}")
        for index in range(8)
    ]
    for request in requests:
        await fake_auth.wait_for_plugin_data(
            request.id, "pagerduty", plugin_data_has("incident_id"), timeout=60.0
        )
    pagerduty.fake.reset_faults()

    statuses = collections.Counter(r.status for r in pagerduty.fake.requests)
    assert statuses[429] > 0
    assert len(pagerduty.fake.incidents) == len(requests)
    assert_one_incident_per_request(pagerduty)
    assert incident_posts(pagerduty) == len(requests)
    assert tpd.returncode is None


@pytest.mark.slow
async def test_random_500s_and_ambiguous_failures_still_page_note_and_resolve_once(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    tpd = await start_tpd()
    faults = pagerduty.fake.faults
    faults.error_rate = 0.25
    faults.error_after_processing_rate = 0.1
    requests = [
        fake_auth.create_request(REQUESTER_1, ["editor"], reason=f"flaky {index}")
        for index in range(6)
    ]
    for request in requests:
        await fake_auth.wait_for_plugin_data(
            request.id, "pagerduty", plugin_data_has("incident_id"), timeout=60.0
        )
    for request in requests:
        fake_auth.submit_review(request.id, REVIEWER_1, RequestState.APPROVED, reason="first")
        fake_auth.approve(request.id, reason="done")
    for request in requests:
        incident = pagerduty.incident_for(request.id)
        await pagerduty.wait_for_status(incident.id, "resolved", timeout=60.0)
        await pagerduty.wait_for_note(incident.id, "Access request has been approved", timeout=60)
    pagerduty.fake.reset_faults()

    failures = sum(1 for r in pagerduty.fake.requests if r.status == 500)
    assert failures > 0
    assert len(pagerduty.fake.incidents) == len(requests)
    assert_one_incident_per_request(pagerduty)
    for request in requests:
        incident = pagerduty.incident_for(request.id)
        notes = pagerduty.note_texts(incident.id)
        assert sum("Access request has been approved" in n for n in notes) == 1, notes
        assert sum(f"{REVIEWER_1} reviewed the request" in n for n in notes) == 1, notes
    assert tpd.returncode is None


async def test_a_failed_incident_creation_is_retried_without_another_event(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    tpd = await start_tpd()
    first = await paged(fake_auth, pagerduty)
    # Once its approval step is over, the services and the requester are cached.
    await tpd.wait_for_log("Skipping the approval", request_id=first)
    # So the next PagerDuty call is the next incident's POST; PagerDuty refuses it (a status
    # the client does not retry), the handler fails, and nothing else happens to the request:
    # yet the incident must come.
    pagerduty.fake.fail_next(times=1, status=403)
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="retry me")

    await tpd.wait_for_log("Failed to process request; retrying", request_id=request.id)
    incident = await pagerduty.wait_for_incident(request.id)
    data = await fake_auth.wait_for_plugin_data(
        request.id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
    )
    assert data["incident_id"] == incident.id
    assert len(pagerduty.incidents_for(request.id)) == 1
    refused = [r for r in pagerduty.fake.requests_to("POST", "/incidents") if r.status == 403]
    assert len(refused) == 1


async def test_a_dropped_watch_stream_reconnects_and_catches_up(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    before = await paged(fake_auth, pagerduty)
    fake_auth.fail_next("WatchEvents", times=3, code="UNAVAILABLE")
    assert fake_auth.drop_watch_streams() >= 1
    # Changes while the stream is down (or reconnecting) must not be lost.
    fake_auth.approve(before, reason="while dropped")
    during = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="while dropped")

    await tpd.wait_for_log("Attempting to reconnect")
    await tpd.wait_for_log("Watcher connected (connection")
    await pagerduty.wait_for_incident(during.id)
    await pagerduty.wait_for_status(pagerduty.incident_for(before).id, "resolved")
    after = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="after the drop")
    await pagerduty.wait_for_incident(after.id)
    assert_one_incident_per_request(pagerduty)
    assert len(pagerduty.fake.incidents) == 3


@pytest.mark.own_teleport_address
async def test_start_up_waits_for_an_unreachable_auth_service(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    later = FakeAuthServer(cluster_name=fake_auth.cluster_name, ca=fake_auth.ca, port=port)
    seed_teleport(later)
    tpd = await start_tpd(wait_ready=False, teleport_address=f"127.0.0.1:{port}")
    await tpd.wait_for_log("Connecting to the Teleport Auth Service")
    assert tpd.returncode is None
    async with later:
        await tpd.wait_ready()
        request = later.create_request(REQUESTER_OSS, ["editor"], reason="late start")
        await pagerduty.wait_for_incident(request.id)
        assert await tpd.stop() == 0
