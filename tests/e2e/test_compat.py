"""Switching from the Go plugin mid-flight: tpd continues from the Go plugin's plugin data (its
exact 9-key format) with no duplicate incident, no repeated note and no lost resolution."""

from __future__ import annotations

from teleport_access import RequestState
from teleport_access.testing import FakeAuthServer
from teleport_pd_cli.policy.plugindata import KEYS
from tests.e2e.world import (
    NOTIFY_SERVICE,
    REQUESTER_1,
    REQUESTER_OSS,
    REVIEWER_1,
    REVIEWER_2,
    TIMEOUT,
    PagerDutyWorld,
    StartTpd,
)


def go_record(
    request_id: str,
    fake_auth: FakeAuthServer,
    *,
    incident_id: str,
    service_id: str,
    reviews_count: int = 0,
    resolution: str = "",
    resolve_reason: str = "",
) -> dict[str, str]:
    """What the Go plugin writes: always all 9 keys, "" for zero values."""
    request = fake_auth.get_request(request_id)
    assert request is not None
    assert request.created is not None
    return {
        "incident_id": incident_id,
        "service_id": service_id,
        "user": request.user,
        "roles": ",".join(request.roles),
        "created": str(int(request.created.timestamp())),
        "request_reason": request.request_reason,
        "reviews_count": str(reviews_count) if reviews_count else "",
        "resolution": resolution,
        "resolve_reason": resolve_reason,
    }


async def test_tpd_continues_the_go_plugins_requests_without_duplicates(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    service = pagerduty.services[NOTIFY_SERVICE]
    # 1. Paged by the Go plugin, which also posted the note of the first review.
    reviewed = fake_auth.create_request(REQUESTER_1, ["editor"], reason="go era")
    fake_auth.submit_review(reviewed.id, REVIEWER_1, RequestState.APPROVED, reason="okay")
    reviewed_incident = pagerduty.fake.add_incident(
        service,
        "Access request from requester1",
        incident_key=f"teleport-access-request/{reviewed.id}",
    )
    fake_auth.set_plugin_data(
        reviewed.id,
        "pagerduty",
        go_record(
            reviewed.id,
            fake_auth,
            incident_id=reviewed_incident.id,
            service_id=service.id,
            reviews_count=1,
        ),
    )
    # 2. The Go plugin claimed the request and died before recording its incident (it would
    # never have retried); the incident does exist in PagerDuty.
    orphan = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="go crashed")
    orphan_incident = pagerduty.fake.add_incident(
        service,
        "Access request from requester-oss",
        incident_key=f"teleport-access-request/{orphan.id}",
    )
    fake_auth.set_plugin_data(
        orphan.id, "pagerduty", go_record(orphan.id, fake_auth, incident_id="", service_id="")
    )

    tpd = await start_tpd()
    await tpd.wait_for_log("Caught up")
    adopted = await fake_auth.wait_for_plugin_data(
        orphan.id,
        "pagerduty",
        lambda d: d.get("incident_id") == orphan_incident.id,
        timeout=TIMEOUT,
    )
    assert adopted["service_id"] == service.id

    fake_auth.submit_review(reviewed.id, REVIEWER_2, RequestState.APPROVED, reason="finally okay")
    await pagerduty.wait_for_status(reviewed_incident.id, "resolved")
    fake_auth.approve(orphan.id, reason="fine")
    await pagerduty.wait_for_status(orphan_incident.id, "resolved")

    assert len(pagerduty.fake.incidents) == 2
    assert pagerduty.fake.requests_to("POST", "/incidents") == []
    notes = pagerduty.note_texts(reviewed_incident.id)
    assert len(notes) == 2, notes  # reviewer1's note was the Go plugin's
    assert f"{REVIEWER_2} reviewed the request" in notes[0]
    assert notes[1] == "Access request has been approved\nReason: finally okay"
    assert pagerduty.note_texts(orphan_incident.id) == [
        "Access request has been approved\nReason: fine"
    ]

    data = fake_auth.plugin_data(reviewed.id, "pagerduty")
    assert data is not None
    assert set(data) <= set(KEYS)
    assert data == {
        key: value
        for key, value in go_record(
            reviewed.id,
            fake_auth,
            incident_id=reviewed_incident.id,
            service_id=service.id,
            reviews_count=2,
            resolution="approved",
            resolve_reason="finally okay",
        ).items()
        if value  # Teleport stores no empty values
    }


async def test_an_interrupted_resolution_is_finished_after_the_handler_timeout(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    service = pagerduty.services[NOTIFY_SERVICE]
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="crash")
    incident = pagerduty.fake.add_incident(
        service, "Access request", incident_key=f"teleport-access-request/{request.id}"
    )
    fake_auth.approve(request.id, reason="approved before the crash")
    # A plugin claimed the resolution and died before posting the note and resolving.
    fake_auth.set_plugin_data(
        request.id,
        "pagerduty",
        go_record(
            request.id,
            fake_auth,
            incident_id=incident.id,
            service_id=service.id,
            resolution="approved",
            resolve_reason="approved before the crash",
        ),
    )

    # The repair waits for the handler timeout (plus 5 s): whoever claimed it has given up.
    tpd = await start_tpd(extra='[tpd]\nhandler_timeout = "1s"\n')
    await tpd.wait_for_log("is recorded but the incident is still triggered", request_id=request.id)
    await pagerduty.wait_for_status(incident.id, "resolved", timeout=TIMEOUT)
    assert pagerduty.note_texts(incident.id) == [
        "Access request has been approved\nReason: approved before the crash"
    ]
    await tpd.wait_for_log("Finishing the interrupted resolution", request_id=request.id)
