"""`tpd check-oncall`: exit codes 0/1/2, text and JSON answers, against FakePagerDuty over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pagerduty_client.testing import FakePagerDuty
from teleport_pd_cli.cli import cli
from teleport_pd_cli.tools.explain import JSON_VERSION as EXPLAIN_JSON_VERSION
from teleport_pd_cli.tools.oncall import JSON_VERSION, load_pagerduty_settings

API_KEY = "u+oncall-secret-key-7f3a9c"
CRITICAL = "My Critical Service"
NOTIFICATIONS = "Teleport Access Request Notifications"


@pytest.fixture(scope="module")
def fake() -> FakePagerDuty:
    fake = FakePagerDuty(strict=True, api_key=API_KEY)
    fake.add_user("Access Bot", "bot@example.com", role="admin")
    alice = fake.add_user("Alice On-Call", "alice@example.com")
    bob = fake.add_user("Bob Backup", "bob@example.com")
    fake.add_user("Kate", "kate@example.com")
    fake.add_user("Carol Idle", "carol@example.com")
    schedule = fake.add_schedule("Critical primary")
    critical = fake.add_escalation_policy("Critical escalation", rules=[[schedule], [bob]])
    fake.add_on_call(alice, critical, level=1, schedule=schedule)
    notify = fake.add_escalation_policy("Notifications escalation", rules=[[bob]])
    fake.add_service(CRITICAL, critical)
    fake.add_service(NOTIFICATIONS, notify)
    return fake


@pytest.fixture(scope="module")
def url(fake: FakePagerDuty) -> Iterator[str]:
    with fake.serve_in_thread() as url:
        yield url


def write_config(
    directory: Path, endpoint: str, *, extra: str = "", api_key: str = API_KEY
) -> Path:
    path = directory / "teleport-pagerduty.toml"
    path.write_text(
        f'[pagerduty]\napi_key = "{api_key}"\nuser_email = "bot@example.com"\n'
        f'api_endpoint = "{endpoint}"\n{extra}',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path, url)


def run(config: Path, *args: str) -> Result:
    env = {"TPD_PAGERDUTY_API_KEY": "", "TPD_CONFIG": ""}
    result = CliRunner().invoke(cli, ["check-oncall", "-c", str(config), *args], env=env)
    assert API_KEY not in result.output
    return result


def one_error_line(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


# -- answers --------------------------------------------------------------------------------------


def test_a_user_on_call_exits_0_naming_service_policy_level_and_schedule(config: Path) -> None:
    result = run(config, "alice@example.com", CRITICAL)
    assert result.exit_code == 0, result.output
    assert "alice@example.com (Alice On-Call" in result.output
    assert "is on call now" in result.output
    assert 'My Critical Service: escalation policy "Critical escalation", level 1' in result.output
    assert 'schedule "Critical primary"' in result.output


def test_a_user_not_on_call_exits_1_naming_the_services(config: Path) -> None:
    result = run(config, "carol@example.com", CRITICAL, NOTIFICATIONS)
    assert result.exit_code == 1, result.output
    assert "carol@example.com (Carol Idle" in result.output
    assert "is not on call now for My Critical Service" in result.output
    assert 'Teleport Access Request Notifications (escalation policy "Notifications' in (
        result.output
    )


def test_on_call_for_one_of_several_services_exits_0_and_lists_the_other(config: Path) -> None:
    result = run(config, "alice@example.com", NOTIFICATIONS, CRITICAL)
    assert result.exit_code == 0, result.output
    assert f"  {NOTIFICATIONS}: not on call" in result.output


def test_a_user_targeted_directly_at_level_2_is_on_call_with_no_end(config: Path) -> None:
    result = run(config, "bob@example.com", CRITICAL)
    assert result.exit_code == 0, result.output
    assert "level 2, targeted directly, with no end" in result.output


def test_email_case_is_ignored_like_pagerduty_does(config: Path) -> None:
    assert run(config, "Alice@Example.COM", CRITICAL).exit_code == 0


def test_service_names_match_in_any_case(config: Path) -> None:
    assert run(config, "alice@example.com", "my critical service").exit_code == 0


def test_json_is_a_stable_document(config: Path) -> None:
    result = run(config, "alice@example.com", CRITICAL, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert set(document) == {
        "version",
        "email",
        "on_call",
        "user",
        "services",
        "on_call_for",
        "max_escalation_level",
        "error",
    }
    assert document["version"] == JSON_VERSION
    assert document["on_call"] is True
    assert document["error"] is None
    assert document["user"]["email"] == "alice@example.com"
    assert document["user"]["name"] == "Alice On-Call"
    assert [s["name"] for s in document["services"]] == [CRITICAL]
    assert document["services"][0]["escalation_policy"]["name"] == "Critical escalation"
    (entry,) = document["on_call_for"]
    assert entry["service"]["name"] == CRITICAL
    assert entry["escalation_policy"]["name"] == "Critical escalation"
    assert entry["escalation_level"] == 1
    assert entry["schedule"]["name"] == "Critical primary"
    assert entry["auto_approval_allowed"] is True
    assert document["max_escalation_level"] == 0


def test_json_for_a_user_not_on_call_has_on_call_false(config: Path) -> None:
    result = run(config, "carol@example.com", CRITICAL, "--json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["on_call"] is False
    assert document["on_call_for"] == []


def test_max_escalation_level_marks_higher_tiers_not_approvable(tmp_path: Path, url: str) -> None:
    config = write_config(
        tmp_path, url, extra="[pagerduty.auto_approval]\nmax_escalation_level = 1\n"
    )
    result = run(config, "bob@example.com", CRITICAL)
    assert result.exit_code == 0, result.output
    assert "above max_escalation_level: tpd would not auto-approve" in result.output
    document = json.loads(run(config, "bob@example.com", CRITICAL, "--json").output)
    assert document["max_escalation_level"] == 1
    assert document["on_call_for"][0]["auto_approval_allowed"] is False


# -- errors: exit 2 with one line -----------------------------------------------------------------


def test_an_unknown_user_exits_2_with_one_line(config: Path) -> None:
    result = run(config, "nobody@example.com", CRITICAL)
    assert result.exit_code == 2
    assert one_error_line(result) == "Error: no PagerDuty user has the email 'nobody@example.com'"


def test_a_near_miss_email_exits_2_and_suggests_the_close_address(config: Path) -> None:
    result = run(config, "alice@example.co", CRITICAL)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "no PagerDuty user has the email 'alice@example.co'" in line
    assert "(similar: alice@example.com)" in line


def test_a_longer_near_miss_email_is_not_taken_as_the_user(config: Path) -> None:
    result = run(config, "alice@example.com.evil", CRITICAL)
    assert result.exit_code == 2
    assert "no PagerDuty user" in one_error_line(result)


def test_a_unicode_look_alike_email_is_not_the_ascii_user(config: Path) -> None:
    result = run(config, "\u212aate@example.com", CRITICAL)  # KELVIN SIGN, lower()s to "k"
    assert result.exit_code == 2
    assert "no PagerDuty user has the email" in one_error_line(result)


@pytest.mark.parametrize(
    "email", [" alice@example.com", "Alice <alice@example.com>", "alice", "alice@"]
)
def test_a_value_that_is_not_an_exact_email_exits_2(config: Path, email: str) -> None:
    result = run(config, email, CRITICAL)
    assert result.exit_code == 2
    assert "is not an exact email address" in one_error_line(result)


def test_an_unknown_service_exits_2_naming_it(config: Path) -> None:
    result = run(config, "alice@example.com", "My Critcal Service")
    assert result.exit_code == 2
    assert one_error_line(result).startswith(
        "Error: no PagerDuty service is named 'My Critcal Service'"
    )


def test_one_unknown_service_among_known_ones_exits_2(config: Path) -> None:
    result = run(config, "alice@example.com", CRITICAL, "Nope", "Nada")
    assert result.exit_code == 2
    assert "no PagerDuty services are named 'Nope', 'Nada'" in one_error_line(result)


def test_a_wrong_api_key_exits_2_without_printing_either_key(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path, url, api_key="u+wrong-key-0123456789")
    result = run(config, "alice@example.com", CRITICAL)
    assert result.exit_code == 2
    assert "refused the API key (401 Unauthorized)" in one_error_line(result)
    assert "u+wrong-key-0123456789" not in result.output


def test_an_unreachable_endpoint_exits_2(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path, f"http://127.0.0.1:{port}")
    result = run(config, "alice@example.com", CRITICAL)
    assert result.exit_code == 2
    assert f"cannot reach PagerDuty at http://127.0.0.1:{port}" in one_error_line(result)


def test_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path / "absent.toml", "alice@example.com", CRITICAL)
    assert result.exit_code == 2
    assert "config file not found" in one_error_line(result)


def test_a_missing_api_key_exits_2_naming_the_key(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path, url, api_key="")
    result = run(config, "alice@example.com", CRITICAL)
    assert result.exit_code == 2
    assert "[pagerduty] api_key: missing required value" in one_error_line(result)


def test_json_errors_print_an_error_document_and_exit_2(config: Path) -> None:
    result = run(config, "nobody@example.com", CRITICAL, "--json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["on_call"] is None
    assert document["error"] == "no PagerDuty user has the email 'nobody@example.com'"
    assert document["version"] == JSON_VERSION


def test_at_least_one_service_is_required(config: Path) -> None:
    result = run(config, "alice@example.com")
    assert result.exit_code == 2
    assert "Missing argument" in result.output


# -- the config ------------------------------------------------------------------------------------


def test_an_incomplete_teleport_section_does_not_matter(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path, url, extra='[teleport]\nclient_crt = "/nowhere/auth.crt"\n')
    assert run(config, "alice@example.com", CRITICAL).exit_code == 0


def test_pagerduty_only_loading_keeps_pagerduty_warnings_and_env(tmp_path: Path, url: str) -> None:
    config = write_config(
        tmp_path,
        url,
        api_key="",
        extra='apikey = "typo"\n[teleport]\nclient_key = "/nowhere/auth.key"\n',
    )
    settings, warnings = load_pagerduty_settings(
        config, environ={"TPD_PAGERDUTY_API_KEY": API_KEY, "TPD_TELEPORT_IDENTITY": "/x"}
    )
    assert settings.api_key == API_KEY
    assert [w.key for w in warnings] == ["pagerduty.apikey"]


def test_an_api_key_file_is_read(tmp_path: Path, url: str) -> None:
    key_file = tmp_path / "pd-key"
    key_file.write_text(API_KEY + "\n")
    config = write_config(tmp_path, url, api_key=str(key_file))
    assert run(config, "alice@example.com", CRITICAL).exit_code == 0


# -- as a real process ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "expected"),
    [("alice@example.com", 0), ("carol@example.com", 1), ("nobody@example.com", 2)],
)
def test_exit_codes_of_the_real_process(config: Path, email: str, expected: int) -> None:
    env = {**os.environ, "TPD_PAGERDUTY_API_KEY": ""}
    result = subprocess.run(
        [sys.executable, "-m", "teleport_pd_cli", "check-oncall", email, CRITICAL],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "TPD_CONFIG": str(config)},
    )
    assert result.returncode == expected, result.stderr
    assert API_KEY not in result.stdout + result.stderr
    if expected == 2:
        assert result.stderr.strip().count("\n") == 0


def test_a_forbidden_api_key_exits_2(fake: FakePagerDuty, config: Path) -> None:
    fake.fail_next(1, status=403)
    result = run(config, "alice@example.com", CRITICAL)
    assert result.exit_code == 2
    assert "(403 Forbidden)" in one_error_line(result)


# -- --explain: the PagerDuty checks of the approval, with their evidence ----------------------


def explained(config: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    """The text answer and the JSON document of `check-oncall --explain` (same exit code)."""
    text = run(config, *args, "--explain")
    document = run(config, *args, "--explain", "--json")
    assert document.exit_code == text.exit_code, document.output
    parsed: dict[str, Any] = json.loads(document.stdout)
    return text, parsed


def statuses(document: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["status"] for check in document["checks"]}


def test_explain_of_an_approvable_user_passes_every_check_and_exits_0(config: Path) -> None:
    result, document = explained(config, "alice@example.com", CRITICAL)
    assert result.exit_code == 0, result.output
    assert set(statuses(document).values()) == {"passed"}
    assert 'level 1 in escalation policy "Critical escalation", schedule "Critical primary"' in (
        result.output
    )
    assert result.output.rstrip().endswith(
        "Verdict: would approve now: alice@example.com is on call in My Critical Service"
    )


def test_explain_json_is_a_stable_versioned_document(config: Path) -> None:
    _, document = explained(config, "alice@example.com", CRITICAL)
    assert set(document) == {
        "version",
        "email",
        "service_names",
        "checks",
        "pagerduty",
        "max_escalation_level",
        "verdict",
        "error",
    }
    assert document["version"] == EXPLAIN_JSON_VERSION
    assert [check["name"] for check in document["checks"]] == [
        "requester_email",
        "pagerduty_user",
        "services",
        "on_call",
        "escalation_level",
    ]
    assert document["verdict"]["approve"] is True
    (entry,) = document["pagerduty"]["on_calls"]
    assert entry["schedule"]["name"] == "Critical primary"
    assert entry["counted"] is True


def test_explain_lists_near_misses_instead_of_failing_with_exit_2(config: Path) -> None:
    result, document = explained(config, "alice@example.co", CRITICAL)
    assert result.exit_code == 1
    assert "alice@example.com (Alice On-Call, " in result.output
    assert document["verdict"] == {
        "approve": False,
        "failed_check": "pagerduty_user",
        "reason": "email is not found",
    }
    (miss,) = document["pagerduty"]["near_misses"]
    assert (miss["email"], miss["why"]) == (
        "alice@example.com",
        "a different address that contains the requester's email",
    )


def test_explain_names_a_unicode_look_alike(config: Path) -> None:
    result, document = explained(config, "\u212aate@example.com", CRITICAL)
    assert result.exit_code == 1
    (miss,) = document["pagerduty"]["near_misses"]
    assert miss["email"] == "kate@example.com"
    assert "U+212A KELVIN SIGN" in miss["why"]


def test_explain_of_an_address_that_is_not_an_email_does_not_ask_pagerduty(
    fake: FakePagerDuty, config: Path
) -> None:
    fake.clear_requests()
    result, document = explained(config, "alice", CRITICAL)
    assert result.exit_code == 1
    assert document["verdict"]["failed_check"] == "requester_email"
    assert fake.requests == []


def test_explain_of_a_tier_above_the_limit_fails_the_level_check(tmp_path: Path, url: str) -> None:
    config = write_config(
        tmp_path, url, extra="[pagerduty.auto_approval]\nmax_escalation_level = 1\n"
    )
    result, document = explained(config, "bob@example.com", CRITICAL)
    assert result.exit_code == 1
    assert statuses(document)["on_call"] == "passed"
    assert document["verdict"]["reason"] == (
        "user is on call only at escalation level(s) 2, above max_escalation_level 1"
    )


def test_explain_of_a_user_on_call_elsewhere_shows_the_other_policy(config: Path) -> None:
    result, document = explained(config, "bob@example.com", NOTIFICATIONS)
    assert result.exit_code == 0  # bob is level 1 of the notifications policy
    result, document = explained(config, "alice@example.com", NOTIFICATIONS)
    assert result.exit_code == 1
    assert document["verdict"]["failed_check"] == "on_call"
    assert "(not a policy of the annotated services)" in result.output
    assert [e["escalation_policy"]["name"] for e in document["pagerduty"]["elsewhere"]] == [
        "Critical escalation"
    ]


def test_explain_of_unknown_services_fails_the_services_check(config: Path) -> None:
    result, document = explained(config, "alice@example.com", "Nope")
    assert result.exit_code == 1
    assert "Nope: no PagerDuty service has this name" in result.output
    assert document["pagerduty"]["missing_services"] == ["Nope"]
    assert document["verdict"]["reason"] == "Failed to find any service"


def test_explain_exits_2_when_pagerduty_refuses_the_key(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path, url, api_key="u+wrong-key-0123456789")
    result = run(config, "alice@example.com", CRITICAL, "--explain", "--json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["verdict"] is None
    assert (document["email"], document["service_names"]) == ("alice@example.com", [CRITICAL])
    assert "refused the API key (401 Unauthorized)" in document["error"]


def test_explain_works_with_scoped_oauth_credentials(
    fake: FakePagerDuty, url: str, tmp_path: Path
) -> None:
    secret = "oncall-oauth-s3cret-7"
    fake.add_oauth_client("tpd-oncall", secret)
    config = tmp_path / "oauth.toml"
    config.write_text(
        f'[pagerduty]\nuser_email = "bot@example.com"\napi_endpoint = "{url}"\n'
        f'oauth_client_id = "tpd-oncall"\noauth_client_secret = "{secret}"\n'
        f'account_subdomain = "tpd-fake"\noauth_token_url = "{url}/oauth/token"\n',
        encoding="utf-8",
    )
    result, document = explained(config, "alice@example.com", CRITICAL)
    assert result.exit_code == 0, result.output
    assert document["verdict"]["approve"] is True
    assert secret not in result.output
