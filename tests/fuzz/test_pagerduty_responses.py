"""Whatever PagerDuty answers, the client returns a model or raises one of its typed errors.

Two layers: the pure JSON -> model functions of `pagerduty_client._wire` (any JSON value gives a
model or `WireFormatError`), and every client operation driven over an httpx mock transport whose
answers (status, headers, body: JSON of any shape, near-miss PagerDuty shapes, or raw bytes) are
drawn by hypothesis (a model or a `PagerDutyError`, never another exception, never a hang).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagerduty_client import PagerDutyClient, PagerDutyError, RetryPolicy
from pagerduty_client._wire import (
    WireFormatError,
    parse_escalation_policy,
    parse_incident,
    parse_note,
    parse_oncall,
    parse_reference,
    parse_service,
    parse_user,
)

from ._settings import FUZZ

# -- JSON of any shape, and JSON shaped almost like PagerDuty's ---------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["2015-10-06T21:30:42Z", "2015-10-06T21:30:42", "not a time", "", "P1"]),
)
any_json = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

#: Keys PagerDuty objects have, so generated objects reach past the first type check.
KEYS = [
    "id", "type", "summary", "self", "html_url", "name", "email", "role", "time_zone",
    "escalation_policy", "status", "description", "escalation_rules", "targets",
    "escalation_delay_in_minutes", "num_loops", "services", "user", "escalation_level",
    "schedule", "start", "end", "assignments", "assignee", "at", "title", "service",
    "incident_number", "incident_key", "urgency", "created_at", "updated_at", "resolved_at",
    "content", "channel", "users", "incidents", "notes", "oncalls", "abilities", "incident",
    "note", "more", "offset", "limit", "total", "error", "code", "message", "errors",
]  # fmt: skip
shaped = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=6)
    ),
    max_leaves=30,
)
json_values = st.one_of(any_json, shaped)

# Plausible answers: every member PagerDuty's objects have, each either well-formed or (now and
# then) any JSON value, wrapped under every key an endpoint may look for. These get past the
# first checks, so the fuzzing reaches the parsers' later fields, pagination and the on-call
# logic, and many operations succeed.
REFERENCE = {"id": "PREF001", "type": "user_reference", "summary": "Alice"}
TIME = "2024-05-01T12:00:00Z"
GOOD: dict[str, Any] = {
    "id": "PABC123", "type": "user", "summary": "Payments", "name": "Payments",
    "email": "alice@example.com", "escalation_policy": REFERENCE, "user": REFERENCE,
    "service": REFERENCE, "schedule": REFERENCE, "assignee": REFERENCE, "escalation_level": 1,
    "start": TIME, "end": TIME, "at": TIME, "created_at": TIME, "updated_at": TIME,
    "status": "triggered", "title": "Access request", "incident_key": "key-1",
    "incident_number": 7, "content": "a note", "urgency": "high", "num_loops": 0,
    "escalation_rules": [{"id": "PR1", "escalation_delay_in_minutes": 30, "targets": [REFERENCE]}],
    "targets": [REFERENCE], "services": [REFERENCE], "assignments": [{"assignee": REFERENCE}],
    "channel": {"summary": "web"},
}  # fmt: skip
#: Members most objects need: present, and usually well-formed.
NEEDED = {"id", "status", "content", "escalation_level", "user", "escalation_policy", "service"}


def good_or_any(value: Any) -> st.SearchStrategy[Any]:
    """Usually `value`; one time in ten, any JSON value in its place."""
    return st.integers(0, 9).flatmap(lambda i: json_values if i == 0 else st.just(value))


plausible_object = st.fixed_dictionaries(
    {key: good_or_any(value) for key, value in GOOD.items() if key in NEEDED},
    optional={key: good_or_any(value) for key, value in GOOD.items() if key not in NEEDED},
)
WRAPPERS = {
    "user": False, "users": True, "service": False, "services": True,
    "escalation_policy": False, "escalation_policies": True, "oncalls": True,
    "incident": False, "incidents": True, "note": False, "notes": True,
}  # fmt: skip
plausible_body = st.fixed_dictionaries(
    {
        key: st.lists(plausible_object, max_size=3) if many else plausible_object
        for key, many in WRAPPERS.items()
    },
    optional={
        "abilities": st.one_of(st.just(["teams"]), json_values),
        "more": st.one_of(st.just(False), st.booleans(), json_values),
        "offset": st.integers(-1, 10_000),
    },
)

PARSERS: list[Callable[[Any], object]] = [
    parse_user,
    parse_service,
    parse_escalation_policy,
    parse_oncall,
    parse_incident,
    parse_note,
    parse_reference,
]


@FUZZ
@given(value=json_values, parser=st.sampled_from(PARSERS))
def test_any_json_value_parses_into_a_model_or_a_wire_format_error(
    value: Any, parser: Callable[[Any], object]
) -> None:
    error: WireFormatError | None = None
    try:
        parser(value)
    except WireFormatError as exc:
        error = exc
    assert error is None or str(error)


# -- every operation against arbitrary answers ------------------------------------------------

bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    plausible_body.map(lambda value: json.dumps(value).encode()),
    plausible_body.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=40),
    st.just(b""),
)
headers = st.dictionaries(
    st.sampled_from(["retry-after", "ratelimit-reset", "x-request-id", "content-type"]),
    st.sampled_from(["0", "1", "-5", "abc", "1e9", "99999999999999999999", "", "text/html"]),
    max_size=3,
)
statuses = st.one_of(
    st.sampled_from([200, 200, 200, 201, 204, 400, 401, 403, 404, 409, 429, 500, 502, 503]),
    st.integers(min_value=100, max_value=599),
)

#: The incident the operations address (the sanity check points it at a real one).
INCIDENT = {"id": "PINC001"}

OPERATIONS: dict[str, Callable[[PagerDutyClient], object]] = {
    "abilities": lambda pd: pd.abilities(),
    "has_ability": lambda pd: pd.has_ability("teams"),
    "get_user": lambda pd: pd.get_user("PUSER01"),
    "find_user_by_email": lambda pd: pd.find_user_by_email("alice@example.com"),
    "get_service": lambda pd: pd.get_service("PSVC001"),
    "find_service_by_name": lambda pd: pd.find_service_by_name("Payments"),
    "get_escalation_policy": lambda pd: pd.get_escalation_policy("PPOL001"),
    "on_call": lambda pd: pd.on_call("PUSER01", ["PPOL001"]),
    "check_on_call": lambda pd: pd.check_on_call("alice@example.com", ["Payments"]),
    "create_incident": lambda pd: pd.create_incident("PSVC001", "Access request", "body", "key-1"),
    "add_note": lambda pd: pd.add_note(INCIDENT["id"], "a note"),
    "resolve_incident": lambda pd: pd.resolve_incident(INCIDENT["id"]),
    "get_incident": lambda pd: pd.get_incident(INCIDENT["id"]),
    "list_notes": lambda pd: pd.list_notes(INCIDENT["id"]),
    "find_incidents": lambda pd: pd.find_incidents(incident_key="key-1"),
}

#: Answers per operation before the mock says 404 (bounds pagination over random `more`).
MAX_ANSWERS = 25


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(OPERATIONS)))
def test_every_operation_returns_a_model_or_raises_a_pagerduty_error(
    data: st.DataObject, name: str
) -> None:
    answered = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal answered
        answered += 1
        if answered > MAX_ANSWERS:
            return httpx.Response(404, json={"error": {"message": "Not Found", "code": 2100}})
        return httpx.Response(
            data.draw(statuses, label="status"),
            headers=data.draw(headers, label="headers"),
            content=data.draw(bodies, label="body"),
        )

    with PagerDutyClient(
        "fuzz-api-key",
        user_email="bot@example.com",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=2, max_rate_limit_wait=1.0),
        sleep=lambda seconds: None,
    ) as pd:
        error: PagerDutyError | None = None
        try:
            OPERATIONS[name](pd)
        except PagerDutyError as exc:
            error = exc
    if error is not None:
        assert str(error)
        assert "fuzz-api-key" not in str(error)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_the_fuzzed_operations_succeed_against_well_formed_answers(name: str) -> None:
    """A sanity check of the harness: with the fake's real answers, no operation fails."""
    from pagerduty_client.testing import FakePagerDuty

    fake = FakePagerDuty(strict=True, api_key="fuzz-api-key")
    fake.add_user("Bot", "bot@example.com")
    alice = fake.add_user("Alice", "alice@example.com", id="PUSER01")
    policy = fake.add_escalation_policy("Ops", rules=[[alice]], id="PPOL001")
    service = fake.add_service("Payments", policy, id="PSVC001")
    incident = fake.add_incident(service, "Earlier", incident_key="key-0")
    with (
        pytest.MonkeyPatch.context() as patch,
        fake.sync_client(user_email="bot@example.com") as pd,
    ):
        patch.setitem(INCIDENT, "id", incident.id)
        OPERATIONS[name](pd)
