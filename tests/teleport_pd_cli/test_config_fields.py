"""teleport_pd_cli.config._fields: keys declared on attrs fields, walked into specs; durations."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teleport_pd_cli.config._fields import (
    TPD,
    Kind,
    TableSpec,
    describe,
    format_duration,
    parse_duration,
    setting,
    subtable,
)


@attrs.frozen(kw_only=True)
class Inner:
    TABLE: ClassVar[TableSpec] = TableSpec(name="outer.inner", help="Inner.", origin=TPD)

    wait: timedelta = setting(
        Kind.DURATION, timedelta(seconds=5), empty_means_default=True, help="Wait."
    )


@attrs.frozen(kw_only=True)
class Outer:
    TABLE: ClassVar[TableSpec] = TableSpec(name="outer", help="Outer.", aliases=("Outer",))

    token: str = setting(Kind.STRING, "", help="Token.", secret=True, required=True, env="T")
    name: str = setting(Kind.STRING, "x", help="Name.", converter=str.upper)
    inner: Inner = subtable(Inner)


@attrs.frozen(kw_only=True)
class Root:
    outer: Outer = subtable(Outer, required=True)
    other: int = 0


def test_describe_finds_the_tables_of_subtable_fields_with_their_keys() -> None:
    [(attribute, outer)] = describe(Root)
    assert attribute == "outer"
    assert (outer.name, outer.aliases, outer.settings) == ("outer", ("Outer",), Outer)
    assert [spec.full_name for spec in outer.keys] == ["outer.token", "outer.name"]
    assert [(name, table.name) for name, table in outer.subtables] == [("inner", "outer.inner")]
    assert [table.name for table in outer.walk()] == ["outer", "outer.inner"]


def test_a_setting_carries_its_spec_and_uses_its_default() -> None:
    [(_, outer)] = describe(Root)
    spec = outer.key("name")
    assert (spec.kind, spec.default, spec.help, spec.display) == (
        Kind.STRING,
        "x",
        "Name.",
        "[outer] name",
    )
    assert Outer(token="t").name == "X"  # the default goes through the converter


def test_a_required_setting_has_no_default_in_code() -> None:
    with pytest.raises(TypeError, match="token"):
        Outer()  # type: ignore[call-arg]


def test_a_secret_setting_is_kept_out_of_the_repr() -> None:
    assert "hunter2" not in repr(Outer(token="hunter2"))
    [(_, outer)] = describe(Root)
    assert outer.key("token").secret


def test_an_empty_value_means_the_default_when_the_setting_says_so() -> None:
    assert Inner(wait=timedelta(0)).wait == timedelta(seconds=5)
    assert Inner(wait=timedelta(seconds=1)).wait == timedelta(seconds=1)


def test_an_unknown_key_name_is_a_key_error() -> None:
    [(_, outer)] = describe(Root)
    with pytest.raises(KeyError):
        outer.key("nope")


def test_a_subtable_defaults_to_its_settings_defaults() -> None:
    assert Outer(token="t").inner == Inner()


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
    assert parse_duration(text) == value


@pytest.mark.parametrize("text", ["", "-", "1", "m", "1d", "1 m", "1m ", "1.m.s", "one"])
def test_invalid_go_durations_are_rejected_with_the_reason(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["24000000000h", "1" + "0" * 400 + "s", "-9999999999999999h"])
def test_a_duration_beyond_timedelta_is_rejected_as_out_of_range(text: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_duration(text)


def test_a_number_without_unit_says_the_unit_is_missing() -> None:
    with pytest.raises(ValueError, match="missing unit"):
        parse_duration("30")


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
    assert format_duration(value) == text


@given(st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=30)))
def test_formatting_then_parsing_a_duration_gives_it_back(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value
