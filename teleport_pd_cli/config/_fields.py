"""How a settings class declares its TOML keys, and Go durations.

A settings class is an attrs class with a `TABLE` class variable (its TOML table: name, help,
origin, accepted spellings). Each field made with `setting(...)` is one key of that table: the
field carries the key's `KeySpec` (TOML type, default, help, environment variable, how
`render-config` shows it) in its metadata and uses the same default. A field made with
`subtable(...)` holds a nested table. `describe(root)` walks the classes into `TableSpec` views,
which the loader validates with and `render.py` documents from; nothing else lists the keys.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import attrs

#: Where a key comes from: the Go plugin's file format, or a tpd extension the Go plugin ignores.
GO = "go"
TPD = "tpd"

_KEY = "tpd.key"
_SUBTABLE = "tpd.subtable"


class Kind(enum.Enum):
    """A key's TOML type, as the loader checks it and the docs name it."""

    STRING = "string"
    PATH = "path"
    BOOL = "boolean"
    INT = "integer"
    DURATION = "duration"
    STRING_LIST = "list of strings"


@attrs.frozen(kw_only=True)
class KeySpec:
    """One key: declared on its field by `setting()`; `table` and `name` are filled in by
    `describe()`."""

    kind: Kind
    #: The value when the key is absent, as TOML reads it (str, bool, int, timedelta or tuple).
    default: object
    #: What the key does, in sentences; rendered as TOML comments and in the docs table.
    help: str
    origin: str = GO
    #: Environment variable that overrides the file, if any.
    env: str | None = None
    secret: bool = False
    required: bool = False
    #: Rendered commented-out by `render-config` (alternatives and rarely needed keys).
    commented: bool = False
    #: The value `render-config` shows for a commented key, when the default would say nothing.
    example: object | None = None
    #: How the docs show the default, when the raw value would mislead (e.g. "" meaning derived).
    default_doc: str | None = None
    deprecated: str | None = None
    table: str = ""
    name: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.table}.{self.name}"

    @property
    def display(self) -> str:
        """`[table] key`, the form every message uses."""
        return f"[{self.table}] {self.name}"


@attrs.frozen(kw_only=True)
class TableSpec:
    """One TOML table: declared as a settings class's `TABLE`; `describe()` adds the rest."""

    name: str
    help: str
    origin: str = GO
    #: Other spellings of the table's last name segment that are accepted for compatibility.
    aliases: tuple[str, ...] = ()
    keys: tuple[KeySpec, ...] = ()
    #: The settings class the table's values build.
    settings: Any = None
    #: Nested tables, by the attribute of `settings` that holds them.
    subtables: tuple[tuple[str, TableSpec], ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    def key(self, name: str) -> KeySpec:
        for spec in self.keys:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name}.{name}")

    def walk(self) -> Iterator[TableSpec]:
        """This table, then its nested tables, in file order."""
        yield self
        for _, table in self.subtables:
            yield from table.walk()


Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def setting(
    kind: Kind,
    default: object,
    *,
    help: str,
    converter: Callable[[Any], Any] | None = None,
    validator: Validator | None = None,
    empty_means_default: bool = False,
    origin: str = GO,
    env: str | None = None,
    secret: bool = False,
    required: bool = False,
    commented: bool = False,
    example: object | None = None,
    default_doc: str | None = None,
    deprecated: str | None = None,
) -> Any:
    """An attrs field that is the TOML key described by the arguments (see `KeySpec`).

    `converter` and `validator` are the key's rules for a value on its own; they raise
    ValueError with a message that the loader prefixes with the file and key.
    `empty_means_default`: "", 0 or a zero duration stand for the default. A required key has
    no default in code; a secret is kept out of the repr.
    """
    spec = KeySpec(
        kind=kind,
        default=default,
        help=help,
        origin=origin,
        env=env,
        secret=secret,
        required=required,
        commented=commented,
        example=example,
        default_doc=default_doc,
        deprecated=deprecated,
    )
    if empty_means_default:
        convert_given = converter

        def converter(value: Any) -> Any:
            value = value or default
            return value if convert_given is None else convert_given(value)

    return attrs.field(
        default=attrs.NOTHING if required else default,
        converter=converter,
        validator=validator,
        repr=not secret,
        metadata={_KEY: spec},
    )


def subtable(settings: type[Any], *, required: bool = False) -> Any:
    """An attrs field holding the nested table `settings` (a settings class)."""
    default = attrs.NOTHING if required else attrs.Factory(settings)
    return attrs.field(default=default, metadata={_SUBTABLE: settings})


def describe(root: type[Any]) -> tuple[tuple[str, TableSpec], ...]:
    """The tables held by `root`'s `subtable` fields, by attribute, each with its keys and
    nested tables."""
    found = []
    for field in attrs.fields(root):
        if _SUBTABLE in field.metadata:
            settings = field.metadata[_SUBTABLE]
            table: TableSpec = settings.TABLE
            keys = tuple(
                attrs.evolve(item.metadata[_KEY], table=table.name, name=item.name)
                for item in attrs.fields(settings)
                if _KEY in item.metadata
            )
            nested = describe(settings)
            found.append(
                (field.name, attrs.evolve(table, keys=keys, settings=settings, subtables=nested))
            )
    return tuple(found)


# -- Go durations ---------------------------------------------------------------------------------

_DURATION_UNITS: dict[str, timedelta] = {
    "ns": timedelta(microseconds=0.001),
    "us": timedelta(microseconds=1),
    "µs": timedelta(microseconds=1),  # U+00B5 MICRO SIGN
    "μs": timedelta(microseconds=1),  # U+03BC GREEK SMALL LETTER MU
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> timedelta:
    """Parse a Go `time.ParseDuration` string ("30s", "1m", "1h30m", "1.5h", "-2m", "0").

    Raises ValueError with the reason. Precision is Python's: microseconds (nanoseconds are
    rounded).
    """
    original = text
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return timedelta(0)
    if not text:
        raise ValueError(f"invalid duration {original!r}")
    total = timedelta(0)
    position = 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            rest = text[position:]
            if re.match(r"\d*\.?\d*$", rest):
                raise ValueError(f"missing unit in duration {original!r}")
            raise ValueError(f"invalid duration {original!r}")
        number, unit = match.groups()
        try:
            total += float(number) * _DURATION_UNITS[unit]
        except OverflowError:  # beyond timedelta's ~2.7 million years (Go's limit is 292)
            raise ValueError(f"duration {original!r} is out of range") from None
        position = match.end()
    return sign * total


def format_duration(value: timedelta) -> str:
    """The shortest Go duration string for `value` that `parse_duration` reads back: "1h30m"."""
    micros = round(value / timedelta(microseconds=1))
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micros = divmod(rest, 1_000_000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds or micros:
        if micros:
            fraction = f"{micros:06d}".rstrip("0")
            parts.append(f"{seconds}.{fraction}s")
        else:
            parts.append(f"{seconds}s")
    return sign + "".join(parts)
