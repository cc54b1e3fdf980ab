"""Incidents and notes: creating without duplicates, noting, resolving, finding."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pagerduty_client import AsyncPagerDutyClient, InvalidRequest, NotFound, ServerError
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import BOT_EMAIL, World

KEY = "teleport-access-request/0b8d2c4e"


async def test_a_new_incident_is_triggered_and_assigned_to_the_first_tier_on_call(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    incident = await client.create_incident(
        world.payments.id, "Access request from alice", "alice wants admin", KEY
    )
    assert (incident.status, incident.title, incident.incident_key) == (
        "triggered", "Access request from alice", KEY,
    )  # fmt: skip
    assert incident.service.id == world.payments.id
    assert [a.assignee.id for a in incident.assignments] == [world.alice.id]
    assert fake.incident_details(incident.id) == "alice wants admin"
    assert await fake.next_incident(timeout=1) == incident


async def test_the_create_request_is_exactly_what_the_openapi_document_asks_for(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    await client.create_incident(world.payments.id, "T", "D", KEY, urgency="low")
    [request] = fake.requests_to("POST", "/incidents")
    assert request.body == {
        "incident": {
            "type": "incident",
            "title": "T",
            "service": {"id": world.payments.id, "type": "service_reference"},
            "urgency": "low",
            "body": {"type": "incident_body", "details": "D"},
            "incident_key": KEY,
        }
    }


async def test_creating_again_with_an_open_key_returns_the_existing_incident(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    first = await client.create_incident(world.payments.id, "T", "D", KEY)
    second = await client.create_incident(world.payments.id, "T", "D", KEY)
    assert second.id == first.id
    assert len(fake.incidents) == 1
    assert [r.status for r in fake.requests_to("POST", "/incidents")] == [201, 400]


async def test_a_resolved_incident_does_not_block_a_new_one_with_the_same_key(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    first = await client.create_incident(world.payments.id, "T", "D", KEY)
    await client.resolve_incident(first.id)
    second = await client.create_incident(world.payments.id, "T", "D", KEY)
    assert second.id != first.id
    assert second.status == "triggered"


async def test_a_create_whose_answer_was_lost_to_a_500_is_found_not_repeated(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    fake.fail_next(status=500, after_processing=True)
    incident = await client.create_incident(world.payments.id, "T", "D", KEY)
    assert [i.id for i in fake.incidents] == [incident.id]
    assert len(fake.requests_to("POST", "/incidents")) == 1
    lookup = fake.requests_to("GET", "/incidents")[-1]
    assert (lookup.param("incident_key"), lookup.params("service_ids[]")) == (
        KEY, [world.payments.id],
    )  # fmt: skip


async def test_a_create_whose_connection_dropped_is_found_not_repeated(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    fake.fail_next(after_processing=True, disconnect=True)
    incident = await client.create_incident(world.payments.id, "T", "D", KEY)
    assert [i.id for i in fake.incidents] == [incident.id]


async def test_a_create_refused_before_processing_is_posted_again(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    fake.fail_next(status=503)
    incident = await client.create_incident(world.payments.id, "T", "D", KEY)
    assert [i.id for i in fake.incidents] == [incident.id]
    assert [r.status for r in fake.requests_to("POST", "/incidents")] == [503, 201]


async def test_without_a_key_an_ambiguous_create_is_raised_not_repeated(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    fake.fail_next(status=500, after_processing=True)
    with pytest.raises(ServerError) as caught:
        await client.create_incident(world.payments.id, "T", "D", None)
    assert caught.value.attempts == 1
    assert len(fake.incidents) == 1  # it was created; the caller is told it may have been


async def test_a_create_on_an_unknown_service_is_an_invalid_request(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    with pytest.raises(InvalidRequest, match="Service not found"):
        await client.create_incident("PNOSUCH", "T", "D", KEY)


async def test_a_note_is_added_by_the_from_user(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    incident = await client.create_incident(world.payments.id, "T", "D", KEY)
    note = await client.add_note(incident.id, "bob reviewed the request")
    assert note.content == "bob reviewed the request"
    assert note.user is not None
    assert note.user.summary == "Access Bot"
    event = await fake.next_note(timeout=1)
    assert (event.incident_id, event.note) == (incident.id, note)
    assert fake.requests_to("POST", "/incidents/{id}/notes")[0].headers["from"] == BOT_EMAIL


async def test_a_note_whose_answer_was_lost_is_not_added_twice(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    incident = await client.create_incident(world.payments.id, "T", "D", KEY)
    fake.fail_next(status=502, after_processing=True)
    note = await client.add_note(incident.id, "only once")
    assert [n.id for n in fake.notes(incident.id)] == [note.id]


async def test_notes_are_listed_oldest_first(client: AsyncPagerDutyClient, world: World) -> None:
    incident = await client.create_incident(world.payments.id, "T", "D", KEY)
    for text in ("one", "two", "three"):
        await client.add_note(incident.id, text)
    assert [n.content for n in await client.list_notes(incident.id)] == ["one", "two", "three"]


async def test_a_note_on_a_missing_incident_is_not_found(client: AsyncPagerDutyClient) -> None:
    with pytest.raises(NotFound):
        await client.add_note("PNOSUCH", "x")


async def test_resolving_sends_exactly_a_resolved_incident_reference(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    incident = await client.create_incident(world.payments.id, "T", "D", KEY)
    resolved = await client.resolve_incident(incident.id)
    assert (resolved.status, resolved.assignments) == ("resolved", ())
    assert resolved.resolved_at is not None
    [request] = fake.requests_to("PUT", "/incidents/{id}")
    assert request.body == {"incident": {"type": "incident_reference", "status": "resolved"}}
    assert (await fake.next_incident_update(timeout=1)).status == "resolved"


async def test_resolving_an_already_resolved_incident_is_a_success(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    incident = await client.create_incident(world.payments.id, "T", "D", KEY)
    await client.resolve_incident(incident.id)
    again = await client.resolve_incident(incident.id)
    assert again.status == "resolved"
    assert [r.status for r in fake.requests_to("PUT", "/incidents/{id}")] == [200, 400]


async def test_resolving_a_missing_incident_is_not_found(client: AsyncPagerDutyClient) -> None:
    with pytest.raises(NotFound):
        await client.resolve_incident("PNOSUCH")


async def test_an_incident_is_read_by_id(client: AsyncPagerDutyClient, world: World) -> None:
    created = await client.create_incident(world.payments.id, "T", "D", KEY)
    assert await client.get_incident(created.id) == created


async def test_incidents_are_found_by_key_status_and_service(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    a = fake.add_incident(world.payments, "a", incident_key="k1")
    fake.add_incident(world.billing, "b", incident_key="k1")
    c = fake.add_incident(world.payments, "c", incident_key="k2", status="resolved")
    assert [
        i.id
        for i in await client.find_incidents(incident_key="k1", service_ids=[world.payments.id])
    ] == [a.id]
    assert [i.id for i in await client.find_incidents(statuses=["resolved"])] == [c.id]
    assert len(await client.find_incidents()) == 3


async def test_find_incidents_looks_beyond_the_one_month_default_window(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World, clock: FakeClock
) -> None:
    old = fake.add_incident(
        world.payments, "old", incident_key="k", created_at=clock.now() - timedelta(days=60)
    )
    assert [i.id for i in await client.find_incidents(incident_key="k")] == [old.id]
    assert await client.find_incidents(incident_key="k", date_range=None) == []
    window = await client.find_incidents(
        date_range=None, since=clock.now() - timedelta(days=61), until=clock.now()
    )
    assert [i.id for i in window] == [old.id]


async def test_date_range_all_and_since_until_are_exclusive(
    client: AsyncPagerDutyClient, clock: FakeClock
) -> None:
    with pytest.raises(ValueError, match="date_range"):
        await client.find_incidents(since=clock.now())
