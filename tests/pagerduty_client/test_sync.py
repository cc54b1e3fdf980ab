"""The synchronous twin: the same API as the async client, behaving the same way."""

from __future__ import annotations

import inspect
import threading

import pytest

from pagerduty_client import (
    AsyncPagerDutyClient,
    NotOnCallReason,
    PagerDutyClient,
    PaginationLimitError,
    RetryPolicy,
)
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import BOT_EMAIL, World

LIFECYCLE = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        LIFECYCLE.get(name, name): inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member)
        and (not name.startswith("_") or name in LIFECYCLE or name in LIFECYCLE.values())
    }


def test_the_sync_twin_has_the_same_methods_with_the_same_parameters() -> None:
    async_api = public_methods(AsyncPagerDutyClient)
    sync_api = public_methods(PagerDutyClient)
    assert sorted(async_api) == sorted(sync_api)
    for name, signature in async_api.items():
        assert list(signature.parameters) == list(sync_api[name].parameters), name
        for param, spec in signature.parameters.items():
            twin = sync_api[name].parameters[param]
            assert (spec.kind, spec.default) == (twin.kind, twin.default), f"{name}({param})"


def test_the_constructors_take_the_same_arguments() -> None:
    assert list(inspect.signature(AsyncPagerDutyClient).parameters) == list(
        inspect.signature(PagerDutyClient).parameters
    )


def test_a_whole_access_request_flow_works_synchronously(
    sync_client: PagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    check = sync_client.check_on_call("bob@example.com", ["Payments"])
    assert check.on_call
    assert check.matches[0].escalation_level == 2
    incident = sync_client.create_incident(world.payments.id, "T", "D", "key")
    assert sync_client.create_incident(world.payments.id, "T", "D", "key").id == incident.id
    sync_client.add_note(incident.id, "reviewed")
    assert sync_client.resolve_incident(incident.id).status == "resolved"
    assert sync_client.resolve_incident(incident.id).status == "resolved"
    assert [n.content for n in sync_client.list_notes(incident.id)] == ["reviewed"]
    assert [i.id for i in sync_client.find_incidents(incident_key="key")] == [incident.id]
    assert fake.next_incident_blocking(timeout=1).id == incident.id
    assert fake.next_note_blocking(timeout=1).note.content == "reviewed"


def test_the_sync_client_retries_with_its_injected_sleep(
    sync_client: PagerDutyClient, fake: FakePagerDuty, clock: FakeClock, world: World
) -> None:
    fake.faults.rate_limit, fake.faults.rate_limit_window = 1, 20.0
    fake.fail_next(status=500, after_processing=True)
    sync_client.abilities()
    incident = sync_client.create_incident(world.payments.id, "T", "D", "key")
    assert [i.id for i in fake.incidents] == [incident.id]
    assert 20.0 in clock.sleeps


def test_the_sync_client_answers_like_the_async_one(
    sync_client: PagerDutyClient, world: World
) -> None:
    check = sync_client.check_on_call("nobody@example.com", ["Payments"])
    assert check.reason is NotOnCallReason.USER_NOT_FOUND
    assert sync_client.find_user_by_email("ALICE@example.com") == world.alice
    assert sync_client.get_escalation_policy(world.ops.id).id == world.ops.id


def test_sync_iterate_pages_and_respects_the_cap(
    sync_client: PagerDutyClient, fake: FakePagerDuty
) -> None:
    for n in range(120):
        fake.add_user(f"U{n:03d}", f"u{n}@example.com")
    assert len(list(sync_client.iterate("/users"))) == 121
    with pytest.raises(PaginationLimitError):
        list(sync_client.iterate("/users", {"offset": 10_000}))


def test_one_sync_client_can_be_shared_between_threads(fake: FakePagerDuty, world: World) -> None:
    results: list[bool] = []
    with fake.sync_client(user_email=BOT_EMAIL, retry=RetryPolicy(max_attempts=1)) as pd:

        def work() -> None:
            for _ in range(10):
                results.append(pd.check_on_call("alice@example.com", ["Billing"]).on_call)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == [True] * 40


def test_the_sync_client_talks_to_the_loopback_server(fake: FakePagerDuty, world: World) -> None:
    with (
        fake.serve_in_thread() as url,
        PagerDutyClient(fake.api_key, base_url=url, user_email=BOT_EMAIL) as pd,
    ):
        incident = pd.create_incident(world.payments.id, "T", "D", "key")
        assert pd.get_incident(incident.id).status == "triggered"
