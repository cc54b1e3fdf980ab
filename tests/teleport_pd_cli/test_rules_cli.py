"""`tpd rules check | list | explain`: the condition language from the command line (every shared
vector through the CLI), and the live rules and routing against the fake Auth Service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from teleport_access import (
    AccessMonitoringRule,
    Notification,
    Schedule,
    Shift,
    TimeSchedule,
    User,
)
from teleport_access.testing import FakeAuthServer
from teleport_pd_cli.cli import cli
from tests.teleport_access.predicate.helpers import VECTORS_NAME, find_shared
from tests.teleport_pd_cli.test_doctor import write_config

PLUGIN = "access-plugin"
REQUESTER = "alice@example.com"


def rules_check(condition: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["rules", "check", condition, *args])


# -- check ------------------------------------------------------------------------------------


def _request_json(env: dict[str, Any]) -> str:
    request: dict[str, Any] = {
        "user": env.get("user", ""),
        "roles": env.get("roles", []),
        "suggested_reviewers": env.get("suggested_reviewers", []),
        "reason": env.get("request_reason", ""),
        "system_annotations": env.get("system_annotations", {}),
        "resource_labels": env.get("requested_resource_labels", []),
    }
    if env.get("creation_time") is not None:
        request["created"] = env["creation_time"]
    if env.get("expiry") is not None:
        request["expires"] = env["expiry"]
    return json.dumps(request)


EXIT_CODES = {True: 0, False: 1, "parse_error": 2, "eval_error": 2}
_VECTORS_PATH = find_shared("reference", VECTORS_NAME)
VECTORS: list[dict[str, Any]] = json.loads(_VECTORS_PATH.read_text()) if _VECTORS_PATH else []


@pytest.mark.skipif(_VECTORS_PATH is None, reason=f"shared/reference/{VECTORS_NAME} not found")
@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: " ".join(v["expr"].split())[:60])
def test_every_shared_vector_gives_its_answer_through_tpd_rules_check(
    vector: dict[str, Any],
) -> None:
    env = vector["env"]
    result = rules_check(
        vector["expr"],
        "--request",
        _request_json(env),
        "--user",
        json.dumps({"traits": env.get("user_traits") or {}}),
    )
    assert result.exit_code == EXIT_CODES[vector["expect"]], result.output


def test_a_match_prints_the_explained_condition_and_exits_0() -> None:
    result = rules_check(
        'access_request.spec.roles.contains("db") && user.traits["team"].contains("dba")',
        "--request",
        '{"roles": ["db"]}',
        "--user",
        '{"traits": {"team": ["dba"]}}',
    )
    assert result.exit_code == 0, result.output
    assert "→" in result.output
    assert 'user.traits["team"]' in result.output


def test_a_non_boolean_value_is_no_match() -> None:
    assert rules_check('set("a")').exit_code == 1


def test_a_parse_error_shows_a_caret_and_exits_2() -> None:
    result = rules_check("access_request.spec.rolez")
    assert result.exit_code == 2
    assert "unknown identifier" in result.output
    assert "^" in result.output


def test_an_evaluation_error_exits_2_with_the_explanation() -> None:
    result = rules_check('time.RFC3339("not a time").before(time.RFC3339("2025-01-01T00:00:00Z"))')
    assert result.exit_code == 2
    assert "not a time" in result.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--request", '{"rolez": []}', "unknown key(s) rolez"),
        ("--request", '{"roles": "db"}', "roles must be a list of strings"),
        ("--request", '{"created": "yesterday"}', "is not an RFC 3339 time"),
        ("--request", '{"created": "2025-01-01T00:00:00"}', "has no time zone"),
        ("--request", '{"resource_labels": {"env": "prod"}}', "resource_labels must be a list"),
        ("--user", '{"roles": []}', 'only "traits" is read'),
        ("--user", "[1]", "expected a JSON object"),
        ("--request", "{", "invalid JSON"),
    ],
)
def test_bad_json_exits_2_naming_the_problem(option: str, value: str, message: str) -> None:
    result = rules_check("true", option, value)
    assert result.exit_code == 2
    assert message in result.output


def test_json_may_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text('{"created": "2025-08-11T14:30:00Z"}')
    condition = 'access_request.spec.creation_time.after(time.RFC3339("2025-08-11T14:00:00Z"))'
    assert rules_check(condition, "--request", f"@{path}").exit_code == 0


# -- list and explain -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth() -> Iterator[FakeAuthServer]:
    fake = FakeAuthServer()
    with fake.run_in_thread() as running:
        yield running


@pytest.fixture
def config(auth: FakeAuthServer, tmp_path: Path) -> Iterator[Path]:
    identity = auth.write_identity_file(tmp_path / "identity", PLUGIN, roles=[PLUGIN])
    yield write_config(
        tmp_path, addr=auth.address, identity=identity, endpoint="http://127.0.0.1:9"
    )
    for rule in auth.rules():
        auth.delete_rule(rule.name)
    auth.allow_resource(PLUGIN, "user")


def rule(
    name: str, recipients: tuple[str, ...], condition: str, **fields: Any
) -> AccessMonitoringRule:
    return AccessMonitoringRule(
        name=name,
        subjects=("access_request",),
        condition=condition,
        notification=Notification(name="pagerduty", recipients=recipients),
        **fields,
    )


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["rules", *args])


def test_list_shows_every_rule_and_whether_it_routes_pagerduty(
    auth: FakeAuthServer, config: Path
) -> None:
    auth.create_rule(rule("db", ("DB on call",), 'access_request.spec.roles.contains("db")'))
    auth.create_rule(
        AccessMonitoringRule(
            name="slack",
            subjects=("access_request",),
            condition="true",
            notification=Notification(name="slack", recipients=("#access",)),
        )
    )
    result = run("list", "-c", str(config))
    assert result.exit_code == 0, result.output
    assert "db: applies" in result.output
    assert "notification: pagerduty -> 'DB on call'" in result.output
    assert "slack: does not apply: its notification is for 'slack', not 'pagerduty'" in (
        result.output
    )
    assert "2 rule(s), 1 route PagerDuty incidents." in result.output
    listed = json.loads(run("list", "-c", str(config), "--json").output)
    assert [(item["name"], item["applies"]) for item in listed] == [("db", True), ("slack", False)]


def test_explain_shows_each_rule_s_value_and_the_route(auth: FakeAuthServer, config: Path) -> None:
    auth.create_rule(rule("db", ("DB on call",), 'access_request.spec.roles.contains("db")'))
    auth.create_rule(rule("web", ("Web",), 'access_request.spec.roles.contains("web")'))
    request = auth.create_request(REQUESTER, ["db"])
    result = run("explain", request.id, "-c", str(config))
    assert result.exit_code == 0, result.output
    assert "rule db: matched" in result.output
    assert "rule web: not matched" in result.output
    assert "route: service 'DB on call' from access monitoring rule(s) db" in result.output


def test_explain_of_a_request_routed_nowhere_exits_1(auth: FakeAuthServer, config: Path) -> None:
    auth.create_rule(rule("a", ("A",), "true"))
    auth.create_rule(rule("b", ("B",), "true"))
    request = auth.create_request(REQUESTER, ["db"])
    result = run("explain", request.id, "-c", str(config))
    assert result.exit_code == 1, result.output
    assert "more than one service provided as PagerDuty plugin recipient" in result.output


def test_explain_says_when_a_schedule_keeps_a_rule_out(auth: FakeAuthServer, config: Path) -> None:
    never = Schedule(
        time=TimeSchedule(shifts=(Shift(weekday="Funday", start="00:00", end="23:59"),))
    )
    auth.create_rule(rule("closed", ("A",), "true", schedules={"never": never}))
    request = auth.create_request(REQUESTER, ["db"])
    result = run("explain", request.id, "-c", str(config))
    assert "rule closed: outside its schedules" in result.output


def test_explain_reads_traits_only_for_rules_that_use_them(
    auth: FakeAuthServer, config: Path
) -> None:
    auth.add_user(User(name=REQUESTER, traits={"team": ["db"]}))
    auth.create_rule(rule("team", ("DB",), 'user.traits["team"].contains("db")'))
    request = auth.create_request(REQUESTER, ["db"])
    result = run("explain", request.id, "-c", str(config))
    assert "rule team: matched" in result.output
    auth.deny_resource(PLUGIN, "user", ["read"])
    denied = run("explain", request.id, "-c", str(config))
    assert "the requester's traits cannot be read" in denied.output
    assert "rule team: not matched" in denied.output
