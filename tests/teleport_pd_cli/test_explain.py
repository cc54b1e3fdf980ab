"""`tpd explain`: the verdict and the failing check of every case of the e2e security suite,
its evidence, the `--json` document, exit codes, and that it only reads; against the fake Auth
Service (mutual TLS) and the fake PagerDuty (HTTP), both on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from teleport_access import AccessMonitoringRule, Notification, RequestState
from teleport_pd_cli.cli import cli
from teleport_pd_cli.policy import APPROVAL_CHECKS, TOO_MANY_RECIPIENTS, incident_key
from teleport_pd_cli.policy.plugindata import PLUGIN_NAME, PagerDutyData, ResolutionTag, encode
from teleport_pd_cli.tools.explain import JSON_VERSION
from tests.e2e.world import API_KEY, PLUGIN_USER, REQUESTER_OSS
from tests.teleport_pd_cli.explain_world import CASES, World, make_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with make_world(tmp_path) as made:
        yield made


def explain_json(world: World, request_id: str) -> dict[str, Any]:
    result = world.explain(request_id, "--json")
    document: dict[str, Any] = json.loads(result.output)
    assert result.exit_code == (0 if document["verdict"]["approve"] else 1)
    return document


# -- the verdict of each case ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_explain_gives_each_security_case_its_verdict_and_failing_check(
    world: World, name: str
) -> None:
    case = CASES[name]
    request = case.setup(world)

    result = world.explain(request.id)

    assert result.exit_code == (0 if case.failed_check is None else 1), result.output
    last = result.output.rstrip("\n").splitlines()[-1]
    if case.failed_check is None:
        assert last == f"Verdict: would approve now: {case.reason}"
        assert "  fail  " not in result.output
    else:
        assert last == f"Verdict: would not approve now ({case.failed_check}): {case.reason}"
        first_fail = next(line for line in result.output.splitlines() if line.startswith("  fail"))
        assert first_fail.split()[1] == case.failed_check


@pytest.mark.parametrize("name", list(CASES))
def test_explain_json_gives_the_same_verdict(world: World, name: str) -> None:
    case = CASES[name]
    request = case.setup(world)

    document = explain_json(world, request.id)

    assert document["verdict"] == {
        "approve": case.failed_check is None,
        "failed_check": case.failed_check,
        "reason": case.reason,
    }
    failed = [c["name"] for c in document["approval"]["checks"] if c["status"] == "failed"]
    assert (failed[:1] or [None])[0] == case.failed_check


# -- the evidence -----------------------------------------------------------------------------


def test_near_misses_name_each_address_pagerduty_returned_and_why_it_is_not_the_requester(
    world: World,
) -> None:
    request = CASES["near-miss-email"].setup(world)
    result = world.explain(request.id)
    assert f"PagerDuty's user search for '{REQUESTER_OSS}' returned:" in result.output
    for address in ("m" + REQUESTER_OSS, REQUESTER_OSS + ".attacker.example"):
        assert f"{address} (" in result.output
    misses = explain_json(world, request.id)["approval"]["pagerduty"]["near_misses"]
    assert {miss["why"] for miss in misses} == {
        "a different address that contains the requester's email"
    }


def test_a_unicode_look_alike_near_miss_names_the_character(world: World) -> None:
    request = CASES["unicode-look-alike"].setup(world)
    result = world.explain(request.id)
    assert "U+212A KELVIN SIGN" in result.output
    assert "tpd ignores the case of ASCII letters only" in result.output
    (miss,) = explain_json(world, request.id)["approval"]["pagerduty"]["near_misses"]
    assert miss["email"] == "\u212aate@example.com"


def test_a_requester_that_is_not_an_email_is_never_looked_up_in_pagerduty(world: World) -> None:
    request = CASES["not-an-email"].setup(world)
    document = explain_json(world, request.id)
    pagerduty = document["approval"]["pagerduty"]
    assert pagerduty["asked"] is False
    assert pagerduty["user"] is None
    statuses = {c["name"]: c["status"] for c in document["approval"]["checks"]}
    assert [statuses[name] for name in APPROVAL_CHECKS[6:]] == ["not_made"] * 4
    assert not world.pd.requests_to("GET", "/users")


def test_on_call_entries_show_level_and_policy_and_those_outside_the_annotation(
    world: World,
) -> None:
    request = CASES["unannotated-service"].setup(world)
    result = world.explain(request.id)
    assert (
        'level 1 in escalation policy "escalation_policy-3", targeted directly, with no end '
        "(not a policy of the annotated services)"
    ) in result.output
    pagerduty = explain_json(world, request.id)["approval"]["pagerduty"]
    assert pagerduty["on_calls"] == []
    (elsewhere,) = pagerduty["elsewhere"]
    assert elsewhere["escalation_policy"]["name"] == "escalation_policy-3"
    assert elsewhere["counted"] is False


def test_an_entry_above_the_tier_limit_shows_its_level_and_the_limit(world: World) -> None:
    request = CASES["above-max-escalation-level"].setup(world)
    result = world.explain(request.id)
    assert 'level 2 in escalation policy "escalation_policy-1"' in result.output
    document = explain_json(world, request.id)
    assert document["approval"]["max_escalation_level"] == 1
    (entry,) = document["approval"]["pagerduty"]["on_calls"]
    assert (entry["escalation_level"], entry["counted"]) == (2, True)


def test_a_schedule_names_its_schedule(world: World) -> None:
    user = world.pd.add_user("Scheduled", REQUESTER_OSS)
    schedule = world.pd.add_schedule("Primary rotation")
    world.pd.add_on_call(user, world.policies["escalation_policy-2"], schedule=schedule)
    request = world.request()
    result = world.explain(request.id)
    assert 'escalation policy "escalation_policy-2", schedule "Primary rotation"' in result.output


def test_the_review_permission_names_the_deciding_role_and_where(world: World) -> None:
    approved = CASES["approved"].setup(world)
    review = explain_json(world, approved.id)["approval"]["review_permission"]
    assert review["plugin_user"] == PLUGIN_USER
    assert review["plugin_roles"] == ["access-plugin", "auto-approval-plugin"]
    assert (review["allowed"], review["deciding_role"], review["where"]) == (
        True,
        "auto-approval-plugin",
        "",
    )


def test_a_refused_review_names_the_requested_role(world: World) -> None:
    request = CASES["plugin-may-not-review"].setup(world)
    review = explain_json(world, request.id)["approval"]["review_permission"]
    assert (review["allowed"], review["requested_role"]) == (False, "editor")


def test_roles_the_plugin_cannot_read_leave_the_review_to_teleport(world: World) -> None:
    request = CASES["approved"].setup(world)
    world.auth.fail_next("GetRole", 20, code="PERMISSION_DENIED", message="access denied")
    document = explain_json(world, request.id)
    review = document["approval"]["review_permission"]
    assert review["allowed"] is None
    assert review["reason"].startswith("cannot read the plugin's roles: ")
    assert document["verdict"]["approve"] is True  # as the daemon: Teleport decides alone


def test_services_found_and_missing_are_listed(world: World) -> None:
    world.on_call("Test User", REQUESTER_OSS)
    request = world.auth.create_request(
        REQUESTER_OSS,
        ["editor"],
        system_annotations={"pagerduty_services": ["Service 1", "No Such Service"]},
    )
    result = world.explain(request.id)
    assert "No Such Service: no PagerDuty service has this name" in result.output
    assert "Service 1 (PS" in result.output
    pagerduty = explain_json(world, request.id)["approval"]["pagerduty"]
    assert pagerduty["missing_services"] == ["No Such Service"]
    assert [s["name"] for s in pagerduty["services"]] == ["Service 1"]


# -- routing and what tpd already did ---------------------------------------------------------


def test_a_request_tpd_has_not_handled_has_no_plugin_data(world: World) -> None:
    request = CASES["approved"].setup(world)
    assert "plugin data: none (tpd has not handled the request yet)" in (
        world.explain(request.id).output
    )
    assert explain_json(world, request.id)["plugin_data"] is None


def test_the_recorded_incident_is_shown_with_its_status_in_pagerduty(world: World) -> None:
    request = CASES["unannotated-service"].setup(world)
    service = world.pd.services[0]
    incident = world.pd.add_incident(
        service, "Access request from x", incident_key=incident_key(request.id)
    )
    data = PagerDutyData(incident_id=incident.id, service_id=service.id, reviews_count=1)
    world.auth.set_plugin_data(request.id, PLUGIN_NAME, encode(data))

    result = world.explain(request.id)

    assert f"incident:     {incident.id} in service {service.id}" in result.output
    assert 'in PagerDuty: triggered, "Access request from x"' in result.output
    assert "review notes: 1 claimed" in result.output
    assert "the request has its incident already" in result.output
    recorded = explain_json(world, request.id)["plugin_data"]
    assert recorded["incident"] == {
        "id": incident.id,
        "status": "triggered",
        "title": "Access request from x",
    }
    assert (recorded["reviews_count"], recorded["resolution"]) == (1, None)


def test_a_resolution_and_an_incident_missing_from_pagerduty_are_shown(world: World) -> None:
    request = CASES["not-pending"].setup(world)
    data = PagerDutyData(
        incident_id="PGONE00",
        resolution=ResolutionTag.DENIED,
        resolve_reason="no",
    )
    world.auth.set_plugin_data(request.id, PLUGIN_NAME, encode(data))
    result = world.explain(request.id)
    assert "resolution:   denied (no)" in result.output
    assert "no incident PGONE00" in result.output
    recorded = explain_json(world, request.id)["plugin_data"]
    assert (recorded["resolution"], recorded["incident"]) == ("denied", None)


def test_a_rule_s_route_is_shown_with_its_pagerduty_service(world: World) -> None:
    world.auth.create_rule(
        AccessMonitoringRule(
            name="editors",
            subjects=("access_request",),
            condition='access_request.spec.roles.contains("editor")',
            notification=Notification(name="pagerduty", recipients=("Service 3",)),
        )
    )
    request = CASES["approved"].setup(world)
    result = world.explain(request.id)
    assert "rule editors: matched" in result.output
    assert "route: service 'Service 3' from access monitoring rule(s) editors" in result.output
    assert "PagerDuty service: Service 3 (" in result.output
    routing = explain_json(world, request.id)["routing"]
    assert (routing["source"], routing["matched_rules"]) == ("rule", ["editors"])
    (rule,) = routing["rules"]
    assert (rule["name"], rule["verdict"], rule["problem"]) == ("editors", "matched", None)
    assert 'access_request.spec.roles.contains("editor")' in rule["explanation"]
    assert routing["pagerduty_service"]["name"] == "Service 3"


def test_rules_naming_several_services_page_nobody_and_say_so(world: World) -> None:
    for name, service in (("a", "Service 1"), ("b", "Service 2")):
        world.auth.create_rule(
            AccessMonitoringRule(
                name=name,
                subjects=("access_request",),
                condition="true",
                notification=Notification(name="pagerduty", recipients=(service,)),
            )
        )
    request = CASES["approved"].setup(world)
    result = world.explain(request.id)
    assert result.exit_code == 0  # auto-approval is still considered, as in Go
    assert "no PagerDuty service to page" in result.output
    routing = explain_json(world, request.id)["routing"]
    assert routing["source"] == "none"
    assert routing["not_paged"].startswith(TOO_MANY_RECIPIENTS)


def test_rules_the_plugin_may_not_list_leave_the_annotation_to_route(world: World) -> None:
    world.auth.deny_resource(PLUGIN_USER, "access_monitoring_rule")
    request = CASES["approved"].setup(world)
    result = world.explain(request.id)
    assert result.exit_code == 0, result.output
    assert "the Access Monitoring Rules cannot be listed" in result.output
    assert "from the request annotation" in result.output


def test_a_route_to_a_service_pagerduty_does_not_have_says_so(world: World) -> None:
    request = world.auth.create_request(
        REQUESTER_OSS, ["editor"], system_annotations={"pagerduty_notify_service": ["Nowhere"]}
    )
    result = world.explain(request.id)
    assert "no PagerDuty service is named 'Nowhere'" in result.output
    assert explain_json(world, request.id)["routing"]["pagerduty_service"] is None


@pytest.mark.parametrize("paging", ["true", "false"])
def test_explain_says_when_the_page_waits_for_the_approval(world: World, paging: str) -> None:
    world.extra = f"[pagerduty.auto_approval]\npage_when_approved = {paging}\n"
    request = CASES["unannotated-service"].setup(world)
    document = explain_json(world, request.id)
    note = document["routing"]["note"] or ""
    waits = "tpd opens the incident only if it does not approve" in note
    assert waits is (paging == "false")
    assert document["verdict"]["failed_check"] == "on_call"


def test_a_request_without_annotations_is_not_paged_nor_approved(world: World) -> None:
    world.on_call("Test User", REQUESTER_OSS)
    request = world.auth.create_request(REQUESTER_OSS, ["editor"], system_annotations={})
    document = explain_json(world, request.id)
    assert document["routing"]["not_paged"] == (
        "request annotation pagerduty_notify_service is missing"
    )
    assert document["verdict"] == {
        "approve": False,
        "failed_check": "services_annotation",
        "reason": "Cannot proceed further. Request is missing any annotations",
    }


# -- the JSON document ------------------------------------------------------------------------


def test_json_is_a_stable_versioned_document(world: World) -> None:
    request = CASES["approved"].setup(world)
    document = explain_json(world, request.id)
    assert document["version"] == JSON_VERSION
    assert set(document) == {
        "version",
        "request_id",
        "request",
        "routing",
        "plugin_data",
        "approval",
        "verdict",
        "error",
    }
    assert document["request_id"] == request.id
    assert document["error"] is None
    assert set(document["request"]) == {
        "user",
        "roles",
        "state",
        "created",
        "reason",
        "system_annotations",
        "reviews",
    }
    assert document["request"]["state"] == "PENDING"
    assert set(document["routing"]) == {
        "rules",
        "rules_note",
        "traits_note",
        "source",
        "service_name",
        "matched_rules",
        "not_paged",
        "pagerduty_service",
        "note",
    }
    approval = document["approval"]
    assert set(approval) == {"checks", "pagerduty", "max_escalation_level", "review_permission"}
    assert [check["name"] for check in approval["checks"]] == [
        *APPROVAL_CHECKS,
        "review_permission",
    ]
    assert all(set(check) == {"name", "status", "detail"} for check in approval["checks"])
    assert set(approval["pagerduty"]) == {
        "email",
        "asked",
        "not_asked",
        "user",
        "near_misses",
        "service_names",
        "services",
        "missing_services",
        "on_calls",
        "elsewhere",
    }
    (entry,) = approval["pagerduty"]["on_calls"]
    assert set(entry) == {
        "user",
        "escalation_policy",
        "escalation_level",
        "schedule",
        "start",
        "end",
        "counted",
    }
    assert set(approval["review_permission"]) == {
        "plugin_user",
        "plugin_roles",
        "missing_roles",
        "allowed",
        "reason",
        "requested_role",
        "deciding_role",
        "where",
    }


# -- credentials --------------------------------------------------------------------------------

OAUTH_SECRET = "explain-oauth-s3cret-41"


@pytest.mark.parametrize("name", ["approved", "near-miss-email"])
def test_explain_works_with_scoped_oauth_credentials(world: World, name: str) -> None:
    world.use_oauth(OAUTH_SECRET)
    case = CASES[name]
    request = case.setup(world)
    result = world.explain(request.id)
    assert result.exit_code == (0 if case.failed_check is None else 1), result.output
    assert result.output.rstrip().endswith(case.reason)
    assert OAUTH_SECRET not in result.output
    assert world.pd.requests_to("POST", "/oauth/token")
    assert {r.method for r in world.pd.requests} == {"GET", "POST"}  # the token, and reads


def test_a_refused_oauth_secret_exits_2(world: World) -> None:
    world.use_oauth(OAUTH_SECRET)
    world.oauth_secret = "not-the-secret"
    request = CASES["approved"].setup(world)
    result = world.explain(request.id)
    assert result.exit_code == 2
    assert "PagerDuty did not issue an OAuth token" in result.output
    assert "not-the-secret" not in result.output


# -- questions that cannot be answered: exit 2 ------------------------------------------------


def test_an_unknown_request_exits_2_with_one_error_line(world: World) -> None:
    result = world.explain("00000000-0000-0000-0000-000000000000")
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert errors == [
        'Error: Teleport: no access request matching "00000000-0000-0000-0000-000000000000"'
    ]


def test_an_unknown_request_with_json_prints_an_error_document(world: World) -> None:
    result = world.explain("nope", "--json")
    assert result.exit_code == 2
    document = json.loads(result.output[: result.output.index("\nError: ")])
    assert document == {
        "version": JSON_VERSION,
        "request_id": "nope",
        "verdict": None,
        "error": 'Teleport: no access request matching "nope"',
    }


def test_a_refused_api_key_exits_2(world: World) -> None:
    request = CASES["approved"].setup(world)
    config = world.config()
    config.write_text(config.read_text().replace('api_key = "', 'api_key = "wrong-'))
    result = run_explain(config, request.id)
    assert result.exit_code == 2
    assert "refused the API key (401 Unauthorized)" in result.output


def test_an_unreachable_pagerduty_exits_2(world: World) -> None:
    request = CASES["approved"].setup(world)
    config = world.config()
    config.write_text(config.read_text().replace(world.url, "http://127.0.0.1:9"))
    result = run_explain(config, request.id)
    assert result.exit_code == 2
    assert "cannot reach PagerDuty at http://127.0.0.1:9" in result.output


def test_a_bad_config_exits_2(world: World, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[pagerduty\n")
    result = run_explain(path, "any")
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")


def run_explain(config: Path, request_id: str) -> Result:
    """`tpd explain` with a config file of the test's own."""
    env = {"TPD_PAGERDUTY_API_KEY": "", "TPD_CONFIG": ""}
    return CliRunner().invoke(cli, ["explain", request_id, "-c", str(config)], env=env)


