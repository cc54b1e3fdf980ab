"""teleport_pd_cli.cli: `tpd version`, `tpd render-config`, `tpd where check` and shared pieces."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from teleport_access._exceptions import AccessDenied
from teleport_pd_cli import config
from teleport_pd_cli._exceptions import ConfigError
from teleport_pd_cli._version import __version__
from teleport_pd_cli.cli import (
    DEFAULT_CONFIG_PATH,
    RENDER_FORMATS,
    cli,
    config_option,
    handle_errors,
    load_config_reporting,
)
from teleport_pd_cli.config import load_config, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run_tpd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "teleport_pd_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


# -- basics -------------------------------------------------------------------------------------


def test_version_prints_the_tpd_version_first(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith(f"tpd v{__version__} python3.")


def test_the_cli_module_imports_no_heavy_library() -> None:
    code = (
        "import sys, teleport_pd_cli.cli; "
        "heavy = ('grpc', 'httpx', 'tomlkit', 'cryptography', 'google', 'teleport_access', "
        "'pagerduty_client'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_help_runs_as_a_real_process_and_lists_the_commands() -> None:
    result = run_tpd("--help")
    assert result.returncode == 0
    for command in ("render-config", "version", "where"):
        assert command in result.stdout


def test_the_cli_constants_match_their_sources() -> None:
    assert RENDER_FORMATS == render.FORMATS
    assert DEFAULT_CONFIG_PATH == config.DEFAULT_CONFIG_PATH


def test_docs_cli_md_documents_every_command() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    names: list[str] = []
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            names += [f"{name} {sub}" for sub in command.commands]
        else:
            names.append(name)
    for name in names:
        assert f"## `tpd {name}" in text, name


# -- shared error handling ----------------------------------------------------------------------


@click.command()
@click.argument("kind")
@handle_errors
def failing(kind: str) -> None:
    if kind == "config":
        raise ConfigError("/etc/x.toml: [pagerduty] api_key: missing required value")
    if kind == "teleport":
        raise AccessDenied('access denied to perform action "list" on "access_request"')
    raise RuntimeError("a bug")


def test_a_tpd_error_becomes_error_message_and_exit_1(runner: CliRunner) -> None:
    result = runner.invoke(failing, ["config"])
    assert result.exit_code == 1
    assert result.output == "Error: /etc/x.toml: [pagerduty] api_key: missing required value\n"


def test_a_library_error_becomes_error_message_and_exit_1(runner: CliRunner) -> None:
    result = runner.invoke(failing, ["teleport"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: access denied")


def test_other_exceptions_are_not_hidden(runner: CliRunner) -> None:
    result = runner.invoke(failing, ["bug"])
    assert isinstance(result.exception, RuntimeError)


@click.command()
@config_option
@handle_errors
def show_config(config_path: str) -> None:
    config = load_config_reporting(config_path)
    click.echo(config.pagerduty.user_email)


def test_the_config_option_reads_tpd_config_and_reports_warnings(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[pagerduty]\napi_key = "k"\nuser_email = "bot@example.com"\nzzz = 1\n')
    result = runner.invoke(show_config, [], env={"TPD_CONFIG": str(path)})
    assert result.exit_code == 0
    assert result.stdout == "bot@example.com\n"
    assert result.stderr == f"Warning: {path}: [pagerduty] zzz: unknown key, ignored\n"


def test_the_config_option_defaults_to_the_go_path() -> None:
    option = show_config.params[0]
    assert option.opts == ["-c", "--config"]
    assert option.default == "/etc/teleport-pagerduty.toml"
    assert isinstance(option, click.Option)
    assert option.envvar == "TPD_CONFIG"


def test_a_config_error_through_the_option_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(show_config, ["-c", str(tmp_path / "missing.toml")])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'missing.toml'}: config file not found\n"


# -- render-config ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["toml", "helm", "systemd", "markdown"])
def test_render_config_prints_each_format(runner: CliRunner, fmt: str) -> None:
    result = runner.invoke(cli, ["render-config", "--format", fmt])
    assert result.exit_code == 0
    assert result.output == render.render(fmt)


def test_render_config_prints_toml_by_default(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["render-config"]).output == render.render_toml()


def test_a_rendered_file_filled_in_is_accepted(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "teleport-pagerduty.toml"
    result = runner.invoke(cli, ["render-config", "-o", str(path)])
    assert result.exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    text = text.replace('addr = ""', 'addr = "tele.example.com:443"')
    text = text.replace('identity = ""', 'identity = "/var/lib/teleport/plugins/pagerduty/auth_id"')
    text = text.replace('api_key = ""', 'api_key = "/run/secrets/none"').replace(
        'user_email = ""', 'user_email = "bot@example.com"'
    )
    path.write_text(text)
    config, warnings = load_config(path, environ={"TPD_PAGERDUTY_API_KEY": "k"})
    assert warnings == []
    assert config.teleport.addr == "tele.example.com:443"


def test_render_config_never_overwrites_without_force(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "teleport-pagerduty.toml"
    path.write_text("precious\n")
    result = runner.invoke(cli, ["render-config", "-o", str(path)])
    assert result.exit_code == 1
    assert "exists; use --force to replace it" in result.output
    assert path.read_text() == "precious\n"
    assert runner.invoke(cli, ["render-config", "-o", str(path), "--force"]).exit_code == 0
    assert path.read_text() == render.render_toml()


def test_a_systemd_unit_file_is_world_readable(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "teleport-pagerduty.service"
    assert (
        runner.invoke(cli, ["render-config", "--format", "systemd", "-o", str(path)]).exit_code == 0
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_an_unwritable_output_is_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["render-config", "-o", str(tmp_path / "no" / "such" / "x.toml")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot write ")


def test_systemd_paths_go_into_exec_start(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        [
            "render-config",
            "--format",
            "systemd",
            "--exec-path",
            "/opt/tpd/bin/tpd",
            "--config-path",
            "/etc/tpd/pd.toml",
        ],
    )
    assert "ExecStart=/opt/tpd/bin/tpd run -c /etc/tpd/pd.toml\n" in result.output


def test_systemd_options_with_another_format_are_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["render-config", "--exec-path", "/usr/bin/tpd"])
    assert result.exit_code == 2
    assert "apply to --format systemd only" in result.output


def test_a_relative_exec_path_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["render-config", "--format", "systemd", "--exec-path", "tpd"])
    assert result.exit_code == 2
    assert "must be an absolute path" in result.output


def test_an_unknown_format_is_a_usage_error(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["render-config", "--format", "ini"]).exit_code == 2


def test_render_config_runs_as_a_real_process() -> None:
    result = run_tpd("render-config", "--format", "helm")
    assert result.returncode == 0
    assert result.stdout == render.render_helm()


# -- where check --------------------------------------------------------------------------------

GUIDE_WHERE = 'contains(request.system_annotations["pagerduty_services"], "My Critical Service")'


def test_a_true_expression_exits_0_and_explains_itself(runner: CliRunner) -> None:
    request = json.dumps({"system_annotations": {"pagerduty_services": ["My Critical Service"]}})
    result = runner.invoke(cli, ["where", "check", GUIDE_WHERE, "--request", request])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"{GUIDE_WHERE}  →  true"


def test_a_false_expression_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["where", "check", GUIDE_WHERE])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].endswith("→  false")


def test_reviewer_traits_are_visible(runner: CliRunner) -> None:
    reviewer = json.dumps({"roles": ["reviewer"], "traits": {"team": ["devops"]}})
    result = runner.invoke(
        cli,
        ["where", "check", 'contains(reviewer.traits["team"], "devops")', "--reviewer", reviewer],
    )
    assert result.exit_code == 0


def test_a_syntax_error_exits_2_with_a_caret(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["where", "check", "contains(request.roles, "])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: unexpected end of the expression")
    assert lines[1] == "  contains(request.roles, "
    assert lines[2].strip() == "^"


def test_a_type_error_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["where", "check", 'review.reason == "x"'])
    assert result.exit_code == 2
    assert 'unknown identifier "review.reason"' in result.stderr


def test_an_evaluation_error_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["where", "check", "equals(request.roles, request.reason)"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: equals: parameter types must match")


def test_a_threshold_filter_sees_the_review(runner: CliRunner) -> None:
    review = json.dumps({"reason": "on call", "annotations": {}})
    result = runner.invoke(
        cli, ["where", "check", "--filter", 'equals(review.reason, "on call")', "--review", review]
    )
    assert result.exit_code == 0


def test_review_without_filter_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["where", "check", GUIDE_WHERE, "--review", "{}"])
    assert result.exit_code == 2
    assert "--review applies to threshold filters only" in result.stderr


def test_the_legacy_dialect_rejects_the_typical_operators(runner: CliRunner) -> None:
    expression = 'request.reason == "x"'
    assert runner.invoke(cli, ["where", "check", expression]).exit_code == 1
    result = runner.invoke(cli, ["where", "check", "--legacy", expression])
    assert result.exit_code == 2
    assert "not supported in the legacy dialect" in result.stderr


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--request", "{roles: []}", "Error: --request: invalid JSON: Expecting property name"),
        ("--request", "[]", "Error: --request: expected a JSON object with roles, reason,"),
        ("--request", '{"annotations": {}}', "Error: --request: unknown key 'annotations'"),
        ("--request", '{"roles": "editor"}', "Error: --request: 'roles' must be a list of strings"),
        (
            "--reviewer",
            '{"traits": {"team": "x"}}',
            "Error: --reviewer: 'traits' must be an object",
        ),
        ("--request", '{"reason": 1}', "Error: --request: 'reason' must be a string"),
    ],
)
def test_bad_json_exits_2_with_a_one_line_reason(
    runner: CliRunner, option: str, value: str, message: str
) -> None:
    result = runner.invoke(cli, ["where", "check", GUIDE_WHERE, option, value])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_json_can_be_read_from_a_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"roles": ["editor"]}))
    result = runner.invoke(
        cli, ["where", "check", 'contains(request.roles, "editor")', "--request", f"@{path}"]
    )
    assert result.exit_code == 0


def test_a_missing_json_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["where", "check", GUIDE_WHERE, "--request", f"@{tmp_path}/no"])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_where_check_exit_codes_hold_for_a_real_process() -> None:
    request = json.dumps({"system_annotations": {"pagerduty_services": ["My Critical Service"]}})
    assert run_tpd("where", "check", GUIDE_WHERE, "--request", request).returncode == 0
    assert run_tpd("where", "check", GUIDE_WHERE).returncode == 1
    broken = run_tpd("where", "check", "contains(")
    assert broken.returncode == 2
    assert broken.stderr.startswith("Error: ")
