"""teleport_pd_cli.config._settings: every key declared once on its field, and its own rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from teleport_pd_cli.config import _settings as schema
from teleport_pd_cli.config._fields import Kind
from teleport_pd_cli.config._settings import (
    AutoApprovalSettings,
    Config,
    DaemonSettings,
    MetricsSettings,
    PagerDutySettings,
)


def test_every_key_has_a_unique_full_name_and_help() -> None:
    names = [spec.full_name for spec in schema.all_keys()]
    assert len(names) == len(set(names))
    assert all(spec.help.strip() for spec in schema.all_keys())


def test_every_default_has_the_type_of_its_kind() -> None:
    python_types = {
        Kind.STRING: str,
        Kind.PATH: str,
        Kind.BOOL: bool,
        Kind.INT: int,
        Kind.DURATION: timedelta,
        Kind.STRING_LIST: tuple,
    }
    for spec in schema.all_keys():
        assert isinstance(spec.default, python_types[spec.kind]), spec.full_name


def test_environment_variables_exist_only_for_string_keys_and_are_tpd_prefixed() -> None:
    for spec in schema.all_keys():
        if spec.env:
            assert spec.kind in (Kind.STRING, Kind.PATH), spec.full_name
            assert spec.env.startswith("TPD_")


def test_keys_belong_to_the_table_that_lists_them() -> None:
    for table in schema.TABLES:
        assert all(spec.table == table.name for spec in table.keys)


def test_every_secret_key_is_redacted_from_the_logs() -> None:
    from teleport_pd_cli.config import Config, PagerDutySettings

    values = {spec.name: f"secret-{spec.name}" for spec in schema.all_keys() if spec.secret}
    config = Config(
        pagerduty=PagerDutySettings(user_email="bot@example.com", **values)  # type: ignore[arg-type]
    )
    assert sorted(config.secrets()) == sorted(values.values())


def test_secrets_are_marked() -> None:
    assert [spec.full_name for spec in schema.all_keys() if spec.secret] == [
        "pagerduty.api_key",
        "pagerduty.oauth_client_secret",
    ]


def test_key_lookup_finds_nested_tables() -> None:
    assert schema.key("pagerduty.auto_approval.approve_roles").default == ("*",)
    with pytest.raises(KeyError):
        schema.key("pagerduty.nope")


def test_the_tables_are_in_file_order() -> None:
    assert [table.name for table in schema.TABLES] == [
        "teleport",
        "pagerduty",
        "pagerduty.request_annotations",
        "pagerduty.auto_approval",
        "log",
        "metrics",
        "tpd",
    ]


def test_every_field_of_a_settings_class_is_a_key_or_a_table() -> None:
    for table in schema.TABLES:
        declared = {spec.name for spec in table.keys} | {name for name, _ in table.subtables}
        fields = {field.name for field in attrs.fields(table.settings) if field.init}
        assert fields == declared, table.name


def test_a_settings_class_built_in_code_gets_the_documented_defaults() -> None:
    for table in schema.TABLES:
        if any(spec.required for spec in table.keys):
            continue
        built = table.settings()
        for spec in table.keys:
            field = attrs.fields_dict(table.settings)[spec.name]
            converted = spec.default if field.converter is None else field.converter(spec.default)
            assert getattr(built, spec.name) == converted, spec.full_name


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DaemonSettings(max_concurrency=0), "must be at least 1, got 0"),
        (lambda: DaemonSettings(shutdown_grace=timedelta(0)), "must be positive, got 0s"),
        (lambda: AutoApprovalSettings(max_escalation_level=-1), "got -1"),
        (lambda: AutoApprovalSettings(approve_roles=()), "at least one role pattern"),
        (lambda: MetricsSettings(listen="nope"), "'nope' is not host:port"),
        (
            lambda: PagerDutySettings(api_key="k", user_email="e", api_endpoint="x"),
            "'x' is not an http",
        ),
    ],
)
def test_settings_built_in_code_follow_the_same_rules_as_the_file(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_empty_optional_values_in_code_mean_the_defaults() -> None:
    settings = PagerDutySettings(api_key="k", user_email="e", api_endpoint="https://pd.test/")
    assert settings.api_endpoint == "https://pd.test"
    config = Config(pagerduty=PagerDutySettings(api_key="k", user_email="e"))
    assert config.pagerduty.api_endpoint == "https://api.pagerduty.com"
    assert config.teleport.addr == "localhost:3025"
    assert config.teleport.identity is None
