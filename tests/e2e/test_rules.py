"""Access Monitoring Rules end to end: `tpd run` routes incidents by Teleport's rules, as the
newest Go plugin does (and better where docs/access-monitoring-rules.md says so), against the
fake Auth Service's AccessMonitoringRulesService, on both Teleport routes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from teleport_access import (
    AccessMonitoringRule,
    Notification,
    RequestConditions,
    Role,
    RoleConditions,
    Schedule,
    Shift,
    TimeSchedule,
    User,
)
from teleport_access.testing import FakeAuthServer
from tests.e2e.world import (
    NOTIFY_SERVICE,
    PLUGIN_USER,
    REQUESTER_OSS,
    TIMEOUT,
    PagerDutyWorld,
    StartTpd,
    TpdProcess,
    plugin_data_has,
    put_on_call,
)

TWO = "Teleport Notifications Two"
THREE = "Service 3"
RULE = "test-pagerduty-amr"


def rule(
    name: str = RULE,
    recipients: tuple[str, ...] = (TWO,),
    condition: str = "!is_empty(access_request.spec.roles)",
    **fields: object,
) -> AccessMonitoringRule:
    return AccessMonitoringRule(
        name=name,
        subjects=("access_request",),
        condition=condition,
        notification=Notification(name="pagerduty", recipients=recipients),
        **fields,  # type: ignore[arg-type]
    )


async def routed_service(
    fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld, request_id: str
) -> str:
    """The name of the service the request's incident was opened in (from its plugin data)."""
    data = await fake_auth.wait_for_plugin_data(
        request_id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
    )
    incident = await pagerduty.wait_for_incident(request_id)
    assert data["incident_id"] == incident.id
    (name,) = [n for n, s in pagerduty.services.items() if s.id == data["service_id"]]
    assert incident.service.id == data["service_id"]
    return name


async def test_recipients_from_access_monitoring_rule(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    # The Go suite's TestRecipientsFromAccessMonitoringRule: the rule is created after start.
    await tpd.wait_for_log("Following 0 Access Monitoring Rule(s) for PagerDuty")
    fake_auth.create_rule(rule())
    await tpd.wait_for_log(f"Access monitoring rule {RULE} updated")

    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])

    data = await fake_auth.wait_for_plugin_data(
        request.id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
    )
    incident = await pagerduty.fake.next_incident(timeout=TIMEOUT)
    assert incident.id == data["incident_id"]
    assert incident.incident_key == f"teleport-access-request/{request.id}"
    assert incident.status == "triggered"
    assert data["service_id"] == pagerduty.services[TWO].id
    routed = await tpd.wait_for_log("Routing the request to", request_id=request.id)
    assert RULE in routed["msg"]
    fake_auth.delete_rule(RULE)


