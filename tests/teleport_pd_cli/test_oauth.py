"""Scoped OAuth in tpd: the config keys and their rules, the default scopes derived from the
operations tpd calls, and `tpd doctor` with an OAuth app against the fake PagerDuty."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import pagerduty_client
from pagerduty_client import CLIENT_OPERATIONS, required_scopes
from pagerduty_client.testing import FakePagerDuty
from teleport_access.testing import FakeAuthServer
from teleport_pd_cli._exceptions import ConfigError
from teleport_pd_cli.cli import cli
from teleport_pd_cli.config import (
    DEFAULT_OAUTH_SCOPES,
    PAGERDUTY_OPERATIONS,
    Config,
    ConfigWarning,
    parse_config,
)

ROOT = Path(__file__).resolve().parents[2]
BASE = '[teleport]\nidentity = "/x"\n[pagerduty]\nuser_email = "bot@example.com"\n'
OAUTH = (
    'oauth_client_id = "app"\noauth_client_secret = "s3cret-value"\naccount_subdomain = "acme"\n'
)
SECRET = "s3cret-value"


def parse(text: str, environ: dict[str, str] | None = None) -> tuple[Config, list[ConfigWarning]]:
    return parse_config(text, environ=environ or {})


# -- config -----------------------------------------------------------------------------------


def test_oauth_keys_instead_of_an_api_key_make_an_oauth_config() -> None:
    config, warnings = parse(BASE + OAUTH)
    settings = config.pagerduty
    assert warnings == []
    assert (settings.api_key, settings.oauth_client_id, settings.account_subdomain) == (
        "",
        "app",
        "acme",
    )
    assert settings.oauth_token_url == "https://identity.pagerduty.com/oauth/token"
    assert settings.oauth_scopes == DEFAULT_OAUTH_SCOPES
    assert SECRET not in repr(settings)
    assert SECRET in config.secrets()


def test_both_kinds_of_credentials_is_an_error_naming_the_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(BASE + 'api_key = "k"\n' + OAUTH)
    message = str(caught.value)
    assert "set either `api_key` or the OAuth keys" in message
    assert "found `api_key` and `oauth_client_id`, `oauth_client_secret`, `account_subdomain`" in (
        message
    )


def test_neither_kind_of_credentials_is_an_error_naming_both() -> None:
    with pytest.raises(ConfigError, match=r"\[pagerduty\] api_key: missing required value") as e:
        parse(BASE)
    assert "oauth_client_id" in str(e.value)


def test_an_incomplete_oauth_app_names_what_is_missing() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(BASE + 'oauth_client_id = "app"\n')
    assert "[pagerduty] oauth_client_secret: missing required value: Scoped OAuth needs" in str(
        caught.value
    )
    assert "(missing: oauth_client_secret, account_subdomain)" in str(caught.value)


def test_the_client_secret_may_come_from_a_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("from-file-secret\n")
    from_file, _ = parse(BASE + OAUTH.replace(f'"{SECRET}"', f'"{path}"'))
    assert from_file.pagerduty.oauth_client_secret == "from-file-secret"
    from_env, _ = parse(
        BASE + OAUTH.replace(f'oauth_client_secret = "{SECRET}"\n', ""),
        {"TPD_PAGERDUTY_OAUTH_CLIENT_SECRET": "from-env-secret"},
    )
    assert from_env.pagerduty.oauth_client_secret == "from-env-secret"
    with pytest.raises(ConfigError, match="error reading the OAuth client secret from"):
        parse(BASE + OAUTH.replace(f'"{SECRET}"', f'"{tmp_path / "nope"}"'))


def test_a_plain_http_token_url_is_refused_unless_loopback() -> None:
    with pytest.raises(ConfigError, match="the client secret would cross the network"):
        parse(BASE + OAUTH + 'oauth_token_url = "http://identity.example.com/oauth/token"\n')
    config, _ = parse(BASE + OAUTH + 'oauth_token_url = "http://127.0.0.1:9/oauth/token"\n')
    assert config.pagerduty.oauth_token_url == "http://127.0.0.1:9/oauth/token"


def test_with_oauth_region_and_api_endpoint_may_both_be_set() -> None:
    text = BASE + OAUTH + 'region = "eu"\napi_endpoint = "http://127.0.0.1:8080"\n'
    config, _ = parse(text)
    assert (config.pagerduty.region, config.pagerduty.api_endpoint) == (
        "eu",
        "http://127.0.0.1:8080",
    )
    with pytest.raises(ConfigError, match="disagree"):
        parse(BASE + 'api_key = "k"\nregion = "eu"\napi_endpoint = "http://127.0.0.1:8080"\n')


@pytest.mark.parametrize(
    ("value", "expected"),
    [("acme", "acme"), ("https://acme.pagerduty.com", "acme"), ("ACME", "acme")],
)
def test_the_account_subdomain_may_be_given_as_the_account_url(value: str, expected: str) -> None:
    config, _ = parse(BASE + OAUTH.replace('"acme"', f'"{value}"'))
    assert config.pagerduty.account_subdomain == expected


def test_a_bad_subdomain_or_scope_is_an_error() -> None:
    with pytest.raises(ConfigError, match="is not a PagerDuty account subdomain"):
        parse(BASE + OAUTH.replace('"acme"', '"ac me"'))
    with pytest.raises(ConfigError, match="the account scope is added"):
        parse(BASE + OAUTH + 'oauth_scopes = ["as_account-us.acme"]\n')


# -- the default scopes -----------------------------------------------------------------------


def test_the_default_scopes_are_exactly_those_of_the_operations_tpd_calls() -> None:
    assert set(DEFAULT_OAUTH_SCOPES) == required_scopes(PAGERDUTY_OPERATIONS)
    assert DEFAULT_OAUTH_SCOPES == (
        "abilities.read",
        "incidents.read",
        "incidents.write",
        "oncalls.read",
        "services.read",
        "users.read",
    )


def test_every_pagerduty_client_method_the_code_calls_is_in_the_operations() -> None:
    methods = set(CLIENT_OPERATIONS)
    called: dict[str, set[str]] = {}
    for path in (ROOT / "teleport_pd_cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in methods:
                called.setdefault(node.attr, set()).add(str(path.relative_to(ROOT)))
    assert set(called) <= set(PAGERDUTY_OPERATIONS), {
        name: sorted(paths) for name, paths in called.items() if name not in PAGERDUTY_OPERATIONS
    }
    assert pagerduty_client.required_scopes(["GET /users"]) == {"users.read"}


# -- doctor -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth() -> Iterator[FakeAuthServer]:
    fake = FakeAuthServer()
    with fake.run_in_thread() as running:
        yield running


@pytest.fixture
def pagerduty() -> Iterator[tuple[FakePagerDuty, str]]:
    fake = FakePagerDuty(strict=True)
    fake.add_user("Access Bot", "bot@example.com", role="admin")
    with fake.serve_in_thread() as url:
        yield fake, url


def write(tmp_path: Path, auth: FakeAuthServer, url: str, secret: str = SECRET) -> Path:
    identity = auth.write_identity_file(tmp_path / "identity", "access-plugin")
    path = tmp_path / "tpd.toml"
    path.write_text(
        f'[teleport]\naddr = "{auth.address}"\nidentity = "{identity}"\n'
        f'[pagerduty]\nuser_email = "bot@example.com"\napi_endpoint = "{url}"\n'
        f'oauth_client_id = "app"\noauth_client_secret = "{secret}"\n'
        f'account_subdomain = "tpd-fake"\noauth_token_url = "{url}/oauth/token"\n'
    )
    return path


def doctor(config: Path) -> Result:
    result = CliRunner().invoke(cli, ["doctor", "-c", str(config)], env={})
    assert SECRET not in result.output
    return result


def check_lines(result: Result, name: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.split()[1:2] == [name]]


def test_doctor_shows_the_granted_scopes_of_a_working_app(
    tmp_path: Path, auth: FakeAuthServer, pagerduty: tuple[FakePagerDuty, str]
) -> None:
    fake, url = pagerduty
    fake.add_oauth_client("app", SECRET)
    result = doctor(write(tmp_path, auth, url))
    (oauth,) = check_lines(result, "pagerduty.oauth")
    assert oauth.startswith("ok")
    assert "app app got a token for as_account-us.tpd-fake: abilities.read, incidents.read" in oauth
    (api,) = check_lines(result, "pagerduty.api")
    assert api.startswith("ok")
    assert "accepts the OAuth token" in api
    assert check_lines(result, "pagerduty.user_email")[0].startswith("ok")
    assert check_lines(result, "pagerduty.api_key") == []


def test_doctor_names_the_scope_the_app_lacks(
    tmp_path: Path, auth: FakeAuthServer, pagerduty: tuple[FakePagerDuty, str]
) -> None:
    fake, url = pagerduty
    fake.add_oauth_client("app", SECRET, scopes=set(DEFAULT_OAUTH_SCOPES) - {"oncalls.read"})
    result = doctor(write(tmp_path, auth, url))
    assert result.exit_code == 1
    (oauth,) = check_lines(result, "pagerduty.oauth")
    assert oauth.startswith("fail")
    assert "the token lacks oncalls.read" in result.output
    assert "tick those scopes for the app in PagerDuty" in result.output
    assert check_lines(result, "pagerduty.api")[0].startswith("skip")


def test_doctor_shows_the_oauth_error_of_a_wrong_secret(
    tmp_path: Path, auth: FakeAuthServer, pagerduty: tuple[FakePagerDuty, str]
) -> None:
    fake, url = pagerduty
    fake.add_oauth_client("app", "the-real-secret")
    result = doctor(write(tmp_path, auth, url))
    assert result.exit_code == 1
    (oauth,) = check_lines(result, "pagerduty.oauth")
    assert oauth.startswith("fail")
    assert "invalid_client" in oauth
    assert "the-real-secret" not in result.output


def test_the_scopes_the_docs_tell_to_tick_are_the_derived_default() -> None:
    text = (ROOT / "docs" / "pagerduty-oauth.md").read_text()
    block = text.split("<!-- scopes:start -->")[1].split("<!-- scopes:end -->")[0]
    listed = [line.split("`")[1] for line in block.splitlines() if line.startswith("| `")]
    assert tuple(listed) == DEFAULT_OAUTH_SCOPES


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ('api_key = "k"\n' + OAUTH, "set either `api_key` or the OAuth keys"),
        ("", "[pagerduty] api_key: missing required value"),
    ],
)
def test_doctor_fails_on_both_kinds_of_credentials_or_neither(
    tmp_path: Path, credentials: str, message: str
) -> None:
    path = tmp_path / "tpd.toml"
    path.write_text(BASE + credentials)
    result = doctor(path)
    assert result.exit_code == 1
    (config_line,) = check_lines(result, "config")
    assert config_line.startswith("fail")
    assert message in config_line
