"""The Go plugin's acceptance scenarios (reference §6.3, all but the access-monitoring-rule one),
with `tpd run` as a real subprocess and the same assertions on texts, incident key, status,
plugin data and review author."""

from __future__ import annotations

import asyncio

from teleport_access import RequestState
from teleport_access.testing import FakeAuthServer
from tests.e2e.world import (
    NOTIFY_SERVICE,
    PLUGIN_USER,
    REQUESTER_1,
    REQUESTER_2,
    REQUESTER_OSS,
    REVIEWER_1,
    REVIEWER_2,
    TIMEOUT,
    PagerDutyWorld,
    TpdProcess,
    plugin_data_has,
)


async def test_incident_creation_pages_the_annotated_service_with_the_request_key(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld, teleport_address: str
) -> None:
    route = await tpd.wait_for_log("Reaching the Teleport Auth Service by route")
    expected = "auth" if teleport_address == fake_auth.address else "proxy-tls-routing"
    assert route["teleport_route"] == expected
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    data = await fake_auth.wait_for_plugin_data(
        request.id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
    )
    incident = await pagerduty.fake.next_incident(timeout=TIMEOUT)
    assert incident.id == data["incident_id"]
    assert data["service_id"] == pagerduty.services[NOTIFY_SERVICE].id
    assert incident.incident_key == f"teleport-access-request/{request.id}"
    assert incident.status == "triggered"
    assert incident.title == f"Access request from {REQUESTER_OSS}"
    assert pagerduty.incidents_for(request.id) == [incident]
    details = pagerduty.fake.incident_details(incident.id)
    assert f"{REQUESTER_OSS} requested permissions for roles editor on Teleport at" in details
    assert "Reason: because of" in details
    record = await tpd.wait_for_log(
        "Successfully created PagerDuty incident", request_id=request.id
    )
    assert record["pd_incident_id"] == incident.id
    assert record["pd_service_name"] == NOTIFY_SERVICE
    assert record["request_state"] == "PENDING"
    assert record["request_op"] == "put"


