"""teleport_pd_cli.config: the Go plugin's TOML read unchanged, its checks in order, extensions."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from teleport_pd_cli.config import (
    AutoApprovalSettings,
    Config,
    ConfigError,
    LogSettings,
    PagerDutySettings,
    config_from_document,
    load_config,
    parse_config,
    read_config_document,
    severity_level,
)

MINIMAL = '[pagerduty]\napi_key = "key"\nuser_email = "bot@example.com"\n'


def load(
    tmp_path: Path, text: str, environ: dict[str, str] | None = None
) -> tuple[Config, list[str]]:
    path = tmp_path / "teleport-pagerduty.toml"
    path.write_text(text)
    config, warnings = load_config(path, environ=environ or {})
    return config, [str(warning) for warning in warnings]


def error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, environ)
    return str(caught.value)


# -- Go defaults and required values ------------------------------------------------------------


def test_a_config_with_only_api_key_and_user_email_gets_the_go_defaults(tmp_path: Path) -> None:
    config, warnings = load(tmp_path, MINIMAL)
    assert warnings == []
    assert config.pagerduty.api_endpoint == "https://api.pagerduty.com"
    assert config.pagerduty.request_annotations.notify_service == "pagerduty_notify_service"
    assert config.pagerduty.request_annotations.services == "pagerduty_services"
    assert config.log.output == "stderr"
    assert config.log.severity == "info"
    assert config.log.format == "text"
    assert config.teleport.addr == "localhost:3025"
    assert config.teleport.credentials is None
    assert config.teleport.refresh_identity_interval == timedelta(minutes=1)


def test_the_tpd_extensions_default_to_the_documented_values(tmp_path: Path) -> None:
    config, _ = load(tmp_path, MINIMAL)
    assert config.daemon.handler_timeout == timedelta(seconds=30)
    assert config.daemon.max_concurrency == 128
    assert config.daemon.lookup_cache_ttl == timedelta(minutes=5)
    assert config.daemon.shutdown_grace == timedelta(seconds=15)
    assert config.metrics.enabled is False
    approval = config.pagerduty.auto_approval
    assert (approval.enabled, approval.max_escalation_level, approval.approve_roles) == (
        True,
        0,
        ("*",),
    )


def test_an_empty_api_key_is_an_error_naming_the_file_and_key(tmp_path: Path) -> None:
    message = error(tmp_path, '[pagerduty]\napi_key = ""\nuser_email = "bot@example.com"\n')
    path = tmp_path / "teleport-pagerduty.toml"
    assert message.startswith(f"{path}: [pagerduty] api_key: missing required value")
    assert "TPD_PAGERDUTY_API_KEY" in message


def test_a_missing_user_email_is_an_error_naming_the_key(tmp_path: Path) -> None:
    message = error(tmp_path, '[pagerduty]\napi_key = "k"\n')
    assert "[pagerduty] user_email: missing required value" in message


def test_config_error_carries_the_path_and_dotted_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, '[pagerduty]\napi_key = "k"\n')
    assert caught.value.key == "pagerduty.user_email"
    assert caught.value.path == str(tmp_path / "teleport-pagerduty.toml")


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_a_directory_given_as_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, environ={})


def test_a_config_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b"# ok\n# \xff\n")
    with pytest.raises(ConfigError, match=r"c\.toml:2: the config file is not UTF-8"):
        load_config(path, environ={})


# -- the API key --------------------------------------------------------------------------------


def test_an_api_key_starting_with_slash_is_read_from_that_file_and_trimmed(tmp_path: Path) -> None:
    key_file = tmp_path / "pd_key"
    key_file.write_text("  \n s3cr3t-key \n\n")
    config, warnings = load(
        tmp_path, f'[pagerduty]\napi_key = "{key_file}"\nuser_email = "bot@example.com"\n'
    )
    assert config.pagerduty.api_key == "s3cr3t-key"
    assert warnings == []
    assert config.sources["pagerduty.api_key"] == f"file (read from {key_file})"


def test_only_the_first_2000_bytes_of_an_api_key_file_are_used_with_a_warning(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "pd_key"
    key_file.write_text("a" * 1999 + "bc")
    config, warnings = load(
        tmp_path, f'[pagerduty]\napi_key = "{key_file}"\nuser_email = "bot@example.com"\n'
    )
    assert config.pagerduty.api_key == "a" * 1999 + "b"
    assert len(warnings) == 1
    assert "first 2000 bytes" in warnings[0]


def test_a_missing_api_key_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    message = error(
        tmp_path, '[pagerduty]\napi_key = "/nonexistent/pd_key"\nuser_email = "b@example.com"\n'
    )
    assert "[pagerduty] api_key: error reading the API key from /nonexistent/pd_key" in message
    assert "not found" in message


def test_an_empty_api_key_file_is_an_error(tmp_path: Path) -> None:
    key_file = tmp_path / "pd_key"
    key_file.write_text(" \n")
    message = error(tmp_path, f'[pagerduty]\napi_key = "{key_file}"\nuser_email = "b@e.com"\n')
    assert f"the API key file {key_file} is empty" in message


def test_the_api_key_file_is_read_before_the_teleport_checks_as_in_go(tmp_path: Path) -> None:
    text = (
        '[teleport]\nclient_crt = "/c"\n'
        '[pagerduty]\napi_key = "/nonexistent/key"\nuser_email = "b@example.com"\n'
    )
    assert "error reading the API key" in error(tmp_path, text)


def test_the_api_key_is_never_in_the_repr(tmp_path: Path) -> None:
    config, _ = load(tmp_path, MINIMAL.replace('"key"', '"SUPERSECRET"'))
    assert "SUPERSECRET" not in repr(config)
    assert "SUPERSECRET" not in repr(config.pagerduty)
    assert config.secrets() == ("SUPERSECRET",)


# -- environment variables ----------------------------------------------------------------------


def test_the_api_key_may_come_from_the_environment_instead_of_the_file(tmp_path: Path) -> None:
    config, warnings = load(
        tmp_path,
        '[pagerduty]\nuser_email = "bot@example.com"\n',
        {"TPD_PAGERDUTY_API_KEY": "from-env"},
    )
    assert config.pagerduty.api_key == "from-env"
    assert warnings == []
    assert config.sources["pagerduty.api_key"] == "environment variable TPD_PAGERDUTY_API_KEY"


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    config, _ = load(
        tmp_path,
        MINIMAL,
        {"TPD_PAGERDUTY_API_KEY": "env-key", "TPD_PAGERDUTY_USER_EMAIL": "env@example.com"},
    )
    assert config.pagerduty.api_key == "env-key"
    assert config.pagerduty.user_email == "env@example.com"


def test_an_api_key_from_the_environment_may_name_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "pd_key"
    key_file.write_text("filed\n")
    config, _ = load(
        tmp_path,
        '[pagerduty]\nuser_email = "bot@example.com"\n',
        {"TPD_PAGERDUTY_API_KEY": str(key_file)},
    )
    assert config.pagerduty.api_key == "filed"
    assert config.sources["pagerduty.api_key"] == (
        f"environment variable TPD_PAGERDUTY_API_KEY (read from {key_file})"
    )


def test_an_empty_environment_variable_is_ignored(tmp_path: Path) -> None:
    config, _ = load(tmp_path, MINIMAL, {"TPD_PAGERDUTY_API_KEY": ""})
    assert config.pagerduty.api_key == "key"


def test_the_teleport_address_and_identity_may_come_from_the_environment(tmp_path: Path) -> None:
    config, _ = load(
        tmp_path,
        MINIMAL,
        {"TPD_TELEPORT_ADDR": "tele.example.com:443", "TPD_TELEPORT_IDENTITY": "/ids/auth_id"},
    )
    assert config.teleport.addr == "tele.example.com:443"
    assert config.teleport.identity == Path("/ids/auth_id")
    assert config.teleport.credentials == "identity"


# -- [teleport] ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "provided", "missing"),
    [
        ({"client_crt": "/c"}, "`client_crt`", "`client_key`, `root_cas`"),
        ({"client_key": "/k", "root_cas": "/r"}, "`client_key`, `root_cas`", "`client_crt`"),
    ],
)
def test_an_incomplete_set_of_tls_files_names_what_is_provided_and_missing(
    tmp_path: Path, given: dict[str, str], provided: str, missing: str
) -> None:
    lines = "".join(f'{key} = "{value}"\n' for key, value in given.items())
    message = error(tmp_path, f"[teleport]\n{lines}{MINIMAL}")
    assert message.endswith(
        f"[teleport]: configuration setting(s) {provided} are provided but setting(s) "
        f"{missing} are missing"
    )


def test_identity_and_tls_files_are_mutually_exclusive(tmp_path: Path) -> None:
    text = '[teleport]\nidentity = "/i"\nclient_crt = "/c"\nclient_key = "/k"\nroot_cas = "/r"\n'
    message = error(tmp_path, text + MINIMAL)
    assert message.endswith(
        "[teleport] identity: configuration setting `identity` is mutually exclusive with all "
        "the `client_crt`, `client_key` and `root_cas` settings"
    )


def test_three_tls_files_are_tls_credentials(tmp_path: Path) -> None:
    text = '[teleport]\nclient_crt = "/c"\nclient_key = "/k"\nroot_cas = "/r"\n'
    config, _ = load(tmp_path, text + MINIMAL)
    assert config.teleport.credentials == "tls"
    assert config.teleport.client_key == Path("/k")


def test_refresh_identity_requires_identity(tmp_path: Path) -> None:
    message = error(tmp_path, "[teleport]\nrefresh_identity = true\n" + MINIMAL)
    assert message.endswith(
        "[teleport] refresh_identity: `refresh_identity` requires that `identity` be set"
    )


def test_the_tls_check_comes_before_the_api_key_check_as_in_go(tmp_path: Path) -> None:
    message = error(tmp_path, '[teleport]\nclient_crt = "/c"\n')
    assert "are provided but" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(minutes=1)),
        ("0s", timedelta(minutes=1)),
        ("30s", timedelta(seconds=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("1500ms", timedelta(seconds=1.5)),
    ],
)
def test_refresh_identity_interval_is_a_go_duration_and_zero_means_one_minute(
    tmp_path: Path, text: str, expected: timedelta
) -> None:
    config, _ = load(tmp_path, f'[teleport]\nrefresh_identity_interval = "{text}"\n' + MINIMAL)
    assert config.teleport.refresh_identity_interval == expected


@pytest.mark.parametrize("text", ["1 minute", "5", "m", "1x", ""])
def test_a_bad_duration_is_an_error_with_an_example(tmp_path: Path, text: str) -> None:
    message = error(tmp_path, f'[teleport]\nrefresh_identity_interval = "{text}"\n' + MINIMAL)
    assert "[teleport] refresh_identity_interval:" in message
    assert 'such as "30s"' in message


def test_a_number_given_as_duration_is_a_type_error(tmp_path: Path) -> None:
    message = error(tmp_path, "[teleport]\nrefresh_identity_interval = 60\n" + MINIMAL)
    assert message.endswith(
        'refresh_identity_interval: expected a duration string such as "30s", "1m" or "1h30m", '
        "got integer"
    )


def test_a_negative_refresh_interval_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, '[teleport]\nrefresh_identity_interval = "-1m"\n' + MINIMAL)
    assert "must not be negative" in message


def test_auth_server_is_used_when_addr_is_empty_with_the_go_deprecation_warning(
    tmp_path: Path,
) -> None:
    config, warnings = load(tmp_path, '[teleport]\nauth_server = "auth:3025"\n' + MINIMAL)
    assert config.teleport.addr == "auth:3025"
    assert warnings == [
        f"{tmp_path / 'teleport-pagerduty.toml'}: [teleport] auth_server: Configuration setting "
        "`auth_server` is deprecated, consider to change it to `addr`"
    ]


def test_auth_server_is_ignored_when_addr_is_set(tmp_path: Path) -> None:
    text = '[teleport]\naddr = "proxy:443"\nauth_server = "auth:3025"\n' + MINIMAL
    config, warnings = load(tmp_path, text)
    assert config.teleport.addr == "proxy:443"
    assert "ignored, because `addr` is set" in warnings[0]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("addr = 3025", "[teleport] addr: expected a string, got integer"),
        (
            'refresh_identity = "yes"',
            "[teleport] refresh_identity: expected true or false, got string",
        ),
        ("identity = [1]", "[teleport] identity: expected a string (a file path), got array"),
        ("addr = 1979-05-27", "[teleport] addr: expected a string, got date/time"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_key_and_both_types(
    tmp_path: Path, line: str, expected: str
) -> None:
    assert error(tmp_path, f"[teleport]\n{line}\n" + MINIMAL).endswith(expected)


def test_a_key_given_as_a_table_is_a_type_error(tmp_path: Path) -> None:
    message = error(tmp_path, "[teleport.addr]\nx = 1\n" + MINIMAL)
    assert message.endswith("[teleport] addr: expected a string, got table")


def test_a_section_given_as_a_value_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, 'log = "stdout"\n' + MINIMAL)
    assert message.endswith("[log]: expected a table, got string")


# -- unknown keys -------------------------------------------------------------------------------


def test_an_unknown_key_is_a_warning_with_the_full_key_the_file_and_a_suggestion(
    tmp_path: Path,
) -> None:
    _, warnings = load(tmp_path, MINIMAL + "apikey = 1\n")
    assert warnings == [
        f"{tmp_path / 'teleport-pagerduty.toml'}: [pagerduty] apikey: unknown key, ignored "
        "(did you mean api_key?)"
    ]


def test_an_unknown_table_and_top_level_key_are_warnings(tmp_path: Path) -> None:
    config, warnings = load(tmp_path, "debug = true\n" + MINIMAL + "[roles]\napprove = ['*']\n")
    assert config.pagerduty.api_key == "key"
    assert [w.split(": ", 1)[1] for w in warnings] == [
        "debug: unknown top-level key, ignored",
        "[roles]: unknown table, ignored",
    ]


def test_unknown_keys_in_nested_tables_are_named_with_their_table(tmp_path: Path) -> None:
    text = MINIMAL + "[pagerduty.auto_approval]\nmax_level = 2\n"
    _, warnings = load(tmp_path, text)
    assert warnings[0].endswith(
        "[pagerduty.auto_approval] max_level: unknown key, ignored (did you mean "
        "max_escalation_level?)"
    )


def test_warnings_carry_the_dotted_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL + "apikey = 1\n")
    _, warnings = load_config(path, environ={})
    assert warnings[0].key == "pagerduty.apikey"
    assert warnings[0].path == str(path)


# -- [pagerduty] extensions ---------------------------------------------------------------------


def test_request_annotations_are_honoured_under_their_documented_name(tmp_path: Path) -> None:
    text = MINIMAL + '[pagerduty.request_annotations]\nnotify_service = "n"\nservices = "s"\n'
    config, warnings = load(tmp_path, text)
    assert config.pagerduty.request_annotations.notify_service == "n"
    assert config.pagerduty.request_annotations.services == "s"
    assert warnings == []


@pytest.mark.parametrize(
    "spelling",
    ["RequestAnnotations", "requestannotations", "REQUESTANNOTATIONS", "requestAnnotations"],
)
def test_request_annotations_are_read_under_the_go_plugins_spellings(
    tmp_path: Path, spelling: str
) -> None:
    config, warnings = load(tmp_path, MINIMAL + f'[pagerduty.{spelling}]\nservices = "s"\n')
    assert config.pagerduty.request_annotations.services == "s"
    assert config.pagerduty.request_annotations.notify_service == "pagerduty_notify_service"
    assert warnings == []


def test_errors_in_a_go_spelled_table_use_the_files_spelling(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL + "[pagerduty.RequestAnnotations]\nservices = 1\n")
    assert message.endswith(
        "[pagerduty.RequestAnnotations] services: expected a string, got integer"
    )


def test_two_spellings_of_request_annotations_are_an_error(tmp_path: Path) -> None:
    text = MINIMAL + '[pagerduty.request_annotations]\nservices = "a"\n'
    text += '[pagerduty.RequestAnnotations]\nservices = "b"\n'
    message = error(tmp_path, text)
    assert "both [pagerduty.request_annotations] and [pagerduty.RequestAnnotations]" in message


def test_empty_annotation_names_mean_the_defaults(tmp_path: Path) -> None:
    text = MINIMAL + '[pagerduty.request_annotations]\nnotify_service = ""\n'
    config, _ = load(tmp_path, text)
    assert config.pagerduty.request_annotations.notify_service == "pagerduty_notify_service"


@pytest.mark.parametrize(
    ("lines", "endpoint"),
    [
        ('region = "eu"', "https://api.eu.pagerduty.com"),
        ('region = "EU"', "https://api.eu.pagerduty.com"),
        ('region = "us"', "https://api.pagerduty.com"),
        ('api_endpoint = "http://127.0.0.1:8080/"', "http://127.0.0.1:8080"),
        (
            'region = "eu"\napi_endpoint = "https://api.eu.pagerduty.com"',
            "https://api.eu.pagerduty.com",
        ),
    ],
)
def test_the_api_endpoint_follows_region_or_is_given(
    tmp_path: Path, lines: str, endpoint: str
) -> None:
    config, warnings = load(tmp_path, MINIMAL + lines + "\n")
    assert config.pagerduty.api_endpoint == endpoint
    assert warnings == []


def test_region_and_api_endpoint_that_disagree_are_an_error(tmp_path: Path) -> None:
    message = error(
        tmp_path, MINIMAL + 'region = "eu"\napi_endpoint = "https://api.pagerduty.com"\n'
    )
    assert "`region` 'eu' and `api_endpoint` 'https://api.pagerduty.com' disagree" in message


def test_an_unknown_region_is_an_error(tmp_path: Path) -> None:
    assert "unknown region 'asia' (use us or eu)" in error(tmp_path, MINIMAL + 'region = "asia"\n')


def test_an_api_endpoint_that_is_not_a_url_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL + 'api_endpoint = "api.pagerduty.com"\n')
    assert "[pagerduty] api_endpoint: 'api.pagerduty.com' is not an http(s) URL" in message


def test_plain_http_to_a_remote_host_is_a_warning(tmp_path: Path) -> None:
    _, warnings = load(tmp_path, MINIMAL + 'api_endpoint = "http://pd-proxy.internal"\n')
    assert "unencrypted" in warnings[0]


def test_a_user_email_that_is_not_an_email_is_a_warning(tmp_path: Path) -> None:
    _, warnings = load(tmp_path, MINIMAL.replace("bot@example.com", "bot"))
    assert "does not look like an email address" in warnings[0]


# -- auto-approval limits -----------------------------------------------------------------------


def test_auto_approval_limits_are_read(tmp_path: Path) -> None:
    text = MINIMAL + (
        "[pagerduty.auto_approval]\nenabled = true\nmax_escalation_level = 2\n"
        'approve_roles = ["editor", "dev-*", "^db-(ro|rw)$"]\n'
    )
    config, warnings = load(tmp_path, text)
    approval = config.pagerduty.auto_approval
    assert warnings == []
    assert approval.max_escalation_level == 2
    assert approval.approve_roles == ("editor", "dev-*", "^db-(ro|rw)$")


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        (("editor",), True),
        (("editor", "dev-alice"), True),
        (("db-ro", "db-rw"), True),
        (("db-admin",), False),
        (("editor", "admin"), False),
        (("Editor",), False),
        (("dev-",), True),
        (("xdev-a",), False),
        ((), True),
    ],
)
def test_approve_roles_requires_every_role_to_match_a_pattern(
    roles: tuple[str, ...], allowed: bool
) -> None:
    settings = AutoApprovalSettings(approve_roles=("editor", "dev-*", "^db-(ro|rw)$"))
    assert settings.roles_allowed(roles) is allowed


def test_role_regexes_follow_go_syntax_as_teleport_matches_them() -> None:
    # \\d is ASCII digits in Go (Python's re would also take other scripts' digits).
    settings = AutoApprovalSettings(approve_roles=("^team-\\d+$",))
    assert settings.roles_allowed(("team-12",))
    assert not settings.roles_allowed(("team-\u0661\u0662",))


def test_a_pattern_teleport_would_read_differently_is_a_warning_naming_it(
    tmp_path: Path,
) -> None:
    text = MINIMAL + '[pagerduty.auto_approval]\napprove_roles = ["^dev|ops$", "db-*"]\n'
    config, warnings = load(tmp_path, text)
    (warning,) = warnings
    assert "[pagerduty.auto_approval] approve_roles: pattern '^dev|ops$': Teleport applies" in (
        warning
    )
    assert "'^(?:dev|ops)$'" in warning
    approval = config.pagerduty.auto_approval
    assert approval.roles_allowed(("dev",))
    assert not approval.roles_allowed(("devops",))  # whole names, as documented


def test_glob_patterns_treat_regex_characters_literally() -> None:
    settings = AutoApprovalSettings(approve_roles=("a.b", "c+*"))
    assert settings.roles_allowed(("a.b", "c+d"))
    assert not settings.roles_allowed(("axb",))
    assert not settings.roles_allowed(("cd",))


@pytest.mark.parametrize(("level", "allowed"), [(1, True), (2, True), (3, False), (None, False)])
def test_max_escalation_level_allows_that_tier_and_lower(level: int | None, allowed: bool) -> None:
    assert AutoApprovalSettings(max_escalation_level=2).level_allowed(level) is allowed


def test_max_escalation_level_zero_allows_every_level() -> None:
    settings = AutoApprovalSettings()
    assert settings.level_allowed(7)
    assert settings.level_allowed(None)


def test_an_empty_approve_roles_list_is_an_error_pointing_to_enabled(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL + "[pagerduty.auto_approval]\napprove_roles = []\n")
    assert "[pagerduty.auto_approval] approve_roles: must list at least one role pattern" in message
    assert "enabled = false" in message


def test_an_invalid_role_regex_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL + '[pagerduty.auto_approval]\napprove_roles = ["^(x$"]\n')
    assert "[pagerduty.auto_approval] approve_roles: invalid regular expression '^(x$'" in message


def test_approve_roles_given_as_a_string_is_a_type_error(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL + '[pagerduty.auto_approval]\napprove_roles = "*"\n')
    assert message.endswith('expected a list of strings such as ["editor", "dev-*"], got string')


def test_a_negative_max_escalation_level_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL + "[pagerduty.auto_approval]\nmax_escalation_level = -1\n")
    assert "max_escalation_level: must be 0 (any level) or a level from 1 up, got -1" in message


# -- [log] --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("stderr", "stderr"),
        ("error", "stderr"),
        ("2", "stderr"),
        ("", "stderr"),
        ("stdout", "stdout"),
        ("out", "stdout"),
        ("1", "stdout"),
        ("/var/lib/teleport/pagerduty.log", "/var/lib/teleport/pagerduty.log"),
    ],
)
def test_log_output_accepts_the_go_aliases(tmp_path: Path, output: str, expected: str) -> None:
    config, _ = load(tmp_path, MINIMAL + f'[log]\noutput = "{output}"\n')
    assert config.log.output == expected


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("INFO", "info"),
        ("Err", "error"),
        ("error", "error"),
        ("DEBUG", "debug"),
        ("warn", "warn"),
        ("WARNING", "warn"),
        ("trace", "trace"),
        ("", "info"),
    ],
)
def test_log_severity_accepts_the_go_values_in_any_case(
    tmp_path: Path, severity: str, expected: str
) -> None:
    config, _ = load(tmp_path, MINIMAL + f'[log]\nseverity = "{severity}"\n')
    assert config.log.severity == expected


def test_an_unsupported_severity_is_an_error_quoting_the_value(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL + '[log]\nseverity = "loud"\n')
    assert "[log] severity: unsupported logger severity: 'loud'" in message


@pytest.mark.parametrize(
    ("given", "expected"), [("json", "json"), ("JSON", "json"), ("text", "text")]
)
def test_log_format_is_text_or_json(tmp_path: Path, given: str, expected: str) -> None:
    config, _ = load(tmp_path, MINIMAL + f'[log]\nformat = "{given}"\n')
    assert config.log.format == expected


def test_an_unsupported_log_format_is_an_error(tmp_path: Path) -> None:
    assert "[log] format: unsupported log format: 'xml'" in error(
        tmp_path, MINIMAL + '[log]\nformat = "xml"\n'
    )


def test_severity_levels_map_onto_logging_levels() -> None:
    assert severity_level("WARNING") == logging.WARNING
    assert severity_level("trace") < logging.DEBUG
    assert LogSettings(severity="err").level == logging.ERROR


def test_with_severity_returns_a_copy_with_debug(tmp_path: Path) -> None:
    config, _ = load(tmp_path, MINIMAL)
    assert config.with_severity("debug").log.severity == "debug"
    assert config.log.severity == "info"


# -- [metrics] and [tpd] ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [("127.0.0.1:9090", "127.0.0.1", 9090), (":9090", "", 9090), ("[::1]:0", "::1", 0)],
)
def test_metrics_listen_is_host_and_port(tmp_path: Path, listen: str, host: str, port: int) -> None:
    config, _ = load(tmp_path, MINIMAL + f'[metrics]\nlisten = "{listen}"\n')
    assert (config.metrics.enabled, config.metrics.host, config.metrics.port) == (True, host, port)


@pytest.mark.parametrize("listen", ["9090", "localhost:http", "::1:9090", "[nope]:1", "h:70000"])
def test_a_bad_metrics_listen_address_is_an_error(tmp_path: Path, listen: str) -> None:
    assert "[metrics] listen:" in error(tmp_path, MINIMAL + f'[metrics]\nlisten = "{listen}"\n')


def test_daemon_tuning_is_read_from_the_tpd_table(tmp_path: Path) -> None:
    text = MINIMAL + (
        '[tpd]\nhandler_timeout = "1m"\nmax_concurrency = 8\nlookup_cache_ttl = "30s"\n'
        'shutdown_grace = "5s"\n'
    )
    config, _ = load(tmp_path, text)
    assert config.daemon.handler_timeout == timedelta(minutes=1)
    assert config.daemon.max_concurrency == 8
    assert config.daemon.lookup_cache_ttl == timedelta(seconds=30)
    assert config.daemon.shutdown_grace == timedelta(seconds=5)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('handler_timeout = "0s"', "[tpd] handler_timeout: must be positive, got 0s"),
        ('shutdown_grace = "-1s"', "[tpd] shutdown_grace: must be positive, got -1s"),
        ("max_concurrency = 0", "[tpd] max_concurrency: must be at least 1, got 0"),
    ],
)
def test_daemon_tuning_must_be_positive(tmp_path: Path, line: str, expected: str) -> None:
    assert error(tmp_path, MINIMAL + f"[tpd]\n{line}\n").endswith(expected)


# -- malformed TOML -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("[pagerduty]\napi_key = @\n", ":2:11:"),
        ('[pagerduty\napi_key = "k"\n', ":1:11:"),
        ("a = 1 2\n", ":1:7:"),
        ("[t]\nkey = tru", ":2:7:"),
    ],
)
def test_malformed_toml_reports_line_and_column(tmp_path: Path, text: str, position: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert f"teleport-pagerduty.toml{position} invalid TOML:" in message
    assert caught.value.line == int(position.split(":")[1])


def test_an_unterminated_string_points_at_the_end_of_its_line(tmp_path: Path) -> None:
    message = error(tmp_path, '[log]\noutput = "stdout\n')
    assert message.endswith(":2:17: invalid TOML: illegal character '\\n'")


def test_a_duplicate_key_reports_the_line_of_the_second_definition(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL + 'api_key = "again"\n')
    assert ":4:1: invalid TOML: duplicate key 'api_key'" in message


def test_a_duplicate_table_reports_its_line(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL + "[log]\n[pagerduty]\n")
    assert message.endswith(":5:1: invalid TOML: duplicate table [pagerduty]")


def test_a_duplicate_dotted_key_is_named_as_written(tmp_path: Path) -> None:
    message = error(tmp_path, 'pagerduty.api_key = "a"\n pagerduty . "api_key" = "b"')
    assert message.endswith(""":2:1: invalid TOML: duplicate key 'pagerduty . "api_key"'""")


# -- files written by others --------------------------------------------------------------------


def test_the_go_plugins_example_config_loads_without_warnings(tmp_path: Path) -> None:
    text = """# example teleport-pagerduty configuration TOML file
