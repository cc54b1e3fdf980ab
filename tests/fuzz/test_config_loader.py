"""Whatever the config file holds, loading gives a `Config` or a `ConfigError`, nothing else.

Three kinds of input: arbitrary text (and bytes, through the file loader); TOML soup built from
the tokens TOML is made of; and structurally valid TOML with every known key (plus unknown ones)
set to values of random types and random contents, so the loader's type checks, conversions
(durations, severities, role patterns, addresses, endpoints) and cross-key rules all see odd
values. Environment variables are empty, so only the text decides.
"""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from hypothesis import given
from hypothesis import strategies as st

from teleport_pd_cli._exceptions import ConfigError
from teleport_pd_cli.config import Config, load_config, parse_config
from teleport_pd_cli.config import _settings as schema
from teleport_pd_cli.config._fields import KeySpec, Kind

from ._settings import FUZZ

NO_ENVIRONMENT: dict[str, str] = {}


def load(text: str) -> Config | ConfigError:
    error: ConfigError
    try:
        config, warnings = parse_config(text, path="fuzz.toml", environ=NO_ENVIRONMENT)
    except ConfigError as exc:
        error = exc
    else:
        assert all(str(warning) for warning in warnings)
        return config
    assert str(error).startswith("fuzz.toml")  # every message names the file
    return error


@FUZZ
@given(text=st.text(max_size=300))
def test_arbitrary_text_gives_a_config_or_a_config_error(text: str) -> None:
    load(text)


TOKENS = [
    "[teleport]", "[pagerduty]", "[log]", "[metrics]", "[tpd]", "[pagerduty.auto_approval]",
    "[pagerduty.request_annotations]", "[pagerduty.RequestAnnotations]", "[[x]]", "addr",
    "identity", "api_key", "user_email", "severity", "listen", "handler_timeout", "approve_roles",
    "max_escalation_level", "region", "api_endpoint", " = ", "=", '"', "'", '"""', "\n", " ",
    "#", "[", "]", "{", "}", ",", ".", '"x"', '"/"', '"30s"', '"-1s"', '"1h30m"', "1", "-1",
    "0", "1e400", "true", "false", "1979-05-27T07:32:00Z", '"*"', '"^a($"', '":9090"', '"[::1]:1"',
    '"https://api.pagerduty.com"', '"http://10.0.0.1"', '"eu"', '"DEBUG"', "\\", "\x00", "é",
]  # fmt: skip


@FUZZ
@given(text=st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_toml_soup_gives_a_config_or_a_config_error(text: str) -> None:
    load(text)


# -- valid TOML, random types ---------------------------------------------------------------------

ODD_STRINGS = [
    "", "30s", "0s", "-5m", "1h30m", "99999999999h", "1.5h", "10", "ns", "info", "WARN", "json",
    "text", "stdout", "2", "us", "EU", "https://api.pagerduty.com", "http://127.0.0.1:1",
    "ftp://x", "teleport.example.com:443", "[::1]:9090", ":0", "host:99999", "a:b:c",
    "alice@example.com", "not-an-email", "*", "^dev-.*$", "^(unclosed$", "dev-*",
]  # fmt: skip
STRINGS = st.one_of(st.text(max_size=16), st.sampled_from(ODD_STRINGS))
SCALARS = st.one_of(
    STRINGS,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(max_value=datetime.datetime(9999, 12, 31)),
    st.dates(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "x", "listen"]), children, max_size=2)
    ),
    max_leaves=6,
)
#: Tables as written, including the Go plugin's spelling of request_annotations.
TABLE_PATHS = {
    "teleport": ("teleport",),
    "pagerduty": ("pagerduty",),
    "pagerduty.request_annotations": ("pagerduty", "request_annotations"),
    "pagerduty.auto_approval": ("pagerduty", "auto_approval"),
    "log": ("log",),
    "metrics": ("metrics",),
    "tpd": ("tpd",),
}