async def test_approval_posts_the_resolution_note_and_resolves_the_incident(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")
    incident = await pagerduty.fake.next_incident(timeout=TIMEOUT)
    await fake_auth.wait_for_plugin_data(
        request.id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
    )

    fake_auth.approve(request.id, reason="okay")

    note = await pagerduty.fake.next_note(timeout=TIMEOUT)
    assert note.incident_id == incident.id
    assert "Access request has been approved" in note.note.content
    assert "Reason: okay" in note.note.content
    update = await pagerduty.fake.next_incident_update(timeout=TIMEOUT)
    assert (update.id, update.status) == (incident.id, "resolved")
    data = await fake_auth.wait_for_plugin_data(
        request.id, "pagerduty", plugin_data_has("resolution"), timeout=TIMEOUT
    )
    assert (data["resolution"], data["resolve_reason"]) == ("approved", "okay")


async def test_denial_posts_the_resolution_note_and_resolves_the_incident(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")
    incident = await pagerduty.fake.next_incident(timeout=TIMEOUT)
    await fake_auth.wait_for_plugin_data(
        request.id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
    )

    fake_auth.deny(request.id, reason="not okay")

    note = await pagerduty.fake.next_note(timeout=TIMEOUT)
    assert note.incident_id == incident.id
    assert "Access request has been denied" in note.note.content
    assert "Reason: not okay" in note.note.content
    update = await pagerduty.fake.next_incident_update(timeout=TIMEOUT)
    assert (update.id, update.status) == (incident.id, "resolved")


async def test_review_notes_are_posted_in_order_with_author_resolution_and_reason(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    request = fake_auth.create_request(REQUESTER_1, ["editor"], reason="because of")
    incident = await pagerduty.fake.next_incident(timeout=TIMEOUT)

    fake_auth.submit_review(request.id, REVIEWER_1, RequestState.APPROVED, reason="okay")
    first = await pagerduty.fake.next_note(timeout=TIMEOUT)
    fake_auth.submit_review(request.id, REVIEWER_2, RequestState.DENIED, reason="not okay")
    second = await pagerduty.fake.next_note(timeout=TIMEOUT)

    data = await fake_auth.wait_for_plugin_data(
        request.id, "pagerduty", lambda d: d.get("reviews_count") == "2", timeout=TIMEOUT
    )
    assert data["incident_id"] == incident.id
    assert first.incident_id == second.incident_id == incident.id
    assert f"{REVIEWER_1} reviewed the request" in first.note.content
    assert "Resolution: APPROVED" in first.note.content
    assert "Reason: okay" in first.note.content
    assert f"{REVIEWER_2} reviewed the request" in second.note.content
    assert "Resolution: DENIED" in second.note.content
    assert "Reason: not okay" in second.note.content
    assert fake_auth.get_request(request.id).state is RequestState.PENDING


async def _resolved_by_reviews(
    fake_auth: FakeAuthServer,
    pagerduty: PagerDutyWorld,
    state: RequestState,
    reasons: tuple[str, str],
    tag: str,
) -> None:
    request = fake_auth.create_request(REQUESTER_1, ["editor"], reason="because of")
    incident = await pagerduty.fake.next_incident(timeout=TIMEOUT)

    fake_auth.submit_review(request.id, REVIEWER_1, state, reason=reasons[0])
    note = await pagerduty.fake.next_note(timeout=TIMEOUT)
    assert f"{REVIEWER_1} reviewed the request" in note.note.content
    fake_auth.submit_review(request.id, REVIEWER_2, state, reason=reasons[1])
    note = await pagerduty.fake.next_note(timeout=TIMEOUT)
    assert f"{REVIEWER_2} reviewed the request" in note.note.content

    data = await fake_auth.wait_for_plugin_data(
        request.id,
        "pagerduty",
        lambda d: d.get("reviews_count") == "2" and bool(d.get("resolution")),
        timeout=TIMEOUT,
    )
    assert (data["resolution"], data["resolve_reason"]) == (tag, reasons[1])
    note = await pagerduty.fake.next_note(timeout=TIMEOUT)
    assert note.incident_id == incident.id
    assert f"Access request has been {tag}" in note.note.content
    assert f"Reason: {reasons[1]}" in note.note.content
    update = await pagerduty.fake.next_incident_update(timeout=TIMEOUT)
    assert (update.id, update.status) == (incident.id, "resolved")


async def test_approval_by_reviews_notes_both_reviews_then_resolves(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    await _resolved_by_reviews(
        fake_auth, pagerduty, RequestState.APPROVED, ("okay", "finally okay"), "approved"
    )


async def test_denial_by_reviews_notes_both_reviews_then_resolves(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    await _resolved_by_reviews(
        fake_auth, pagerduty, RequestState.DENIED, ("not okay", "finally not okay"), "denied"
    )


async def test_no_approval_when_the_requester_is_not_on_call(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    pagerduty.fake.add_user("Test User", REQUESTER_OSS)
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    await tpd.wait_for_log("Skipping the approval: user is not on call", request_id=request.id)
    after = fake_auth.get_request(request.id)
    assert after.state is RequestState.PENDING
    assert after.reviews == ()


async def _assert_approved_by_plugin(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld, policy: str
) -> None:
    user = pagerduty.fake.add_user("Test User", REQUESTER_OSS)
    pagerduty.fake.add_on_call(user, pagerduty.policies[policy])
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    approved = await fake_auth.wait_for_state(request.id, RequestState.APPROVED, timeout=TIMEOUT)
    assert len(approved.reviews) == 1
    review = approved.reviews[0]
    assert review.author == PLUGIN_USER
    assert review.proposed_state is RequestState.APPROVED
    assert review.reason.startswith(
        f"Access requested by user Test User ({REQUESTER_OSS}) who is on call in service(s) "
    )
    record = await tpd.wait_for_log(
        "Successfully submitted a request approval", request_id=request.id
    )
    assert record["pd_user_email"] == REQUESTER_OSS


async def test_approval_when_the_requester_is_on_call_in_the_first_service(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    await _assert_approved_by_plugin(tpd, fake_auth, pagerduty, "escalation_policy-1")
    request = fake_auth.requests()[0]
    assert request.reviews[0].reason.endswith("on call in service(s) Service 1")


async def test_approval_when_the_requester_is_on_call_in_the_second_policy(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    await _assert_approved_by_plugin(tpd, fake_auth, pagerduty, "escalation_policy-2")
    request = fake_auth.requests()[0]
    assert request.reviews[0].reason.endswith("on call in service(s) Service 2")


async def test_no_approval_when_on_call_only_for_a_service_not_annotated(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    user = pagerduty.fake.add_user("Test User", REQUESTER_OSS)
    pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-3"])
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    await tpd.wait_for_log("Skipping the approval: user is not on call", request_id=request.id)
    after = fake_auth.get_request(request.id)
    assert after.state is RequestState.PENDING
    assert after.reviews == ()


async def test_expiration_resolves_the_incident_with_the_expired_note(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")
    incident = await pagerduty.fake.next_incident(timeout=TIMEOUT)
    assert incident.status == "triggered"
    await fake_auth.wait_for_plugin_data(
        request.id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
    )

    fake_auth.delete_request(request.id)

    update = await pagerduty.fake.next_incident_update(timeout=TIMEOUT)
    assert (update.id, update.status) == (incident.id, "resolved")
    note = await pagerduty.fake.next_note(timeout=TIMEOUT)
    assert note.incident_id == incident.id
    assert "Access request has been expired" in note.note.content


async def test_race_every_request_gets_one_incident_three_notes_and_a_resolution(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    race_number = 8
    racer = pagerduty.fake.add_user("Mr Racer", REQUESTER_2)
    pagerduty.fake.add_on_call(racer, pagerduty.policies["escalation_policy-1"])

    async def one(index: int) -> str:
        if index % 2 == 0:
            request = fake_auth.create_request(REQUESTER_2, ["editor"], reason="race")
        else:
            request = fake_auth.create_request(REQUESTER_1, ["editor"], reason="race")
        await pagerduty.wait_for_incident(request.id)
        if request.user == REQUESTER_2:
            # The plugin's own approval (the requester is on call) supplies the second.
            fake_auth.submit_review(
                request.id, REVIEWER_1, RequestState.APPROVED, reason="reviewed"
            )
            final = RequestState.APPROVED
        else:
            fake_auth.submit_review(request.id, REVIEWER_1, RequestState.DENIED, reason="reviewed")
            fake_auth.submit_review(request.id, REVIEWER_2, RequestState.DENIED, reason="reviewed")
            final = RequestState.DENIED
        await fake_auth.wait_for_state(request.id, final, timeout=TIMEOUT)
        incident = pagerduty.incident_for(request.id)
        await pagerduty.wait_for_status(incident.id, "resolved")
        return request.id

    request_ids = await asyncio.gather(*(one(index) for index in range(race_number)))

    assert len(set(request_ids)) == race_number
    assert len(pagerduty.fake.incidents) == race_number
    for request_id in request_ids:
        incident = pagerduty.incident_for(request_id)
        assert incident.status == "resolved"
        # Let any straggling (wrong) note arrive before counting.
        await tpd.wait_for_log("Successfully resolved the incident", request_id=request_id)
        notes = pagerduty.note_texts(incident.id)
        assert len(notes) == 3, notes
        request = fake_auth.get_request(request_id)
        if request.user == REQUESTER_2:
            assert {review.author for review in request.reviews} == {PLUGIN_USER, REVIEWER_1}
            assert sum(f"{PLUGIN_USER} reviewed the request" in n for n in notes) == 1
            assert sum(f"{REVIEWER_1} reviewed the request" in n for n in notes) == 1
            assert sum("Access request has been approved" in n for n in notes) == 1
        else:
            assert sum("reviewed the request" in n for n in notes) == 2
            assert sum("Access request has been denied" in n for n in notes) == 1