[teleport]
# Teleport Auth/Proxy Server address.
addr = "example.com:3025"

# Credentials generated with `tctl auth sign`.
#
# When using --format=file:
# identity = "/var/lib/teleport/plugins/pagerduty/auth_id"    # Identity file
# refresh_identity = true                                      # Refresh identity file periodically
#
# When using --format=tls:
# client_key = "/var/lib/teleport/plugins/pagerduty/auth.key" # Teleport TLS secret key
# client_crt = "/var/lib/teleport/plugins/pagerduty/auth.crt" # Teleport TLS certificate
# root_cas = "/var/lib/teleport/plugins/pagerduty/auth.cas"   # Teleport CA certs

[pagerduty]
api_key = "key"               # PagerDuty API Key
user_email = "me@example.com" # PagerDuty bot user email (Could be admin email)

[log]
output = "stderr" # Logger output. Could be "stdout", "stderr" or "/var/lib/teleport/pagerduty.log"
severity = "INFO" # Logger severity. Could be "INFO", "ERROR", "DEBUG" or "WARN".
"""
    config, warnings = load(tmp_path, text)
    assert warnings == []
    assert config.teleport.addr == "example.com:3025"
    assert config.log.severity == "info"


def test_the_helm_charts_generated_config_loads_without_warnings(tmp_path: Path) -> None:
    key_file = tmp_path / "pagerduty_api_key"
    key_file.write_text("k3y\n")
    text = f"""[teleport]