# -- it only reads ----------------------------------------------------------------------------

#: The Auth Service calls explain may make.
_READS = {
    "ListAccessRequests",
    "GetAccessRequestsV2",
    "GetPluginData",
    "GetRole",
    "GetUser",
    "UsersService/GetUser",
    "ListAccessMonitoringRules",
    "ListAccessMonitoringRulesWithFilter",
    "Ping",
}


@pytest.mark.parametrize("name", ["approved", "plugin-may-not-review", "near-miss-email"])
def test_explain_never_writes_to_teleport_or_pagerduty(world: World, name: str) -> None:
    request = CASES[name].setup(world)
    before = len(world.auth.calls)

    assert world.explain(request.id).exit_code in (0, 1)
    assert world.explain(request.id, "--json").exit_code in (0, 1)

    methods = {call.method for call in world.auth.calls[before:]}
    assert "GetPluginData" in methods
    assert methods <= _READS, methods - _READS
    assert {r.method for r in world.pd.requests} == {"GET"}
    after = world.auth.get_request(request.id)
    assert after is not None
    assert after.state is request.state
    assert after.reviews == request.reviews
    assert world.auth.plugin_data(request.id, PLUGIN_NAME) is None
    assert world.pd.incidents == []


def test_an_approvable_request_stays_pending_after_explain(world: World) -> None:
    request = CASES["approved"].setup(world)
    assert world.explain(request.id).exit_code == 0
    after = world.auth.get_request(request.id)
    assert after is not None
    assert after.state is RequestState.PENDING


# -- as a real process ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"), [("approved", 0), ("outside-approve-roles", 1), (None, 2)]
)
def test_exit_codes_of_the_real_process(world: World, name: str | None, expected: int) -> None:
    request_id = CASES[name].setup(world).id if name is not None else "no-such-request"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TPD_")}
    result = subprocess.run(
        [sys.executable, "-m", "teleport_pd_cli", "explain", request_id, "-c", str(world.config())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == expected, result.stderr
    assert API_KEY not in result.stdout + result.stderr
    if expected == 2:
        assert result.stderr.strip().count("\n") == 0
        assert result.stdout == ""
    else:
        assert result.stdout.rstrip().splitlines()[-1].startswith("Verdict: ")
