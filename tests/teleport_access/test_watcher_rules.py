"""The watcher following access monitoring rules beside access requests, against the fake Auth
Service over real mutual TLS: the listing after every connect, stream events in order, partial
success."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from teleport_access import (
    AccessMonitoringRule,
    AccessMonitoringRuleDelete,
    AccessMonitoringRuleFilter,
    AccessMonitoringRulePut,
    AccessMonitoringRulesListed,
    AccessRequestPut,
    AuthClient,
    Notification,
    RuleEvent,
    WatchInit,
)
from teleport_access._watcher import AccessRequestWatcher
from teleport_access.testing import FakeAuthServer
from tests.teleport_access.test_watcher_integration import WAIT, HeldReconnects, next_event

pytestmark = pytest.mark.timeout(60)

PLUGIN = "access-plugin"
OURS = AccessMonitoringRuleFilter(subjects=("access_request",), notification_name="pagerduty")


def rule(
    name: str, recipient: str = "DB on call", plugin: str = "pagerduty"
) -> AccessMonitoringRule:
    return AccessMonitoringRule(
        name=name,
        subjects=("access_request",),
        condition="true",
        notification=Notification(name=plugin, recipients=(recipient,)),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeAuthServer]:
    async with FakeAuthServer() as server:
        yield server


@pytest.fixture
async def client(fake: FakeAuthServer) -> AsyncIterator[AuthClient]:
    async with AuthClient(fake.address, fake.issue_identity(PLUGIN)) as auth:
        yield auth


class Rules:
    """Collects what the watcher hands to `on_rules`; `wait(n)` until n events came."""

    def __init__(self) -> None:
        self.events: list[RuleEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: RuleEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait(self, count: int) -> list[RuleEvent]:
        async def enough() -> None:
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(enough(), WAIT)
        return self.events


async def test_rules_are_listed_after_connecting_before_the_requests_catch_up(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    fake.create_rule(rule("route-db"))
    fake.create_rule(rule("other-plugin", plugin="slack"))
    request = fake.create_request("alice", ["editor"])
    rules = Rules()
    order: list[str] = []
    watcher = AccessRequestWatcher(
        client,
        rules=OURS,
        on_rules=lambda event: (order.append("rules"), rules(event)),
        on_reconcile=lambda _: order.append("requests"),
    )
    async with contextlib.aclosing(watcher.events()) as events:
        first = await next_event(events)
    assert isinstance(first, AccessRequestPut)
    assert first.request.id == request.id
    listed = rules.events[0]
    assert isinstance(listed, AccessMonitoringRulesListed)
    assert [r.name for r in listed.rules] == ["route-db"]
    assert order == ["rules", "requests"]
    assert watcher.rules_confirmed is True
    calls = fake.calls_to("ListAccessMonitoringRulesWithFilter")
    assert calls[0].request.subjects == ["access_request"]  # type: ignore[attr-defined]
    assert calls[0].request.notification_name == "pagerduty"  # type: ignore[attr-defined]
    assert calls[0].request.page_size == 1000  # type: ignore[attr-defined]


async def test_rule_changes_reach_the_hook_in_stream_order_beside_request_events(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    rules = Rules()
    watcher = AccessRequestWatcher(client, rules=OURS, on_rules=rules)
    async with contextlib.aclosing(watcher.events()) as events:
        waiting = asyncio.ensure_future(next_event(events))
        await rules.wait(1)  # the (empty) listing: the stream is up
        fake.create_rule(rule("route-db"))
        fake.upsert_rule(rule("route-db", recipient="Other"))
        request = fake.create_request("alice", ["editor"])
        fake.delete_rule("route-db")
        event = await waiting
        # Rule events are handed over while the consumer pulls the next request event: the
        # two changes before the request already were, the deletion after it is now.
        assert len(rules.events) == 3
        more = asyncio.ensure_future(next_event(events))
        try:
            seen = await rules.wait(4)
        finally:
            more.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await more
    assert isinstance(event, AccessRequestPut)
    assert event.request.id == request.id
    assert isinstance(seen[1], AccessMonitoringRulePut)
    assert isinstance(seen[2], AccessMonitoringRulePut)
    assert seen[2].rule.notification == Notification(name="pagerduty", recipients=("Other",))
    assert seen[3] == AccessMonitoringRuleDelete(name="route-db")


async def test_rules_changed_while_disconnected_are_listed_again_after_the_reconnect(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    fake.create_rule(rule("kept"))
    fake.create_rule(rule("deleted-meanwhile"))
    rules = Rules()
    time = HeldReconnects()
    watcher = AccessRequestWatcher(client, rules=OURS, on_rules=rules, sleep=time.sleep)
    async with contextlib.aclosing(watcher.events()) as events:
        pending = asyncio.ensure_future(next_event(events))
        try:
            await rules.wait(1)
            time.hold = True
            assert fake.drop_watch_streams() == 1
            await asyncio.wait_for(time.parked.wait(), WAIT)
            fake.delete_rule("deleted-meanwhile")
            fake.create_rule(rule("created-meanwhile"))
            time.resume()
            seen = await rules.wait(2)
        finally:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending
    again = seen[1]
    assert isinstance(again, AccessMonitoringRulesListed)
    assert [r.name for r in again.rules] == ["created-meanwhile", "kept"]
    assert watcher.connections == 2


async def test_without_rule_permissions_the_watcher_runs_on_requests_alone(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    fake.deny_resource(PLUGIN, "access_monitoring_rule")
    fake.create_rule(rule("route-db"))
    request = fake.create_request("alice", ["editor"])
    rules = Rules()
    inits: list[WatchInit] = []
    watcher = AccessRequestWatcher(client, rules=OURS, on_rules=rules, on_connect=inits.append)
    async with contextlib.aclosing(watcher.events()) as events:
        first = await next_event(events)
        fake.create_rule(rule("ignored"))
        second_request = fake.create_request("bob", ["editor"])
        second = await next_event(events)
    assert isinstance(first, AccessRequestPut)
    assert first.request.id == request.id
    assert isinstance(second, AccessRequestPut)
    assert second.request.id == second_request.id
    assert watcher.rules_confirmed is False
    assert inits[0].confirmed_kinds == ("access_request",)
    assert rules.events == []
    assert fake.calls_to("ListAccessMonitoringRulesWithFilter") == []


async def test_a_watcher_without_rules_asks_for_access_requests_only(
    fake: FakeAuthServer, client: AuthClient
) -> None:
    fake.create_request("alice", ["editor"])
    watcher = AccessRequestWatcher(client)
    async with contextlib.aclosing(watcher.events()) as events:
        await next_event(events)
    watch = fake.calls_to("WatchEvents")[0].request
    assert [kind.Kind for kind in watch.Kinds] == ["access_request"]  # type: ignore[attr-defined]
    assert not watch.AllowPartialSuccess  # type: ignore[attr-defined]
    assert watcher.rules_confirmed is None
