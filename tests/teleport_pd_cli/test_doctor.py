"""`tpd doctor`: one line per check against the fake Auth Service and the fake PagerDuty."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pagerduty_client.testing import FakePagerDuty
from teleport_access import (
    AccessMonitoringRule,
    Notification,
    RequestConditions,
    ReviewConditions,
    Role,
    RoleConditions,
    User,
)
from teleport_access.testing import FakeAuthServer, FakeProxy
from teleport_pd_cli.cli import cli
from teleport_pd_cli.tools.doctor import CheckResult, Status, diagnose, format_result

API_KEY = "u+doctor-secret-key-93b1e0"
WHERE = 'contains(request.system_annotations["pagerduty_services"], "My Critical Service")'


def seed_teleport(fake: FakeAuthServer) -> None:
    fake.add_role(
        Role(
            name="access-plugin",
            allow=RoleConditions(
                review_requests=ReviewConditions(roles=("demo-role",), where=WHERE)
            ),
        )
    )
    fake.add_role(Role(name="notify-only"))
    fake.add_role(
        Role(
            name="demo-role-requester",
            allow=RoleConditions(request=RequestConditions(roles=("demo-role",))),
        )
    )
    fake.add_user(User(name="access-plugin", roles=("access-plugin",)))


@pytest.fixture(scope="module")
def auth() -> Iterator[FakeAuthServer]:
    fake = FakeAuthServer()
    seed_teleport(fake)
    with fake.run_in_thread() as running:
        yield running


@pytest.fixture(scope="module")
def pagerduty() -> Iterator[tuple[FakePagerDuty, str]]:
    fake = FakePagerDuty(strict=True, api_key=API_KEY)
    fake.add_user("Access Bot", "bot@example.com", role="admin")
    fake.add_user("Watcher", "watcher@example.com", role="read_only_user")
    with fake.serve_in_thread() as url:
        yield fake, url


def identity_file(
    auth: FakeAuthServer,
    directory: Path,
    *,
    ttl: timedelta = timedelta(hours=72),
    not_before: datetime | None = None,
    user: str = "access-plugin",
    roles: tuple[str, ...] = ("access-plugin",),
) -> Path:
    return auth.write_identity_file(
        directory / "identity", user, roles=roles, ttl=ttl, not_before=not_before
    )


def write_config(
    directory: Path,
    *,
    addr: str,
    identity: Path | None,
    endpoint: str,
    api_key: str = API_KEY,
    user_email: str = "bot@example.com",
    extra: str = "",
) -> Path:
    identity_line = f'identity = "{identity}"\n' if identity is not None else ""
    path = directory / "teleport-pagerduty.toml"
    path.write_text(
        f'[teleport]\naddr = "{addr}"\n{identity_line}'
        f'[pagerduty]\napi_key = "{api_key}"\nuser_email = "{user_email}"\n'
        f'api_endpoint = "{endpoint}"\n{extra}',
        encoding="utf-8",
    )
    return path


Configure = Callable[..., Path]


@pytest.fixture
def configure(
    tmp_path: Path, auth: FakeAuthServer, pagerduty: tuple[FakePagerDuty, str]
) -> Configure:
    """`write_config` for the module's fakes: `configure(**overrides)`, with a valid identity
    file unless `identity=` is given."""

    def configure(**overrides: Any) -> Path:
        options: dict[str, Any] = {"addr": auth.address, "endpoint": pagerduty[1]}
        options.update(overrides)
        if "identity" not in options:
            options["identity"] = identity_file(auth, tmp_path)
        return write_config(tmp_path, **options)

    return configure


@pytest.fixture
def healthy(configure: Configure) -> Path:
    return configure()


def doctor(config: Path, *args: str) -> Result:
    env = {"TPD_PAGERDUTY_API_KEY": "", "TPD_TELEPORT_IDENTITY": "", "TPD_TELEPORT_ADDR": ""}
    result = CliRunner().invoke(cli, ["doctor", "-c", str(config), *args], env=env)
    assert API_KEY not in result.output
    assert "PRIVATE KEY" not in result.output
    return result


def lines(result: Result) -> dict[str, list[str]]:
    """The check lines by check name: {"credentials": ["ok    credentials   ..."], ...}."""
    found: dict[str, list[str]] = {}
    for line in result.output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in {s.value for s in Status}:
            found.setdefault(parts[1], []).append(line)
    return found


def status_of(result: Result, check: str) -> str:
    (line,) = lines(result)[check]
    return line.split()[0]


# -- a healthy setup ------------------------------------------------------------------------------


def test_a_healthy_setup_is_all_ok_and_exits_0(healthy: Path) -> None:
    result = doctor(healthy)
    assert result.exit_code == 0, result.output
    found = lines(result)
    assert list(found) == [
        "config",
        "credentials",
        "credentials.expiry",
        "teleport.route",
        "teleport.version",
        "teleport.requests",
        "teleport.plugin_data",
        "teleport.rules",
        "teleport.roles",
        "teleport.review",
        "pagerduty.api_key",
        "pagerduty.user_email",
    ]
    for name, check_lines in found.items():
        assert [line.split()[0] for line in check_lines] == ["ok"], (name, result.output)
    assert "12 checks: 0 failed, 0 warnings." in result.output


def test_healthy_lines_say_what_was_seen(healthy: Path, auth: FakeAuthServer) -> None:
    found = lines(doctor(healthy))
    assert "user 'access-plugin', roles access-plugin" in found["credentials"][0]
    assert f"auth via {auth.address}, cluster 'teleport.example.com'" in found["teleport.route"][0]
    assert "Teleport 17.4.2" in found["teleport.version"][0]
    assert f"access-plugin may review demo-role when {WHERE}" in found["teleport.review"][0]
    assert "From user Access Bot <bot@example.com>" in found["pagerduty.user_email"][0]


def test_json_lists_every_check_with_status_message_and_fix(healthy: Path) -> None:
    result = doctor(healthy, "--json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document[0] == {
        "check": "config",
        "status": "ok",
        "message": f"{healthy} loaded",
        "fix": "",
    }
    assert {item["status"] for item in document} == {"ok"}


def test_a_real_process_exits_0_on_a_healthy_setup(healthy: Path) -> None:
    env = {**os.environ, "TPD_CONFIG": str(healthy), "TPD_PAGERDUTY_API_KEY": ""}
    result = subprocess.run(
        [sys.executable, "-m", "teleport_pd_cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert API_KEY not in result.stdout + result.stderr
    assert result.stderr == ""


# -- credentials ----------------------------------------------------------------------------------


def test_an_expired_identity_fails_and_skips_teleport(
    tmp_path: Path, auth: FakeAuthServer, configure: Configure
) -> None:
    identity = identity_file(
        auth,
        tmp_path,
        ttl=timedelta(hours=1),
        not_before=datetime.now(UTC) - timedelta(hours=3),
    )
    config = configure(identity=identity)
    result = doctor(config)
    assert result.exit_code == 1
    (line,) = lines(result)["credentials.expiry"]
    assert line.startswith("fail")
    assert "expired at" in line
    assert "Fix: renew them" in line
    assert status_of(result, "teleport.version") == "skip"
    assert status_of(result, "pagerduty.api_key") == "ok"


def test_an_identity_with_less_than_a_day_left_warns(
    tmp_path: Path, auth: FakeAuthServer, configure: Configure
) -> None:
    identity = identity_file(auth, tmp_path, ttl=timedelta(hours=12))
    config = configure(identity=identity)
    result = doctor(config)
    assert result.exit_code == 0
    (line,) = lines(result)["credentials.expiry"]
    assert line.startswith("warn")
    assert "less than a day" in line
    assert "refresh_identity = true" in line


def test_a_refreshed_identity_with_hours_left_is_ok(
    tmp_path: Path, auth: FakeAuthServer, configure: Configure
) -> None:
    identity = identity_file(auth, tmp_path, ttl=timedelta(hours=1))
    config = configure(
        identity=identity,
        extra="",
    )
    text = config.read_text().replace("[pagerduty]", "refresh_identity = true\n[pagerduty]")
    config.write_text(text)
    result = doctor(config)
    assert status_of(result, "credentials.expiry") == "ok"
    assert "reloaded from disk every 1m" in lines(result)["credentials.expiry"][0]


def test_a_missing_identity_file_fails_naming_it(tmp_path: Path, configure: Configure) -> None:
    config = configure(identity=tmp_path / "nope")
    result = doctor(config)
    assert result.exit_code == 1
    (line,) = lines(result)["credentials"]
    assert line.startswith("fail")
    assert f"'{tmp_path / 'nope'}' does not exist" in line
    assert status_of(result, "teleport.route") == "skip"


def test_no_credentials_at_all_fails(configure: Configure) -> None:
    config = configure(identity=None)
    result = doctor(config)
    assert result.exit_code == 1
    assert "no credentials configured" in lines(result)["credentials"][0]


def test_a_group_readable_identity_file_warns(
    tmp_path: Path, auth: FakeAuthServer, configure: Configure
) -> None:
    identity = identity_file(auth, tmp_path)
    identity.chmod(0o640)
    config = configure(identity=identity)
    result = doctor(config)
    assert result.exit_code == 0
    warnings = [line for line in lines(result)["credentials"] if line.startswith("warn")]
    assert len(warnings) == 1
    assert "readable by its group" in warnings[0]
    assert "chmod 600" in warnings[0]
    assert result.stderr_bytes in (None, b"")


# -- Teleport -------------------------------------------------------------------------------------


def test_an_unreachable_teleport_fails_the_route(
    tmp_path: Path, auth: FakeAuthServer, pagerduty: tuple[FakePagerDuty, str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(
        tmp_path,
        addr=f"127.0.0.1:{port}",
        identity=identity_file(auth, tmp_path),
        endpoint=pagerduty[1],
    )
    result = doctor(config)
    assert result.exit_code == 1
    (line,) = lines(result)["teleport.route"]
    assert line.startswith("fail")
    assert f"127.0.0.1:{port}" in line
    assert "Fix: check [teleport] addr" in line
    assert status_of(result, "teleport.version") == "skip"
    assert status_of(result, "pagerduty.user_email") == "ok"


def test_an_old_teleport_version_fails(
    tmp_path: Path, pagerduty: tuple[FakePagerDuty, str]
) -> None:
    old = FakeAuthServer(server_version="6.0.2")
    seed_teleport(old)
    with old.run_in_thread() as running:
        config = write_config(
            tmp_path,
            addr=running.address,
            identity=identity_file(running, tmp_path),
            endpoint=pagerduty[1],
        )
        result = doctor(config)
    assert result.exit_code == 1
    (line,) = lines(result)["teleport.version"]
    assert line.startswith("fail")
    assert "Teleport 6.0.2" in line
    assert "older than 6.1.0" in line


def test_a_plugin_user_that_may_not_list_requests_fails(
    healthy: Path, auth: FakeAuthServer
) -> None:
    auth.fail_next("ListAccessRequests", code="PERMISSION_DENIED", message="access denied")
    result = doctor(healthy)
    assert result.exit_code == 1
    (line,) = lines(result)["teleport.requests"]
    assert line.startswith("fail")
    assert "verbs ['list', 'read']" in line


def test_a_plugin_user_that_may_not_read_plugin_data_fails(
    healthy: Path, auth: FakeAuthServer
) -> None:
    auth.fail_next("GetPluginData", code="PERMISSION_DENIED", message="access denied")
    result = doctor(healthy)
    assert result.exit_code == 1
    assert status_of(result, "teleport.plugin_data") == "fail"


def test_roles_without_review_rules_warn_that_nothing_can_be_approved(
    tmp_path: Path, auth: FakeAuthServer, configure: Configure
) -> None:
    identity = identity_file(auth, tmp_path, user="notifier", roles=("notify-only",))
    config = configure(identity=identity)
    result = doctor(config)
    assert result.exit_code == 0
    (line,) = lines(result)["teleport.review"]
    assert line.startswith("warn")
    assert "no review_requests rule" in line


def test_approve_roles_the_plugin_may_review_are_ok(configure: Configure) -> None:
    config = configure(
        extra='[pagerduty.auto_approval]\napprove_roles = ["demo-role", "dev-*"]\n',
    )
    result = doctor(config)
    assert result.exit_code == 0
    assert "approve_roles demo-role are covered" in lines(result)["teleport.review"][0]


def test_approve_roles_the_plugin_may_not_review_fail(configure: Configure) -> None:
    config = configure(
        extra='[pagerduty.auto_approval]\napprove_roles = ["demo-role", "admin"]\n',
    )
    result = doctor(config)
    assert result.exit_code == 1
    (line,) = lines(result)["teleport.review"]
    assert line.startswith("fail")
    assert "admin:" in line
    assert "demo-role:" not in line


def test_disabled_auto_approval_needs_no_review_rule(
    tmp_path: Path, auth: FakeAuthServer, configure: Configure
) -> None:
    identity = identity_file(auth, tmp_path, user="notifier", roles=("notify-only",))
    config = configure(
        identity=identity,
        extra="[pagerduty.auto_approval]\nenabled = false\n",
    )
    assert status_of(doctor(config), "teleport.review") == "ok"


# -- PagerDuty ------------------------------------------------------------------------------------


def test_a_wrong_api_key_fails_and_is_never_printed(configure: Configure) -> None:
    wrong = "u+wrong-doctor-key-555"
    config = configure(
        api_key=wrong,
    )
    result = doctor(config)
    assert result.exit_code == 1
    (line,) = lines(result)["pagerduty.api_key"]
    assert line.startswith("fail")
    assert "refused the API key (401 Unauthorized)" in line
    assert wrong not in result.output
    assert status_of(result, "pagerduty.user_email") == "skip"


def test_a_forbidden_api_key_fails(healthy: Path, pagerduty: tuple[FakePagerDuty, str]) -> None:
    pagerduty[0].fail_next(1, status=403)
    result = doctor(healthy)
    assert result.exit_code == 1
    (line,) = lines(result)["pagerduty.api_key"]
    assert line.startswith("fail")
    assert "refused the API key (403 Forbidden)" in line


def test_an_unknown_from_user_fails(configure: Configure) -> None:
    config = configure(
        user_email="bot@example.co",
    )
    result = doctor(config)
    assert result.exit_code == 1
    (line,) = lines(result)["pagerduty.user_email"]
    assert line.startswith("fail")
    assert "no PagerDuty user has the email 'bot@example.co'" in line


def test_a_read_only_from_user_warns(configure: Configure) -> None:
    config = configure(
        user_email="watcher@example.com",
    )
    result = doctor(config)
    assert result.exit_code == 0
    assert "read-only role" in lines(result)["pagerduty.user_email"][0]


def test_an_unreachable_pagerduty_fails(tmp_path: Path, auth: FakeAuthServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(
        tmp_path,
        addr=auth.address,
        identity=identity_file(auth, tmp_path),
        endpoint=f"http://127.0.0.1:{port}",
    )
    result = doctor(config)
    assert result.exit_code == 1
    assert "cannot reach PagerDuty" in lines(result)["pagerduty.api_key"][0]


# -- the config -----------------------------------------------------------------------------------


def test_a_missing_config_fails_and_skips_everything_else(tmp_path: Path) -> None:
    result = doctor(tmp_path / "absent.toml")
    assert result.exit_code == 1
    found = lines(result)
    assert found["config"][0].startswith("fail")
    assert "config file not found" in found["config"][0]
    assert {line.split()[0] for name, ls in found.items() if name != "config" for line in ls} == {
        "skip"
    }


def test_a_broken_teleport_section_still_checks_pagerduty(
    tmp_path: Path, pagerduty: tuple[FakePagerDuty, str]
) -> None:
    config = write_config(tmp_path, addr="x:1", identity=None, endpoint=pagerduty[1])
    config.write_text(config.read_text().replace("[pagerduty]", 'client_crt = "/a"\n[pagerduty]'))
    result = doctor(config)
    assert result.exit_code == 1
    assert status_of(result, "config") == "fail"
    assert status_of(result, "pagerduty.api_key") == "ok"
    assert status_of(result, "pagerduty.user_email") == "ok"


def test_config_warnings_are_their_own_lines(configure: Configure) -> None:
    config = configure(
        extra='apikey = "typo"\n',
    )
    result = doctor(config)
    assert result.exit_code == 0
    config_lines = lines(result)["config"]
    assert [line.split()[0] for line in config_lines] == ["ok", "warn"]
    assert "unknown key, ignored (did you mean api_key?)" in config_lines[1]


# -- formatting -----------------------------------------------------------------------------------


def test_a_result_is_one_line_with_its_fix() -> None:
    result = CheckResult(
        name="teleport.route",
        status=Status.FAIL,
        message="cannot reach it:\n  - auth: refused\n  - proxy: refused",
        fix="check addr",
    )
    assert format_result(result) == (
        "fail  teleport.route        cannot reach it:; auth: refused; proxy: refused. "
        "Fix: check addr"
    )


def test_a_certificate_without_roles_falls_back_to_the_user_record(
    tmp_path: Path, auth: FakeAuthServer, configure: Configure
) -> None:
    identity = identity_file(auth, tmp_path, roles=())
    config = configure(identity=identity)
    result = doctor(config)
    assert result.exit_code == 0, result.output
    (roles_line,) = lines(result)["teleport.roles"]
    assert "read role(s) access-plugin (from the user record)" in roles_line
    assert status_of(result, "teleport.review") == "ok"


async def test_through_a_proxy_the_route_and_cluster_are_reported(tmp_path: Path) -> None:
    pagerduty = FakePagerDuty(api_key=API_KEY, openapi=False)
    pagerduty.add_user("Access Bot", "bot@example.com", role="admin")
    async with (
        FakeAuthServer(cluster_name="example.com") as auth,
        FakeProxy(auth_address=auth.address, cluster_name="example.com") as proxy,
    ):
        seed_teleport(auth)
        config = write_config(
            tmp_path,
            addr=proxy.address,
            identity=identity_file(auth, tmp_path),
            endpoint="https://api.pagerduty.com",
        )
        results = {
            result.name: result
            async for result in diagnose(
                config, environ={}, pagerduty_transport=pagerduty.async_transport()
            )
        }
    route = results["teleport.route"]
    assert route.status is Status.OK, route
    assert route.message == f"proxy-tls-routing via {proxy.address}, cluster 'example.com'"
    assert results["teleport.version"].status is Status.OK, results["teleport.version"]
    assert {r.status for r in results.values()} == {Status.OK}, results


def test_an_address_with_a_url_scheme_fails_the_route(
    tmp_path: Path, auth: FakeAuthServer, pagerduty: tuple[FakePagerDuty, str]
) -> None:
    config = write_config(
        tmp_path,
        addr=f"https://{auth.address}",
        identity=identity_file(auth, tmp_path),
        endpoint=pagerduty[1],
    )
    result = doctor(config)
    assert result.exit_code == 1
    (line,) = lines(result)["teleport.route"]
    assert line.startswith("fail")
    assert "without a URL scheme" in line


# -- access monitoring rules -------------------------------------------------------------------


def _amr(name: str, condition: str) -> AccessMonitoringRule:
    return AccessMonitoringRule(
        name=name,
        subjects=("access_request",),
        condition=condition,
        notification=Notification(name="pagerduty", recipients=("DB",)),
    )


def test_doctor_counts_the_rules_that_route_incidents(healthy: Path, auth: FakeAuthServer) -> None:
    auth.create_rule(_amr("doctor-db", 'access_request.spec.roles.contains("db")'))
    try:
        (line,) = lines(doctor(healthy))["teleport.rules"]
    finally:
        auth.delete_rule("doctor-db")
    assert line.startswith("ok")
    assert "Access Monitoring Rules are available; 1 route PagerDuty incidents" in line


def test_doctor_warns_when_rules_are_not_available_and_says_what_to_grant(
    healthy: Path, auth: FakeAuthServer
) -> None:
    auth.deny_resource("access-plugin", "access_monitoring_rule", ["read", "list"])
    try:
        result = doctor(healthy)
    finally:
        auth.allow_resource("access-plugin", "access_monitoring_rule")
    assert result.exit_code == 0
    (line, *fix) = lines(result)["teleport.rules"]
    assert line.startswith("warn")
    assert "tpd routes by role annotations only" in line
    assert "['access_monitoring_rule'] verbs ['read', 'list']" in " ".join([line, *fix])


def test_doctor_warns_when_a_rule_reads_traits_the_plugin_may_not_read(
    healthy: Path, auth: FakeAuthServer
) -> None:
    auth.create_rule(_amr("doctor-team", 'user.traits["team"].contains("db")'))
    auth.deny_resource("access-plugin", "user", ["read"])
    try:
        result = doctor(healthy)
    finally:
        auth.delete_rule("doctor-team")
        auth.allow_resource("access-plugin", "user")
    text = " ".join(lines(result)["teleport.rules"])
    assert "reads user.traits, which the plugin may not read" in text
    assert "['user'] verbs ['read']" in text
