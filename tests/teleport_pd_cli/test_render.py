"""teleport_pd_cli.config.render: commented TOML, Helm values, systemd unit and docs/config.md."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from teleport_pd_cli.config import _settings as schema
from teleport_pd_cli.config import load_config, parse_config
from teleport_pd_cli.config.render import (
    render,
    render_helm,
    render_markdown,
    render_systemd,
    render_toml,
)

ROOT = Path(__file__).resolve().parents[2]


def fill(text: str, identity: str = "/var/lib/teleport/plugins/pagerduty/auth_id") -> str:
    return (
        text.replace('addr = ""', 'addr = "teleport.example.com:443"', 1)
        .replace('identity = ""', f'identity = "{identity}"', 1)
        .replace('api_key = ""', 'api_key = "u+Xa7sFkq9PZ3vYdG2hN"', 1)
        .replace('user_email = ""', 'user_email = "bot@example.com"', 1)
    )


def uncomment(text: str, names: set[str]) -> str:
    pattern = re.compile(r"^# (\w+) = ", re.M)
    return pattern.sub(lambda m: f"{m.group(1)} = " if m.group(1) in names else m.group(0), text)


# -- TOML ---------------------------------------------------------------------------------------


def test_the_rendered_config_is_valid_toml() -> None:
    tomllib.loads(render_toml())


def test_the_rendered_config_shows_every_key_of_the_schema() -> None:
    text = render_toml()
    for table in schema.TABLES:
        assert f"\n[{table.name}]\n" in text
        for spec in table.keys:
            prefix = "# " if spec.commented else ""
            assert re.search(rf"^{re.escape(prefix)}{spec.name} = ", text, re.M), spec.full_name


def test_the_rendered_config_is_accepted_without_warnings_once_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "teleport-pagerduty.toml"
    path.write_text(fill(render_toml()))
    config, warnings = load_config(path, environ={})
    assert warnings == []
    assert config.teleport.addr == "teleport.example.com:443"
    assert config.teleport.credentials == "identity"


def test_the_rendered_config_needs_only_the_api_key_and_email_to_load() -> None:
    with pytest.raises(Exception, match=r"\[pagerduty\] api_key: missing required value"):
        parse_config(render_toml(), environ={})


def test_the_rendered_values_are_exactly_the_defaults() -> None:
    rendered, _ = parse_config(fill(render_toml()), environ={})
    minimal, _ = parse_config(
        '[teleport]\naddr = "teleport.example.com:443"\n'
        'identity = "/var/lib/teleport/plugins/pagerduty/auth_id"\n'
        '[pagerduty]\napi_key = "u+Xa7sFkq9PZ3vYdG2hN"\nuser_email = "bot@example.com"\n',
        environ={},
    )
    assert rendered.teleport == minimal.teleport
    assert rendered.pagerduty == minimal.pagerduty
    assert rendered.log == minimal.log
    assert rendered.metrics == minimal.metrics
    assert rendered.daemon == minimal.daemon


OAUTH_KEYS = {"oauth_client_id", "oauth_client_secret", "account_subdomain", "oauth_token_url"}
OAUTH_KEYS |= {"oauth_scopes"}


def test_uncommenting_the_optional_keys_gives_a_valid_config() -> None:
    optional = {s.name for s in schema.all_keys() if s.commented} - {"api_endpoint", "auth_server"}
    optional -= OAUTH_KEYS  # the alternative to api_key: see the next test
    text = uncomment(fill(render_toml(), identity=""), optional)
    config, warnings = parse_config(text, environ={})
    assert warnings == []
    assert config.teleport.credentials == "tls"
    assert config.pagerduty.api_endpoint == "https://api.eu.pagerduty.com"
    assert config.metrics.listen == "127.0.0.1:9090"


def test_uncommenting_the_oauth_keys_instead_of_the_api_key_gives_an_oauth_config(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret-value\n")
    text = fill(render_toml()).replace('api_key = "u+Xa7sFkq9PZ3vYdG2hN"', 'api_key = ""', 1)
    text = uncomment(text, OAUTH_KEYS).replace(
        "/var/lib/teleport/plugins/pagerduty/oauth_client_secret", str(secret)
    )
    config, warnings = parse_config(text, environ={})
    assert warnings == []
    settings = config.pagerduty
    assert (settings.oauth_client_secret, settings.account_subdomain) == ("s3cret-value", "acme")
    assert "incidents.write" in settings.oauth_scopes


def test_uncommenting_api_endpoint_alone_gives_a_valid_config() -> None:
    config, warnings = parse_config(uncomment(fill(render_toml()), {"api_endpoint"}), environ={})
    assert warnings == []
    assert config.pagerduty.api_endpoint == "https://api.pagerduty.com"


def test_the_rendered_config_explains_required_keys_and_environment_variables() -> None:
    text = " ".join(line[2:] for line in render_toml().splitlines() if line.startswith("# "))
    assert "Required. Environment variable TPD_PAGERDUTY_USER_EMAIL overrides it." in text
    assert "Environment variable TPD_PAGERDUTY_API_KEY overrides it." in text
    assert "tpd extension (the Go plugin ignores this table)" in text


# -- Helm ---------------------------------------------------------------------------------------


def parse_simple_yaml(text: str) -> dict[str, Any]:
    """The YAML subset render_helm writes: nested maps by 2-space indent, JSON or bare scalars."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        value = value.strip()
        if not value:
            parent[key] = {}
            stack.append((indent, parent[key]))
        else:
            parent[key] = json.loads(value) if value.startswith('"') else value
    return root


