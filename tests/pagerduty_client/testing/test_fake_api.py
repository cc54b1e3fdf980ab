"""The fake behaves like PagerDuty: fuzzy queries, pagination, auth, From, de-duplication,
incident lifecycle, filters, and error bodies in PagerDuty's shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from pagerduty_client.testing import FakeClock, FakePagerDuty, _openapi
from tests.pagerduty_client.conftest import API_KEY, BOT_EMAIL, World
from tests.pagerduty_client.testing.conftest import HEADERS, WRITE_HEADERS

# Some answers are richer when PagerDuty's OpenAPI document is beside the project (CI has it):
# the violation log and the "documented but not implemented" message come from the document.
needs_document = pytest.mark.skipif(
    _openapi.discover() is None, reason="pagerduty-openapi.json not found"
)


def error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]  # type: ignore[no-any-return]


def create(
    raw: httpx.Client, service_id: str, key: str | None = "k", **extra: Any
) -> httpx.Response:
    incident: dict[str, Any] = {
        "type": "incident",
        "title": "Access request",
        "service": {"id": service_id, "type": "service_reference"},
        **extra,
    }
    if key is not None:
        incident["incident_key"] = key
    return raw.post("/incidents", json={"incident": incident}, headers=WRITE_HEADERS)


def resolve(raw: httpx.Client, incident_id: str) -> httpx.Response:
    body = {"incident": {"type": "incident_reference", "status": "resolved"}}
    return raw.put(f"/incidents/{incident_id}", json=body, headers=WRITE_HEADERS)


def test_user_query_is_a_case_insensitive_substring_of_name_or_email(
    raw: httpx.Client, world: World
) -> None:
    def emails(query: str) -> list[str]:
        users = raw.get("/users", params={"query": query}).json()["users"]
        return [u["email"] for u in users]

    assert emails("ALICE@EXAMPLE") == ["alice@example.com"]
    assert emails("example") == ["access-bot@example.com", "alice@example.com", "bob@example.com"]
    assert emails("bob ex") == ["bob@example.com"]  # by name
    assert emails("nobody") == []


def test_service_query_is_a_case_insensitive_substring_of_the_name(
    raw: httpx.Client, fake: FakePagerDuty, world: World
) -> None:
    fake.add_service("Payments Staging", world.ops)
    names = [s["name"] for s in raw.get("/services", params={"query": "PAY"}).json()["services"]]
    assert names == ["Payments", "Payments Staging"]


def test_lists_are_paginated_with_limit_offset_and_more(
    raw: httpx.Client, fake: FakePagerDuty
) -> None:
    for n in range(29):
        fake.add_user(f"User {n:02d}", f"u{n}@example.com")
    first = raw.get("/users").json()
    assert (len(first["users"]), first["limit"], first["offset"], first["more"]) == (
        25,
        25,
        0,
        True,
    )
    assert first["total"] is None
    last = raw.get("/users", params={"offset": 25, "limit": 10, "total": "true"}).json()
    assert (len(last["users"]), last["more"], last["total"]) == (5, False, 30)


def test_a_limit_above_100_is_capped(raw: httpx.Client, fake: FakePagerDuty) -> None:
    for n in range(120):
        fake.add_user(f"User {n:03d}", f"u{n}@example.com")
    page = raw.get("/users", params={"limit": 500}).json()
    assert (page["limit"], len(page["users"])) == (100, 100)


def test_offset_plus_limit_beyond_10000_is_refused_with_code_2002(raw: httpx.Client) -> None:
    response = raw.get("/users", params={"offset": 9_950, "limit": 100})
    assert response.status_code == 400
    assert error(response) == {
        "message": "Arguments Caused Error",
        "code": 2002,
        "errors": ["Offset+limit exceeds maximum allowed value of 10000."],
    }


def test_a_wrong_token_is_401_with_code_2006(raw: httpx.Client) -> None:
    response = raw.get("/abilities", headers={"Authorization": "Token token=nope"})
    assert response.status_code == 401
    assert error(response)["code"] == 2006


def test_a_malformed_authorization_header_is_401(raw: httpx.Client) -> None:
    assert raw.get("/abilities", headers={"Authorization": API_KEY}).status_code == 401


def test_a_read_only_key_may_read_but_not_write(clock: FakeClock) -> None:
    fake_url = "https://api.pagerduty.com"
    fake = FakePagerDuty(read_only_api_keys=["ro"], clock=clock.monotonic, now=clock.now)
    headers = {**HEADERS, "Authorization": "Token token=ro"}
    transport = fake.sync_transport()
    with httpx.Client(base_url=fake_url, transport=transport, headers=headers) as client:
        assert client.get("/abilities").status_code == 200
        response = client.put("/incidents/PX", json={}, headers={"From": "x@example.com"})
    assert (response.status_code, error(response)["code"]) == (403, 2010)


@needs_document
def test_a_write_without_from_is_400_with_pagerdutys_message(
    raw: httpx.Client, fake: FakePagerDuty, world: World
) -> None:
    service = {"id": world.payments.id, "type": "service_reference"}
    body = {"incident": {"type": "incident", "title": "t", "service": service}}
    response = raw.post("/incidents", json=body)
    assert response.status_code == 400
    assert error(response) == {
        "message": 'You must specify a user\'s email address in the "From" header to perform '
        "this action",
        "code": 2016,
    }
    assert [v.message for v in fake.violations] == [
        "POST /incidents (createIncident): required header From is missing"
    ]
    fake.clear_violations()


def test_a_from_that_is_not_a_user_is_400_requester_not_found(
    raw: httpx.Client, world: World
) -> None:
    service = {"id": world.payments.id, "type": "service_reference"}
    body = {"incident": {"type": "incident", "title": "t", "service": service}}
    response = raw.post("/incidents", json=body, headers={**HEADERS, "From": "ghost@example.com"})
    assert (response.status_code, error(response)["code"]) == (400, 1008)


def test_a_duplicate_open_incident_key_in_a_service_is_refused(
    raw: httpx.Client, world: World
) -> None:
    assert create(raw, world.payments.id).status_code == 201
    response = create(raw, world.payments.id)
    assert response.status_code == 400
    assert error(response) == {
        "message": "Arguments Caused Error",
        "code": 2002,
        "errors": ["Open incident with matching dedup key already exists on this service"],
    }
    assert create(raw, world.billing.id).status_code == 201  # another service: no conflict


def test_an_incident_starts_triggered_assigned_to_the_first_tier(
    raw: httpx.Client, fake: FakePagerDuty, world: World
) -> None:
    incident = create(raw, world.payments.id).json()["incident"]
    assert (incident["status"], incident["incident_number"], incident["urgency"]) == (
        "triggered", 1, "high",
    )  # fmt: skip
    assert [a["assignee"]["id"] for a in incident["assignments"]] == [world.alice.id]
    assert incident["escalation_policy"]["id"] == world.ops.id
    assert incident["assigned_via"] == "escalation_policy"
    service = raw.get(f"/services/{world.payments.id}").json()["service"]
    assert service["status"] == "critical"


def test_an_incident_without_a_key_gets_one_generated(raw: httpx.Client, world: World) -> None:
    incident = create(raw, world.payments.id, key=None).json()["incident"]
    assert len(incident["incident_key"]) == 32


def test_explicit_assignments_replace_the_policys(raw: httpx.Client, world: World) -> None:
    assignments = [{"assignee": {"id": world.bob.id, "type": "user_reference"}}]
    incident = create(raw, world.payments.id, assignments=assignments).json()["incident"]
    assert [a["assignee"]["id"] for a in incident["assignments"]] == [world.bob.id]
    assert incident["assigned_via"] == "direct_assignment"


def test_an_incident_on_an_unknown_service_is_refused(raw: httpx.Client) -> None:
    response = create(raw, "PNOPE")
    assert (response.status_code, error(response)["errors"]) == (400, ["Service not found"])


def test_notes_are_added_and_listed(raw: httpx.Client, world: World) -> None:
    incident_id = create(raw, world.payments.id).json()["incident"]["id"]
    path = f"/incidents/{incident_id}/notes"
    added = raw.post(path, json={"note": {"content": "first"}}, headers=WRITE_HEADERS)
    assert added.status_code == 200  # as the OpenAPI document says, not 201
    assert added.json()["note"]["user"]["summary"] == "Access Bot"
    assert [n["content"] for n in raw.get(path).json()["notes"]] == ["first"]


def test_a_note_on_a_missing_incident_is_404(raw: httpx.Client) -> None:
    response = raw.post("/incidents/PNOPE/notes", json={"note": {"content": "x"}},
                        headers=WRITE_HEADERS)  # fmt: skip
    assert (response.status_code, error(response)) == (404, {"message": "Not Found", "code": 2100})


def test_resolving_clears_assignments_and_resolving_again_is_error_1001(
    raw: httpx.Client, world: World
) -> None:
    incident_id = create(raw, world.payments.id).json()["incident"]["id"]
    resolved = resolve(raw, incident_id).json()["incident"]
    assert (resolved["status"], resolved["assignments"]) == ("resolved", [])
    assert resolved["resolved_at"] is not None
    again = resolve(raw, incident_id)
    assert (again.status_code, error(again)["code"]) == (400, 1001)


def test_a_resolved_incident_can_be_reopened_and_is_reassigned(
    raw: httpx.Client, world: World
) -> None:
    incident_id = create(raw, world.payments.id).json()["incident"]["id"]
    resolve(raw, incident_id)
    body = {"incident": {"type": "incident_reference", "status": "triggered"}}
    reopened = raw.put(f"/incidents/{incident_id}", json=body, headers=WRITE_HEADERS).json()
    assert reopened["incident"]["status"] == "triggered"
    assert reopened["incident"]["resolved_at"] is None
    assert [a["assignee"]["id"] for a in reopened["incident"]["assignments"]] == [world.alice.id]


def test_an_incident_is_read_by_id_or_by_number(raw: httpx.Client, world: World) -> None:
    incident = create(raw, world.payments.id).json()["incident"]
    assert raw.get(f"/incidents/{incident['id']}").json()["incident"]["id"] == incident["id"]
    assert raw.get("/incidents/1").json()["incident"]["id"] == incident["id"]


def test_incidents_are_filtered_by_key_status_service_and_assignee(
    raw: httpx.Client, fake: FakePagerDuty, world: World
) -> None:
    a = fake.add_incident(world.payments, "a", incident_key="k")
    b = fake.add_incident(world.billing, "b", incident_key="k", status="acknowledged")
    fake.add_incident(world.payments, "c", status="resolved")

    def ids(**params: Any) -> list[str]:
        found = raw.get("/incidents", params=params).json()["incidents"]
        return [i["id"] for i in found]

    assert ids(incident_key="k") == [a.id, b.id]
    assert ids(**{"statuses[]": ["acknowledged"]}) == [b.id]
    assert ids(**{"service_ids[]": [world.billing.id]}) == [b.id]
    assert ids(**{"user_ids[]": [world.alice.id]}) == [a.id, b.id]


def test_incidents_default_to_the_last_month_unless_date_range_is_all(
    raw: httpx.Client, fake: FakePagerDuty, world: World, clock: FakeClock
) -> None:
    old = fake.add_incident(world.payments, "old", created_at=clock.now() - timedelta(days=45))
    new = fake.add_incident(world.payments, "new")

    def ids(**params: Any) -> list[str]:
        return [i["id"] for i in raw.get("/incidents", params=params).json()["incidents"]]

    assert ids() == [new.id]
    assert ids(date_range="all") == [old.id, new.id]
    since = (clock.now() - timedelta(days=50)).isoformat()
    until = (clock.now() - timedelta(days=40)).isoformat()
    assert ids(since=since, until=until) == [old.id]


def test_oncalls_are_filtered_by_user_policy_and_time(
    raw: httpx.Client, fake: FakePagerDuty, world: World, clock: FakeClock
) -> None:
    other = fake.add_escalation_policy("Other", rules=[[world.bob]])
    tomorrow = clock.now() + timedelta(days=1)
    fake.add_on_call(world.bob, world.ops, level=2, schedule=world.schedule,
                     start=tomorrow, end=tomorrow + timedelta(hours=8))  # fmt: skip

    def entries(**params: Any) -> list[tuple[str, str, int]]:
        found = raw.get("/oncalls", params=params).json()["oncalls"]
        return [(e["user"]["id"], e["escalation_policy"]["id"], e["escalation_level"])
                for e in found]  # fmt: skip

    assert entries(**{"user_ids[]": [world.bob.id]}) == [
        (world.bob.id, world.ops.id, 2), (world.bob.id, other.id, 1),
    ]  # fmt: skip
    assert entries(**{"escalation_policy_ids[]": [world.ops.id]}) == [
        (world.alice.id, world.ops.id, 1), (world.bob.id, world.ops.id, 2),
    ]  # fmt: skip
    later = {"since": tomorrow.isoformat(), "until": (tomorrow + timedelta(hours=1)).isoformat()}
    assert len(entries(**{"user_ids[]": [world.bob.id], **later})) == 2  # tomorrow's + permanent
    assert len(entries(**{"user_ids[]": [world.bob.id], **later, "earliest": "true"})) == 2


def test_oncall_entries_show_level_schedule_start_and_end(
    raw: httpx.Client, world: World, clock: FakeClock
) -> None:
    found = raw.get("/oncalls", params={"user_ids[]": world.bob.id}).json()["oncalls"]
    assert found == [
        {
            "escalation_policy": {
                "id": world.ops.id, "type": "escalation_policy_reference", "summary": "Ops",
                "self": f"https://api.pagerduty.com/escalation_policies/{world.ops.id}",
                "html_url": f"https://tpd-fake.pagerduty.com/escalation_policies/{world.ops.id}",
            },
            "escalation_level": 2,
            "schedule": {
                "id": world.schedule.id, "type": "schedule_reference",
                "summary": "Secondary rotation",
                "self": f"https://api.pagerduty.com/schedules/{world.schedule.id}",
                "html_url": f"https://tpd-fake.pagerduty.com/schedules/{world.schedule.id}",
            },
            "user": {
                "id": world.bob.id, "type": "user_reference", "summary": "Bob Example",
                "self": f"https://api.pagerduty.com/users/{world.bob.id}",
                "html_url": f"https://tpd-fake.pagerduty.com/users/{world.bob.id}",
            },
            "start": "2024-01-01T08:00:00Z",
            "end": "2024-01-01T16:00:00Z",
        }
    ]  # fmt: skip


def test_schedule_ids_null_selects_the_permanent_direct_target_entries(
    raw: httpx.Client, world: World
) -> None:
    found = raw.get("/oncalls", params={"schedule_ids[]": "null"}).json()["oncalls"]
    assert [(e["user"]["id"], e["schedule"]) for e in found] == [(world.alice.id, None)]


def test_oncalls_until_before_since_is_refused(raw: httpx.Client, clock: FakeClock) -> None:
    params = {
        "since": clock.now().isoformat(),
        "until": (clock.now() - timedelta(hours=1)).isoformat(),
    }
    assert raw.get("/oncalls", params=params).status_code == 400


def test_abilities_are_listed_and_checked_one_by_one(raw: httpx.Client) -> None:
    assert "teams" in raw.get("/abilities").json()["abilities"]
    assert raw.get("/abilities/teams").status_code == 204
    missing = raw.get("/abilities/sso")
    assert (missing.status_code, error(missing)["code"]) == (402, 2014)


@pytest.mark.parametrize(
    "path", ["/users/PNOPE", "/services/PNOPE", "/escalation_policies/PNOPE", "/incidents/PNOPE"]
)
def test_missing_objects_are_404_not_found(raw: httpx.Client, path: str) -> None:
    response = raw.get(path)
    assert (response.status_code, error(response)) == (404, {"message": "Not Found", "code": 2100})


@needs_document
def test_an_unknown_route_is_404_and_recorded_as_a_violation(
    raw: httpx.Client, fake: FakePagerDuty
) -> None:
    assert raw.get("/no/such/thing").status_code == 404
    assert (
        fake.violations[0].message
        == "GET /no/such/thing: no such operation in the OpenAPI document"
    )
    fake.clear_violations()


@needs_document
def test_a_documented_route_the_fake_lacks_says_so(raw: httpx.Client, fake: FakePagerDuty) -> None:
    response = raw.get("/schedules")
    assert response.status_code == 404
    assert error(response)["errors"] == ["the fake PagerDuty does not implement GET /schedules"]


def test_every_request_is_recorded_with_its_answer(raw: httpx.Client, fake: FakePagerDuty) -> None:
    raw.get("/users", params={"query": "a"})
    [request] = fake.requests
    assert (request.method, request.path, request.query, request.status, request.operation) == (
        "GET", "/users", (("query", "a"),), 200, "/users",
    )  # fmt: skip
    assert len(request.response_headers["x-request-id"]) == 32
    assert API_KEY not in repr(request)
    fake.clear_requests()
    assert fake.requests == []


def test_write_requests_record_their_json_body(
    raw: httpx.Client, fake: FakePagerDuty, world: World
) -> None:
    create(raw, world.payments.id)
    assert fake.requests[-1].body["incident"]["title"] == "Access request"
    assert fake.requests[-1].headers["from"] == BOT_EMAIL


def test_escalation_policies_are_listed_by_query_and_by_targeted_user(
    raw: httpx.Client, fake: FakePagerDuty, world: World
) -> None:
    fake.add_escalation_policy("Database on-call", rules=[[world.bob]])

    def names(**params: Any) -> list[str]:
        found = raw.get("/escalation_policies", params=params).json()["escalation_policies"]
        return [p["name"] for p in found]

    assert names() == ["Database on-call", "Ops"]
    assert names(query="OPS") == ["Ops"]
    assert names(**{"user_ids[]": [world.alice.id]}) == ["Ops"]
