"""Access monitoring rules over gRPC: AuthClient's rule methods and get_user against the fake's
AccessMonitoringRulesService and UsersService (mutual TLS on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import attrs
import pytest

from teleport_access import (
    AccessDenied,
    AccessMonitoringRule,
    AccessMonitoringRuleDelete,
    AccessMonitoringRuleFilter,
    AccessMonitoringRulePut,
    AlreadyExists,
    AuthClient,
    AutomaticReview,
    BadParameter,
    NotFound,
    Notification,
    Schedule,
    Shift,
    SyncAuthClient,
    TimeSchedule,
    User,
    WatchInit,
)
from teleport_access.testing import FakeAuthServer
from tests.teleport_access.conftest import PLUGIN_USER

RULES = "access_monitoring_rule"


def rule(
    name: str = "route-db",
    *,
    plugin: str = "pagerduty",
    recipients: tuple[str, ...] = ("DB on call",),
    subjects: tuple[str, ...] = ("access_request",),
    condition: str = 'access_request.spec.roles.contains("db-admin")',
) -> AccessMonitoringRule:
    return AccessMonitoringRule(
        name=name,
        subjects=subjects,
        condition=condition,
        notification=Notification(name=plugin, recipients=recipients),
    )


async def test_a_rule_is_created_read_and_listed_as_it_was_written(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    scheduled = AccessMonitoringRule(
        name="office-hours",
        subjects=("access_request",),
        condition="true",
        notification=Notification(name="pagerduty", recipients=("A", "B")),
        schedules={
            "weekdays": Schedule(
                time=TimeSchedule(
                    shifts=(Shift(weekday="Monday", start="09:00", end="17:00"),),
                    timezone="Europe/Berlin",
                )
            )
        },
        description="route during office hours",
        labels={"team": "db"},
        expires=datetime(2030, 1, 1, tzinfo=UTC),
    )
    created = await auth_client.create_access_monitoring_rule(scheduled)
    assert created.revision
    assert created == attrs.evolve(scheduled, revision=created.revision)
    assert await auth_client.get_access_monitoring_rule("office-hours") == created
    assert await auth_client.list_access_monitoring_rules() == [created]
    assert fake_auth.get_rule("office-hours") == created


async def test_every_write_gets_a_new_revision(auth_client: AuthClient) -> None:
    first = await auth_client.create_access_monitoring_rule(rule())
    second = await auth_client.update_access_monitoring_rule(rule(recipients=("Other",)))
    third = await auth_client.upsert_access_monitoring_rule(rule(recipients=("Third",)))
    assert len({first.revision, second.revision, third.revision}) == 3
    assert third.notification == Notification(name="pagerduty", recipients=("Third",))


async def test_the_filter_selects_by_subject_and_notification_name(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.create_rule(rule("mine"))
    fake_auth.create_rule(rule("slack", plugin="slack"))
    fake_auth.create_rule(rule("lists", subjects=("access_list",), condition="true"))
    fake_auth.create_rule(
        AccessMonitoringRule(
            name="auto",
            subjects=("access_request",),
            condition="true",
            automatic_review=AutomaticReview(integration="builtin", decision="APPROVED"),
        )
    )
    ours = AccessMonitoringRuleFilter(subjects=("access_request",), notification_name="pagerduty")
    assert [r.name for r in await auth_client.list_access_monitoring_rules(ours)] == ["mine"]
    reviews = AccessMonitoringRuleFilter(automatic_review_name="builtin")
    assert [r.name for r in await auth_client.list_access_monitoring_rules(reviews)] == ["auto"]
    everything = await auth_client.list_access_monitoring_rules()
    assert [r.name for r in everything] == ["auto", "lists", "mine", "slack"]


async def test_listing_follows_page_tokens(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    for index in range(7):
        fake_auth.create_rule(rule(f"rule-{index}"))
    listed = await auth_client.list_access_monitoring_rules(
        AccessMonitoringRuleFilter(notification_name="pagerduty"), page_size=3
    )
    assert [r.name for r in listed] == [f"rule-{index}" for index in range(7)]
    calls = fake_auth.calls_to("ListAccessMonitoringRulesWithFilter")
    assert len(calls) == 3
    assert [call.request.page_token for call in calls] == ["", "rule-3", "rule-6"]  # type: ignore[attr-defined]


async def test_writes_are_checked_as_teleport_checks_them(auth_client: AuthClient) -> None:
    with pytest.raises(BadParameter, match="subject is missing"):
        await auth_client.create_access_monitoring_rule(rule(subjects=()))
    with pytest.raises(BadParameter, match="condition is missing"):
        await auth_client.create_access_monitoring_rule(rule(condition=""))
    with pytest.raises(BadParameter, match="notification plugin name is missing"):
        await auth_client.create_access_monitoring_rule(rule(plugin=""))
    with pytest.raises(BadParameter, match="one of notification or automatic_review"):
        await auth_client.create_access_monitoring_rule(
            AccessMonitoringRule(name="x", subjects=("access_request",), condition="true")
        )
    with pytest.raises(BadParameter, match="decision must be APPROVED or DENIED"):
        await auth_client.create_access_monitoring_rule(
            AccessMonitoringRule(
                name="x",
                subjects=("access_request",),
                condition="true",
                automatic_review=AutomaticReview(integration="builtin", decision="MAYBE"),
            )
        )
    await auth_client.create_access_monitoring_rule(rule())
    with pytest.raises(AlreadyExists, match='"route-db" already exists'):
        await auth_client.create_access_monitoring_rule(rule())
    with pytest.raises(NotFound):
        await auth_client.update_access_monitoring_rule(rule("absent"))
    with pytest.raises(NotFound):
        await auth_client.get_access_monitoring_rule("absent")
    with pytest.raises(NotFound):
        await auth_client.delete_access_monitoring_rule("absent")


async def test_a_caller_denied_rules_gets_access_denied(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.create_rule(rule())
    fake_auth.deny_resource(PLUGIN_USER, RULES, ["list", "read"])
    with pytest.raises(AccessDenied, match='action "list" on "access_monitoring_rule"'):
        await auth_client.list_access_monitoring_rules()
    with pytest.raises(AccessDenied, match='"read" on "access_monitoring_rule"'):
        await auth_client.get_access_monitoring_rule("route-db")
    fake_auth.allow_resource(PLUGIN_USER, RULES)
    assert len(await auth_client.list_access_monitoring_rules()) == 1


async def test_a_partial_success_watch_drops_the_kinds_the_caller_may_not_watch(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.deny_resource(PLUGIN_USER, RULES, ["list"])
    stream = auth_client.watch(("access_request", RULES), allow_partial_success=True)
    init = await anext(stream)
    await stream.aclose()
    assert isinstance(init, WatchInit)
    assert init.confirmed_kinds == ("access_request",)
    assert init.confirms("access_request")
    assert not init.confirms(RULES)
    without_partial = auth_client.watch(("access_request", RULES))
    with pytest.raises(AccessDenied):
        await anext(without_partial)


async def test_an_older_teleport_drops_the_unknown_kind(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.watchable_kinds.discard(RULES)
    stream = auth_client.watch(("access_request", RULES), allow_partial_success=True)
    init = await anext(stream)
    await stream.aclose()
    assert isinstance(init, WatchInit)
    assert not init.confirms(RULES)


async def test_rule_changes_reach_watchers_as_puts_and_deletes_by_name(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    stream = auth_client.watch((RULES,), allow_partial_success=True)
    init = await anext(stream)
    assert isinstance(init, WatchInit)
    assert init.confirms(RULES)
    fake_auth.create_rule(rule())
    fake_auth.delete_rule("route-db")
    put = await asyncio.wait_for(anext(stream), 5)
    delete = await asyncio.wait_for(anext(stream), 5)
    await stream.aclose()
    assert isinstance(put, AccessMonitoringRulePut)
    assert put.rule.notification == Notification(name="pagerduty", recipients=("DB on call",))
    assert delete == AccessMonitoringRuleDelete(name="route-db")


async def test_get_user_reads_traits_through_the_users_service(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.add_user(User(name="alice@example.com", roles=("dev",), traits={"team": ["db"]}))
    user = await auth_client.get_user("alice@example.com")
    assert user.traits == {"team": ("db",)}
    assert len(fake_auth.calls_to("UsersService/GetUser")) == 1
    assert fake_auth.calls_to("GetUser") == []


async def test_get_user_falls_back_to_the_auth_service_once_on_older_servers(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.add_user(User(name="alice@example.com", traits={"team": ["db"]}))
    fake_auth.set_unimplemented("UsersService/GetUser")
    for _ in range(2):
        user = await auth_client.get_user("alice@example.com")
        assert user.traits == {"team": ("db",)}
    assert len(fake_auth.calls_to("UsersService/GetUser")) == 1
    assert len(fake_auth.calls_to("GetUser")) == 2


async def test_a_caller_without_user_read_gets_access_denied(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.add_user(User(name="alice@example.com"))
    fake_auth.deny_resource(PLUGIN_USER, "user", ["read"])
    with pytest.raises(AccessDenied, match='"read" on "user"'):
        await auth_client.get_user("alice@example.com")


def test_the_sync_client_manages_rules(fake_auth_thread: FakeAuthServer) -> None:
    identity = fake_auth_thread.issue_identity(PLUGIN_USER, roles=[PLUGIN_USER])
    with SyncAuthClient(fake_auth_thread.address, identity) as client:
        created = client.create_access_monitoring_rule(rule())
        assert client.get_access_monitoring_rule("route-db") == created
        assert client.list_access_monitoring_rules() == [created]
        client.delete_access_monitoring_rule("route-db")
        assert client.list_access_monitoring_rules() == []


@pytest.fixture
def fake_auth_thread() -> Iterator[FakeAuthServer]:
    fake = FakeAuthServer()
    with fake.run_in_thread() as running:
        yield running


async def test_a_condition_that_does_not_parse_is_refused_as_teleport_refuses_it(
    auth_client: AuthClient,
) -> None:
    with pytest.raises(BadParameter, match="accessMonitoringRule condition is invalid: "):
        await auth_client.create_access_monitoring_rule(rule(condition="access_request.nope"))
    with pytest.raises(BadParameter, match="unknown identifier"):
        await auth_client.create_access_monitoring_rule(rule(condition="access_request.nope"))


async def test_a_condition_is_checked_only_for_access_request_rules(
    auth_client: AuthClient,
) -> None:
    stored = await auth_client.create_access_monitoring_rule(
        rule(subjects=("access_list",), condition="anything goes here")
    )
    assert stored.condition == "anything goes here"
