"""teleport_pd_cli.config._schema: the single description of every key, and Go durations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teleport_pd_cli.config import _schema as schema


def test_every_key_has_a_unique_full_name_and_help() -> None:
    names = [spec.full_name for spec in schema.all_keys()]
    assert len(names) == len(set(names))
    assert all(spec.help.strip() for spec in schema.all_keys())


def test_every_default_has_the_type_of_its_kind() -> None:
    python_types = {
        schema.Kind.STRING: str,
        schema.Kind.PATH: str,
        schema.Kind.BOOL: bool,
        schema.Kind.INT: int,
        schema.Kind.DURATION: timedelta,
        schema.Kind.STRING_LIST: tuple,
    }
    for spec in schema.all_keys():
        assert isinstance(spec.default, python_types[spec.kind]), spec.full_name


def test_environment_variables_exist_only_for_string_keys_and_are_tpd_prefixed() -> None:
    for spec in schema.all_keys():
        if spec.env:
            assert spec.kind in (schema.Kind.STRING, schema.Kind.PATH), spec.full_name
            assert spec.env.startswith("TPD_")


def test_keys_belong_to_the_table_that_lists_them() -> None:
    for table in schema.TABLES:
        assert all(spec.table == table.name for spec in table.keys)


def test_secrets_are_marked() -> None:
    assert [spec.full_name for spec in schema.all_keys() if spec.secret] == ["pagerduty.api_key"]


def test_key_lookup_finds_nested_tables() -> None:
    assert schema.key("pagerduty.auto_approval.approve_roles").default == ("*",)
    with pytest.raises(KeyError):
        schema.key("pagerduty.nope")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", timedelta(0)),
        ("1m", timedelta(minutes=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        (".5s", timedelta(milliseconds=500)),
        ("300ms", timedelta(milliseconds=300)),
        ("10us", timedelta(microseconds=10)),
        ("10µs", timedelta(microseconds=10)),
        ("10μs", timedelta(microseconds=10)),
        ("-2m", timedelta(minutes=-2)),
        ("+2m3s", timedelta(minutes=2, seconds=3)),
        ("1h1h", timedelta(hours=2)),
    ],
)
def test_go_durations_parse(text: str, value: timedelta) -> None:
    assert schema.parse_duration(text) == value


@pytest.mark.parametrize("text", ["", "-", "1", "m", "1d", "1 m", "1m ", "1.m.s", "one"])
def test_invalid_go_durations_are_rejected_with_the_reason(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        schema.parse_duration(text)


@pytest.mark.parametrize("text", ["24000000000h", "1" + "0" * 400 + "s", "-9999999999999999h"])
def test_a_duration_beyond_timedelta_is_rejected_as_out_of_range(text: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        schema.parse_duration(text)


def test_a_number_without_unit_says_the_unit_is_missing() -> None:
    with pytest.raises(ValueError, match="missing unit"):
        schema.parse_duration("30")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(minutes=1), "1m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=1, seconds=1), "1h1s"),
        (timedelta(milliseconds=1500), "1.5s"),
        (timedelta(seconds=-15), "-15s"),
    ],
)
def test_durations_format_as_short_go_strings(value: timedelta, text: str) -> None:
    assert schema.format_duration(value) == text


@given(st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=30)))
def test_formatting_then_parsing_a_duration_gives_it_back(value: timedelta) -> None:
    assert schema.parse_duration(schema.format_duration(value)) == value
