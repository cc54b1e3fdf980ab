"""Requests and answers are checked against PagerDuty's OpenAPI document when it is present."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from pagerduty_client.testing import (
    DEFECTS,
    ERRATA,
    FakeClock,
    FakePagerDuty,
    OpenAPIDocument,
    _openapi,
)
from tests.pagerduty_client.conftest import World
from tests.pagerduty_client.testing.conftest import HEADERS, WRITE_HEADERS

DOCUMENT = _openapi.discover()
needs_document = pytest.mark.skipif(DOCUMENT is None, reason="pagerduty-openapi.json not found")


@pytest.fixture
def document() -> OpenAPIDocument:
    assert DOCUMENT is not None
    return _openapi.load(DOCUMENT)


@needs_document
def test_the_test_suite_runs_with_validation_on(fake: FakePagerDuty) -> None:
    assert fake.openapi_path == DOCUMENT


@needs_document
def test_a_strict_fake_rejects_a_request_missing_a_required_field_naming_it(
    raw: httpx.Client, fake: FakePagerDuty, world: World
) -> None:
    body = {"incident": {"title": "t", "service": {"id": world.payments.id,
                                                    "type": "service_reference"}}}  # fmt: skip
    response = raw.post("/incidents", json=body, headers=WRITE_HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]["errors"] == [
        "OpenAPI: POST /incidents (createIncident): request body $.incident: "
        "'type' is a required property"
    ]
    assert [v.kind for v in fake.violations] == ["request"]
    assert fake.incidents == []
    fake.clear_violations()


@needs_document
def test_the_go_plugins_resolve_body_is_accepted_but_its_create_is_not(
    document: OpenAPIDocument,
) -> None:
    headers = {**HEADERS, "From": "bot@example.com"}
    go_resolve = {"incident": {"service": {}, "body": {}, "type": "incident_reference",
                               "status": "resolved"}}  # fmt: skip
    problems = document.check_request("PUT", "/incidents/P1", [], headers,
                                      json.dumps(go_resolve).encode())  # fmt: skip
    assert any("'id' is a required property" in p for p in problems)  # service: {} is invalid
    go_create = {"incident": {"title": "t", "incident_key": "k",
                              "service": {"id": "P", "type": "service_reference"},
                              "body": {"type": "incident_body", "details": "d"}}}  # fmt: skip
    problems = document.check_request("POST", "/incidents", [], headers,
                                      json.dumps(go_create).encode())  # fmt: skip
    assert problems == [
        "POST /incidents (createIncident): request body $.incident: 'type' is a required property"
    ]


@needs_document
def test_undeclared_query_parameters_and_bad_enum_values_are_violations(
    document: OpenAPIDocument,
) -> None:
    problems = document.check_request(
        "GET", "/incidents", [("statuses[]", "open"), ("incident_keys", "k")], HEADERS, b""
    )
    assert problems == [
        "GET /incidents (listIncidents): query parameter statuses[]='open': not one of "
        "['triggered', 'acknowledged', 'resolved']",
        "GET /incidents (listIncidents): query parameter 'incident_keys' is not declared "
        "(declared: ['date_range', 'incident_key', 'include[]', 'limit', 'offset', "
        "'service_ids[]', 'since', 'sort_by', 'statuses[]', 'team_ids[]', 'time_zone', 'total', "
        "'until', 'urgencies[]', 'user_ids[]'])",
    ]


@needs_document
def test_missing_required_headers_are_violations(document: OpenAPIDocument) -> None:
    assert document.check_request("GET", "/abilities", [], {}, b"") == [
        "GET /abilities (listAbilities): required header Accept is missing",
    ]
    body = b'{"note": {"content": "x"}}'
    assert document.check_request("POST", "/incidents/P1/notes", [], {"From": "a@b"}, body) == [
        "POST /incidents/{id}/notes (createIncidentNote): required header Accept is missing",
        "POST /incidents/{id}/notes (createIncidentNote): required header Content-Type is missing",
    ]


@needs_document
def test_a_request_without_a_body_needs_no_content_type_whatever_the_document_says(
    document: OpenAPIDocument,
) -> None:
    accept_only = {"Accept": HEADERS["Accept"]}
    assert document.check_request("GET", "/services", [("limit", "100")], accept_only, b"") == []


@needs_document
def test_the_notes_listing_takes_the_classic_pagination_parameters(
    document: OpenAPIDocument,
) -> None:
    query = [("limit", "100"), ("offset", "0"), ("total", "false")]
    assert document.check_request("GET", "/incidents/P1/notes", query, HEADERS, b"") == []
    bad = document.check_request("GET", "/incidents/P1/notes", [("limit", "x")], HEADERS, b"")
    assert bad == [
        "GET /incidents/{id}/notes (listIncidentNotes): query parameter limit='x': not an integer"
    ]


@needs_document
def test_an_answer_that_departs_from_the_document_is_a_violation(
    document: OpenAPIDocument,
) -> None:
    assert document.check_response("GET", "/abilities", 200, b'{"abilities": [1]}') == [
        "GET /abilities -> 200: answer $.abilities[0]: 1 is not of type 'string'"
    ]
    assert document.check_response("POST", "/incidents/P1/notes", 201, b"{}") == [
        "POST /incidents/{id}/notes -> 201: status 201 is not documented (documented: "
        "['200', '400', '401', '403', '404', '429'])"
    ]


@needs_document
def test_any_error_status_may_use_pagerdutys_generic_error_shape(
    document: OpenAPIDocument,
) -> None:
    body = b'{"error": {"message": "Incident Already Resolved", "code": 1001}}'
    assert document.check_response("PUT", "/incidents/P1", 400, body) == []


@needs_document
def test_by_default_the_fake_records_a_violation_but_answers_as_pagerduty_would(
    clock: FakeClock, world: World
) -> None:
    fake = FakePagerDuty(clock=clock.monotonic, now=clock.now)
    with httpx.Client(
        base_url="https://api.pagerduty.com",
        transport=fake.sync_transport(),
        headers={**HEADERS, "Authorization": "Token token=test-api-key"},
    ) as raw:
        assert raw.get("/abilities", params={"bogus": "1"}).status_code == 200  # fmt: skip
    assert len(fake.violations) == 1
    with pytest.raises(AssertionError, match="1 OpenAPI violation"):
        fake.assert_no_violations()


def test_without_the_document_nothing_is_checked(clock: FakeClock) -> None:
    fake = FakePagerDuty(openapi=False, clock=clock.monotonic, now=clock.now)
    with httpx.Client(
        base_url="https://api.pagerduty.com",
        transport=fake.sync_transport(),
        headers={"Authorization": "Token token=test-api-key"},
    ) as raw:
        assert raw.get("/abilities", params={"bogus": "1"}).status_code == 200  # fmt: skip
    assert fake.openapi_path is None
    assert fake.violations == []


def test_the_document_is_found_in_a_shared_directory_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_openapi.ENV_VAR, raising=False)
    (tmp_path / "shared").mkdir()
    target = tmp_path / "shared" / "pagerduty-openapi.json"
    target.write_text("{}")
    deep = tmp_path / "main" / "src"
    deep.mkdir(parents=True)
    assert _openapi.discover([deep]) == target
    assert _openapi.discover([Path("/")]) is None


def test_the_environment_variable_names_or_disables_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "spec.json"
    target.write_text("{}")
    monkeypatch.setenv(_openapi.ENV_VAR, str(target))
    assert _openapi.discover() == target
    monkeypatch.setenv(_openapi.ENV_VAR, "off")
    assert _openapi.discover() is None
    monkeypatch.setenv(_openapi.ENV_VAR, str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        _openapi.discover()


def test_an_explicit_document_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.json"):
        FakePagerDuty(openapi=tmp_path / "nope.json")


@needs_document
def test_an_explicit_document_path_is_used(tmp_path: Path) -> None:
    assert DOCUMENT is not None
    copy = tmp_path / "copy.json"
    shutil.copyfile(DOCUMENT, copy)
    assert FakePagerDuty(openapi=copy).openapi_path == copy


@needs_document
def test_every_erratum_points_at_something_in_the_document() -> None:
    assert DOCUMENT is not None
    raw = json.loads(DOCUMENT.read_text())
    for erratum in ERRATA:
        assert _openapi._lookup(raw, erratum.pointer) is not None, erratum.pointer
        assert erratum.reason


@needs_document
def test_the_documents_own_create_incident_example_validates_after_the_errata(
    document: OpenAPIDocument,
) -> None:
    operation = document.document["paths"]["/incidents"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["examples"]["request"]
    headers = {**HEADERS, "From": "bot@example.com"}
    body = json.dumps(example["value"]).encode()
    assert document.check_request("POST", "/incidents", [], headers, body) == []


@needs_document
def test_the_documents_own_oncall_and_user_examples_validate(
    document: OpenAPIDocument,
) -> None:
    for path, method in (("/oncalls", "get"), ("/users", "get"), ("/services/{id}", "get")):
        content = document.document["paths"][path][method]["responses"]["200"]["content"]
        example = content["application/json"]["examples"]["response"]["value"]
        concrete = path.replace("{id}", "P1")
        assert document.check_response(method.upper(), concrete, 200,
                                       json.dumps(example).encode()) == []  # fmt: skip


@needs_document
def test_a_lenient_fake_creates_an_incident_without_a_type_as_pagerduty_does(
    clock: FakeClock, world: World
) -> None:
    fake = FakePagerDuty(clock=clock.monotonic, now=clock.now)
    fake.add_user("Bot", "bot@example.com")
    service = fake.add_service("Payments", fake.add_escalation_policy("Ops"))
    with httpx.Client(
        base_url="https://api.pagerduty.com",
        transport=fake.sync_transport(),
        headers={**WRITE_HEADERS, "Authorization": "Token token=test-api-key",
                 "From": "bot@example.com"},
    ) as raw:  # fmt: skip
        service_ref = {"id": service.id, "type": "service_reference"}
        go_create = {"incident": {"title": "t", "service": service_ref}}
        assert raw.post("/incidents", json=go_create).status_code == 201
    assert [v.message for v in fake.violations] == [
        "POST /incidents (createIncident): request body $.incident: 'type' is a required property"
    ]
    fake.strict = True
    assert fake.strict


def test_every_known_defect_of_the_document_says_what_and_why() -> None:
    assert len(DEFECTS) == 2
    for what, why in DEFECTS:
        assert what
        assert "PagerDuty" in why