GO_DURATIONS = st.builds(
    lambda number, unit: f"{number}{unit}",
    st.integers(-100, 10**6) | st.floats(0, 100, allow_nan=False).map(lambda f: round(f, 2)),
    st.sampled_from(["ns", "us", "µs", "ms", "s", "m", "h", "d", ""]),
)
DURATIONS = st.one_of(GO_DURATIONS, GO_DURATIONS, GO_DURATIONS, STRINGS)
#: Values of the type each kind of key expects (their contents still random).
TYPED = {
    Kind.STRING: STRINGS,
    Kind.PATH: STRINGS,
    Kind.BOOL: st.booleans(),
    Kind.INT: st.integers(-5, 10) | st.integers(-(2**63), 2**63 - 1),
    Kind.DURATION: DURATIONS,
    Kind.STRING_LIST: st.lists(STRINGS, max_size=3),
}
#: Keys set in most documents, so that loading gets past the required ones.
USUAL = {"pagerduty.api_key", "pagerduty.user_email", "teleport.addr", "teleport.identity"}


def value_for(spec: KeySpec) -> st.SearchStrategy[Any]:
    """Usually a value of the key's type; one time in ten, any TOML value."""
    return st.integers(0, 9).flatmap(lambda i: VALUES if i == 0 else TYPED[spec.kind])


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A TOML document: each known key absent, or set to a value, usually of its type."""
    document: dict[str, Any] = {}
    for spec in schema.all_keys():
        if draw(st.integers(0, 9)) >= (9 if spec.full_name in USUAL else 3):
            continue
        value = draw(value_for(spec))
        if spec.full_name == "pagerduty.api_key" and isinstance(value, str) and value[:1] == "/":
            value = "/nonexistent-fuzz" + value  # a key "file" must not be a real path
        path = TABLE_PATHS.get(spec.table, tuple(spec.table.split(".")))
        node = document
        for segment in path:
            child = node.setdefault(segment, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[spec.name] = value
    for _ in range(draw(st.integers(0, 2))):  # unknown keys and tables, or a table as a value
        where = draw(st.sampled_from([(), ("teleport",), ("pagerduty",), ("pagerduty", "x")]))
        node = document
        for segment in where:
            child = node.setdefault(segment, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[draw(st.sampled_from(["unknown", "metrics", "apikey", "tpd"]))] = draw(VALUES)
    return document


@st.composite
def near_valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A config tpd accepts, with one to three keys set to random values (usually typed)."""
    document: dict[str, Any] = {
        "teleport": {"addr": "teleport.example.com:443", "identity": "/var/lib/id"},
        "pagerduty": {"api_key": "u+Xa7sFkq9PZ3vYdG", "user_email": "bot@example.com"},
    }
    specs = draw(st.lists(st.sampled_from(list(schema.all_keys())), min_size=1, max_size=3))
    for spec in specs:
        value = draw(value_for(spec))
        if spec.full_name == "pagerduty.api_key" and isinstance(value, str) and value[:1] == "/":
            value = "/nonexistent-fuzz" + value
        node = document
        for segment in TABLE_PATHS.get(spec.table, tuple(spec.table.split("."))):
            node = node.setdefault(segment, {})
        node[spec.name] = value
    return document


@FUZZ
@given(document=st.one_of(documents(), near_valid_documents()))
def test_valid_toml_with_random_types_gives_a_config_or_a_config_error(
    document: dict[str, Any],
) -> None:
    text = tomlkit.dumps(document)
    outcome = load(text)
    if isinstance(outcome, Config):
        assert outcome.pagerduty.api_key  # required, so a Config always has one


@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_file_bytes_give_a_config_or_a_config_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "teleport-pagerduty.toml"
        path.write_bytes(raw)
        error: ConfigError | None = None
        try:
            load_config(path, environ=NO_ENVIRONMENT)
        except ConfigError as exc:
            error = exc
    assert error is None or str(error).startswith(str(path))


def test_a_duration_too_large_for_python_is_a_config_error() -> None:
    """Found by the fuzzing above: it used to escape as an OverflowError."""
    text = (
        '[teleport]\nidentity = "/id"\nrefresh_identity = true\n'
        'refresh_identity_interval = "24000000000h"\n'
        '[pagerduty]\napi_key = "k"\nuser_email = "bot@example.com"\n'
    )
    outcome = load(text)
    assert isinstance(outcome, ConfigError)
    assert "refresh_identity_interval" in str(outcome)
    assert "out of range" in str(outcome)