addr = "teleport.example.com:443"
identity = "/var/lib/teleport/plugins/pagerduty/teleport-identity/auth_id"
refresh_identity = true

[pagerduty]
api_key    = "{key_file}"
user_email = "bot@example.com"

[log]
output = "stdout"
severity = "INFO"
"""
    config, warnings = load(tmp_path, text)
    assert warnings == []
    assert config.teleport.refresh_identity is True
    assert config.pagerduty.api_key == "k3y"
    assert config.log.output == "stdout"


def test_a_parsed_document_is_validated_like_a_file() -> None:
    document = {"pagerduty": {"api_key": "k", "user_email": "bot@example.com"}, "debug": True}
    config, warnings = config_from_document(document, path="/x/y.toml", environ={})
    assert config.pagerduty.api_key == "k"
    assert config.path == "/x/y.toml"
    assert [str(warning) for warning in warnings] == [
        "/x/y.toml: debug: unknown top-level key, ignored"
    ]


def test_a_document_is_read_without_being_validated(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[teleport]\nclient_crt = "/c"\n[x]\ny = 1\n')
    assert read_config_document(path) == {"teleport": {"client_crt": "/c"}, "x": {"y": 1}}


def test_importing_the_config_loads_neither_tomlkit_nor_the_renderer() -> None:
    code = (
        "import sys, teleport_pd_cli.config; "
        "print(sorted(m for m in sys.modules if m.startswith('tomlkit') or m.endswith('.render')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_parse_config_uses_the_given_path_in_messages() -> None:
    with pytest.raises(ConfigError, match=r"^/x/y\.toml: \[pagerduty\] api_key"):
        parse_config("[pagerduty]\n", path="/x/y.toml", environ={})


def test_settings_can_be_built_in_code_for_tests_and_embedders() -> None:
    settings = PagerDutySettings(api_key="k", user_email="bot@example.com")
    config = Config(pagerduty=settings)
    assert config.log.output == "stderr"
    assert attrs.evolve(config.log, output="1").output == "stdout"
    with pytest.raises(ValueError, match="unsupported logger severity"):
        LogSettings(severity="loud")


def test_an_environment_api_key_means_the_files_key_path_is_never_read(tmp_path: Path) -> None:
    text = '[pagerduty]\napi_key = "/nonexistent/key"\nuser_email = "bot@example.com"\n'
    config, _ = load(tmp_path, text, {"TPD_PAGERDUTY_API_KEY": "from-env"})
    assert config.pagerduty.api_key == "from-env"


def test_problems_are_reported_one_at_a_time_in_the_go_order(tmp_path: Path) -> None:
    """Fix the first reported problem, and the next one in the Go plugin's order appears."""
    lines = {
        "key_file": ("pagerduty", 'api_key = "/nonexistent/key"'),
        "tls": ("teleport", 'client_crt = "/c"'),
        "refresh": ("teleport", "refresh_identity = true"),
        "endpoint": ("pagerduty", 'region = "mars"'),
        "user_email": ("pagerduty", 'user_email = ""'),
        "severity": ("log", 'severity = "loud"'),
        "format": ("log", 'format = "xml"'),
        "roles": ("pagerduty.auto_approval", "approve_roles = []"),
        "metrics": ("metrics", 'listen = "nope"'),
        "daemon": ("tpd", "max_concurrency = 0"),
    }
    expected = [
        "error reading the API key",
        "are provided but",
        "`refresh_identity` requires",
        "unknown region",
        "[pagerduty] user_email: missing required value",
        "unsupported logger severity",
        "unsupported log format",
        "must list at least one role pattern",
        "[metrics] listen:",
        "[tpd] max_concurrency:",
    ]
    remaining = dict(lines)
    for name, fragment in zip(list(lines), expected, strict=True):
        tables: dict[str, list[str]] = {}
        for table, line in remaining.values():
            tables.setdefault(table, []).append(line)
        given = " ".join(tables.get("pagerduty", []))
        for key, value in (("api_key", "k"), ("user_email", "bot@example.com")):
            if key not in given:
                tables.setdefault("pagerduty", []).append(f'{key} = "{value}"')
        text = "".join(f"[{t}]\n" + "\n".join(body) + "\n" for t, body in tables.items())
        assert fragment in error(tmp_path, text), name
        del remaining[name]