def test_the_helm_values_have_the_guides_keys() -> None:
    values = parse_simple_yaml(render_helm())
    assert values["teleport"] == {
        "address": "",
        "identitySecretName": "",
        "identitySecretPath": "auth_id",
    }
    assert values["pagerduty"]["apiKey"] == ""
    assert values["pagerduty"]["userEmail"] == ""
    assert values["log"] == {"severity": "INFO", "output": "stdout"}


def test_the_helm_values_say_where_the_extensions_went() -> None:
    assert "[pagerduty.auto_approval]" in render_helm()


# -- systemd ------------------------------------------------------------------------------------


def unit_directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_the_systemd_unit_runs_tpd_with_the_config_and_restarts_on_failure() -> None:
    directives = unit_directives(render_systemd())
    assert directives["ExecStart"] == ["/usr/local/bin/tpd run -c /etc/teleport-pagerduty.toml"]
    assert directives["Restart"] == ["on-failure"]
    assert directives["WantedBy"] == ["multi-user.target"]
    assert directives["TimeoutStopSec"] == ["30s"]


def test_the_systemd_unit_is_hardened() -> None:
    directives = unit_directives(render_systemd())
    for key, value in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
    ]:
        assert directives[key] == [value]


def test_paths_with_spaces_are_quoted_for_systemd() -> None:
    unit = render_systemd(exec_path="/opt/my tools/tpd", config_path="/etc/tpd 100%.toml")
    assert 'ExecStart="/opt/my tools/tpd" run -c "/etc/tpd 100%%.toml"' in unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_finds_nothing_to_complain_about(tmp_path: Path) -> None:
    unit = tmp_path / "teleport-pagerduty.service"
    unit.write_text(render_systemd(exec_path="/bin/true"))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [line for line in result.stderr.splitlines() if str(unit) in line]
    assert complaints == []


# -- Markdown and the committed docs ------------------------------------------------------------


def test_docs_config_md_is_the_current_rendering() -> None:
    committed = (ROOT / "docs" / "config.md").read_text()
    assert committed == render_markdown(), (
        "docs/config.md is stale: run `tpd render-config --format markdown -o docs/config.md "
        "--force`"
    )


def test_the_reference_documents_every_key_and_environment_variable() -> None:
    text = render_markdown()
    for spec in schema.all_keys():
        assert f"| `{spec.name}`" in text, spec.full_name
        if spec.env:
            assert f"| `{spec.env}` | `{spec.display}` |" in text


def test_the_reference_embeds_the_rendered_config() -> None:
    assert render_toml() in render_markdown()


def test_render_dispatches_on_format_and_rejects_others() -> None:
    assert render("toml") == render_toml()
    assert render("systemd", exec_path="/x/tpd").startswith("# teleport-pagerduty.service")
    with pytest.raises(ValueError, match="unknown format 'ini'"):
        render("ini")
