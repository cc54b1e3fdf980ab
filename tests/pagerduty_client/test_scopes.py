"""Which OAuth scope each operation and each client method needs (`pagerduty_client._scopes`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pagerduty_client import (
    CLIENT_OPERATIONS,
    CLIENT_SCOPES,
    AsyncPagerDutyClient,
    account_scope,
    is_operation_limited,
    required_scope,
    required_scopes,
)
from pagerduty_client.testing import FakePagerDuty
from tests.pagerduty_client.conftest import World


def test_an_operation_needs_the_scope_the_document_names_for_it() -> None:
    assert required_scope("POST", "/incidents") == "incidents.write"
    assert required_scope("get", "/oncalls") == "oncalls.read"


def test_a_concrete_path_finds_its_template() -> None:
    assert required_scope("GET", "/incidents/PABC123/notes") == "incidents.read"
    assert required_scope("PUT", "/incidents/PABC123") == "incidents.write"


def test_a_literal_segment_is_not_taken_for_a_placeholder() -> None:
    # /users/me names no scope in the document; it is not /users/{id} (users.read).
    assert required_scope("GET", "/users/me") is None
    assert required_scope("GET", "/users/PUSER01") == "users.read"


def test_an_unknown_operation_needs_no_known_scope() -> None:
    assert required_scope("GET", "/no/such/thing") is None


def test_incident_creation_and_on_calls_have_limits_of_their_own() -> None:
    assert is_operation_limited("POST", "/incidents")
    assert is_operation_limited("GET", "/oncalls")
    assert not is_operation_limited("GET", "/incidents")


def test_the_scopes_of_client_methods_are_those_of_every_operation_they_send() -> None:
    assert required_scopes(["check_on_call", "create_incident", "add_note"]) == {
        "users.read",
        "services.read",
        "oncalls.read",
        "incidents.read",
        "incidents.write",
    }


def test_an_operation_may_be_named_for_what_iterate_lists() -> None:
    assert required_scopes(["GET /schedules", "GET /schedules/P1"]) == {"schedules.read"}


def test_an_unknown_method_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="'create_incidnet' is neither a client method"):
        required_scopes(["create_incidnet"])


def test_an_operation_without_a_scope_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="names no OAuth scope for 'GET /users/me'"):
        required_scopes(["GET /users/me"])


def test_a_bare_string_is_not_taken_for_a_list_of_letters() -> None:
    with pytest.raises(TypeError, match="not one string"):
        required_scopes("check_on_call")


def test_the_client_needs_reads_and_incident_writes_only() -> None:
    assert sorted(CLIENT_SCOPES) == [
        "abilities.read",
        "escalation_policies.read",
        "incidents.read",
        "incidents.write",
        "oncalls.read",
        "services.read",
        "users.read",
    ]


def test_every_public_client_method_but_iterate_lists_its_operations() -> None:
    public = {
        name
        for name, value in vars(AsyncPagerDutyClient).items()
        if not name.startswith("_") and callable(value)
    }
    assert public - {"aclose", "iterate"} == set(CLIENT_OPERATIONS)


def test_the_account_scope_names_region_and_subdomain() -> None:
    assert account_scope("us", "acme") == "as_account-us.acme"
    assert account_scope("eu", " Acme-EU ") == "as_account-eu.acme-eu"


@pytest.mark.parametrize(
    ("region", "subdomain", "problem"),
    [
        ("de", "acme", "region must be"),
        ("us", "acme.pagerduty.com", "is not a PagerDuty account subdomain"),
        ("us", "", "is not a PagerDuty account subdomain"),
        ("us", "-acme", "is not a PagerDuty account subdomain"),
    ],
)
def test_a_bad_region_or_subdomain_is_refused(region: str, subdomain: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        account_scope(region, subdomain)


def _calls(world: World, incident_id: str) -> dict[str, Callable[[AsyncPagerDutyClient], Any]]:
    return {
        "abilities": lambda pd: pd.abilities(),
        "has_ability": lambda pd: pd.has_ability("teams"),
        "find_user_by_email": lambda pd: pd.find_user_by_email("alice@example.com"),
        "get_user": lambda pd: pd.get_user(world.alice.id),
        "find_service_by_name": lambda pd: pd.find_service_by_name("Payments"),
        "get_service": lambda pd: pd.get_service(world.payments.id),
        "get_escalation_policy": lambda pd: pd.get_escalation_policy(world.ops.id),
        "on_call": lambda pd: pd.on_call(world.alice.id, [world.ops.id]),
        "check_on_call": lambda pd: pd.check_on_call("alice@example.com", ["Payments"]),
        "create_incident": lambda pd: pd.create_incident(world.billing.id, "t", "d", "k-2"),
        "add_note": lambda pd: pd.add_note(incident_id, "a note"),
        "resolve_incident": lambda pd: pd.resolve_incident(incident_id),
        "get_incident": lambda pd: pd.get_incident(incident_id),
        "list_notes": lambda pd: pd.list_notes(incident_id),
        "find_incidents": lambda pd: pd.find_incidents(incident_key="k-1"),
    }


async def test_each_method_sends_only_the_operations_listed_for_it_even_when_recovering(
    fake: FakePagerDuty, client: AsyncPagerDutyClient, world: World
) -> None:
    incident = fake.add_incident(world.payments, "seeded", incident_key="k-1")
    calls = _calls(world, incident.id)
    assert set(calls) == set(CLIENT_OPERATIONS)
    for name, call in calls.items():
        fake.clear_requests()
        # An answer lost after processing makes the writes look for their earlier effect.
        fake.fail_next(after_processing=True, status=502)
        await call(client)
        sent = {(r.method, r.operation) for r in fake.requests}
        assert sent <= set(CLIENT_OPERATIONS[name]), name