async def test_a_rule_updated_and_then_deleted_mid_run_routes_each_request_by_the_rule_then(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.create_rule(rule())
    await tpd.wait_for_log(f"Access monitoring rule {RULE} updated")
    first = fake_auth.create_request(REQUESTER_OSS, ["editor"])
    assert await routed_service(fake_auth, pagerduty, first.id) == TWO

    fake_auth.upsert_rule(rule(recipients=(THREE,)))
    await _wait_for_count(tpd, f"Access monitoring rule {RULE} updated", 2)
    second = fake_auth.create_request(REQUESTER_OSS, ["editor"])
    assert await routed_service(fake_auth, pagerduty, second.id) == THREE

    fake_auth.delete_rule(RULE)
    await tpd.wait_for_log(f"Access monitoring rule {RULE} deleted")
    third = fake_auth.create_request(REQUESTER_OSS, ["editor"])
    assert await routed_service(fake_auth, pagerduty, third.id) == NOTIFY_SERVICE


async def _wait_for_count(tpd: TpdProcess, msg: str, count: int) -> None:
    """Until tpd logged `msg` at least `count` times."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while len(tpd.find_logs(msg)) < count:
        assert loop.time() < deadline, f"fewer than {count} {msg!r}:\n{tpd.tail()}"
        await asyncio.sleep(0.05)


async def test_two_matching_rules_naming_different_services_page_nobody_and_still_approve(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.create_rule(rule("route-two", (TWO,)))
    fake_auth.create_rule(rule("route-three", (THREE,)))
    put_on_call(pagerduty, REQUESTER_OSS)
    tpd = await start_tpd()

    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])

    warning = await tpd.wait_for_log(
        "more than one service provided as PagerDuty plugin recipient", request_id=request.id
    )
    assert "'Teleport Notifications Two' (rule route-two)" in warning["msg"]
    assert "'Service 3' (rule route-three)" in warning["msg"]
    assert warning["level"] == "WARNING"
    await fake_auth.wait_for_review(request.id, PLUGIN_USER, timeout=TIMEOUT)
    assert pagerduty.incidents_for(request.id) == []


async def test_the_same_service_named_by_two_rules_in_another_case_is_paged_once(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.create_rule(rule("a", (TWO,)))
    fake_auth.create_rule(rule("b", (TWO.upper(),)))
    await start_tpd()
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])
    assert await routed_service(fake_auth, pagerduty, request.id) == TWO


async def test_a_rule_on_user_traits_reads_the_requester_s_traits(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.add_user(User(name=REQUESTER_OSS, roles=("oss-requester",), traits={"team": ["db"]}))
    fake_auth.create_rule(rule(condition='user.traits["team"].contains("db")'))
    await start_tpd()

    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])

    assert await routed_service(fake_auth, pagerduty, request.id) == TWO
    assert fake_auth.calls_to("UsersService/GetUser")


async def test_rules_without_traits_never_read_users(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.create_rule(rule())
    await tpd.wait_for_log(f"Access monitoring rule {RULE} updated")
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])
    assert await routed_service(fake_auth, pagerduty, request.id) == TWO
    assert fake_auth.calls_to("UsersService/GetUser") == []


async def test_without_user_read_the_traits_are_empty_and_the_annotation_routes(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.add_user(User(name=REQUESTER_OSS, roles=("oss-requester",), traits={"team": ["db"]}))
    fake_auth.create_rule(rule(condition='user.traits["team"].contains("db")'))
    fake_auth.deny_resource(PLUGIN_USER, "user", ["read"])
    tpd = await start_tpd()

    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])

    assert await routed_service(fake_auth, pagerduty, request.id) == NOTIFY_SERVICE
    warning = await tpd.wait_for_log("Missing permissions to read user.traits")
    assert warning["level"] == "WARNING"


async def test_a_plugin_role_without_rule_permissions_runs_on_annotations(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.create_rule(rule())
    fake_auth.deny_resource(PLUGIN_USER, "access_monitoring_rule", ["list", "read"])
    tpd = await start_tpd()

    notice = await tpd.wait_for_log("Access Monitoring Rules are not available")
    assert "verbs: [read, list]" in notice["msg"]
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])
    assert await routed_service(fake_auth, pagerduty, request.id) == NOTIFY_SERVICE
    assert fake_auth.calls_to("ListAccessMonitoringRulesWithFilter") == []


async def test_rules_changed_while_disconnected_are_seen_after_the_reconnect(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.create_rule(rule("gone-while-away", (THREE,)))
    await tpd.wait_for_log("Access monitoring rule gone-while-away updated")
    # Hold the next watch stream back while the rules change: only the listing after the
    # reconnect can tell tpd.
    fake_auth.delay("WatchEvents", 2.0)
    assert fake_auth.drop_watch_streams() == 1
    fake_auth.delete_rule("gone-while-away")
    fake_auth.create_rule(rule("made-while-away", (TWO,)))
    await tpd.wait_for_log("Watcher connected (connection 2)")
    fake_auth.delay("WatchEvents", 0.0)

    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])

    assert await routed_service(fake_auth, pagerduty, request.id) == TWO
    assert len(fake_auth.calls_to("ListAccessMonitoringRulesWithFilter")) >= 2


async def test_a_request_without_annotations_is_paged_by_a_rule(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.add_role(
        Role(
            name="bare-requester",
            allow=RoleConditions(request=RequestConditions(roles=("editor",))),
        )
    )
    fake_auth.add_user(User(name="bare@example.com", roles=("bare-requester",)))
    fake_auth.create_rule(rule(condition='access_request.spec.user == "bare@example.com"'))
    await start_tpd()

    request = fake_auth.create_request("bare@example.com", ["editor"], reason="no annotations")
    assert fake_auth.get_request(request.id).system_annotations == {}  # type: ignore[union-attr]

    assert await routed_service(fake_auth, pagerduty, request.id) == TWO
    incident = pagerduty.incident_for(request.id)
    fake_auth.approve(request.id, reason="ok")
    await pagerduty.wait_for_status(incident.id, "resolved")


async def test_a_schedule_that_excludes_the_creation_time_keeps_the_rule_out(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%A")
    today = datetime.now(UTC).strftime("%A")
    fake_auth.create_rule(
        rule(
            "tomorrow-only",
            (TWO,),
            schedules={
                "shift": Schedule(
                    time=TimeSchedule(shifts=(Shift(weekday=tomorrow, start="00:00", end="23:59"),))
                )
            },
        )
    )
    fake_auth.create_rule(
        rule(
            "today",
            (THREE,),
            condition='access_request.spec.user == "nobody@example.com"',
            schedules={
                "shift": Schedule(
                    time=TimeSchedule(shifts=(Shift(weekday=today, start="00:00", end="23:59"),))
                )
            },
        )
    )
    await start_tpd()

    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])

    assert await routed_service(fake_auth, pagerduty, request.id) == NOTIFY_SERVICE
