"""The language's types and run-time values, and how Go prints them in error messages.

Go type            Python value
string             str
int                int (never bool)
float64            float
bool               bool
expression.Set     frozenset[str]
expression.Dict    Mapping[str, frozenset[str]] (a dict, never mutated)
time.Time          GoTime (nanoseconds since the Unix epoch, UTC)
expression.pair    Pair
expression.option  Option

Teleport's messages print values with Go's `%+v` and types with `%T`; `go_value` and
`go_type_name` reproduce both, so a message reads as Teleport's would.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final, TypeAlias, final

_NS_PER_S: Final = 1_000_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class GoType(enum.Enum):
    """A static type; the value is Go's name for it, as Teleport's messages print it."""

    STRING = "string"
    INT = "int"
    FLOAT = "float64"
    BOOL = "bool"
    SET = "expression.Set"
    DICT = "expression.Dict"
    TIME = "time.Time"
    PAIR = "expression.pair"
    OPTION = "expression.option"
    #: Known only at evaluation time (ifelse, choose, strings.upper, .remove, ...).
    ANY = "interface {}"
    #: The receiver type of `.remove`: a Set or a Dict.
    REMOVER = "expression.remover"


@final
class GoTime:
    """A Go `time.Time` instant with Go's nanosecond precision (Python datetimes stop at µs)."""

    __slots__ = ("ns",)

    def __init__(self, ns: int) -> None:
        self.ns = ns

    @classmethod
    def from_datetime(cls, value: datetime | None) -> GoTime:
        """An aware datetime as a GoTime; None is Go's zero time (0001-01-01T00:00:00Z)."""
        if value is None:
            return GO_ZERO_TIME
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}; pass a timezone-aware datetime")
        delta = value - _EPOCH
        return cls((delta.days * 86_400 + delta.seconds) * _NS_PER_S + delta.microseconds * 1000)

    def to_datetime(self) -> datetime:
        """The instant as an aware UTC datetime, truncated to microseconds.

        Raises OverflowError outside datetime's years 1 to 9999 (Go's times reach year 0).
        """
        seconds, ns = divmod(self.ns, _NS_PER_S)
        return _EPOCH + timedelta(seconds=seconds, microseconds=ns // 1000)

    @property
    def is_zero(self) -> bool:
        """Go's zero time: what an unset timestamp reads as."""
        return self.ns == GO_ZERO_TIME.ns

    def rfc3339(self) -> str:
        """RFC 3339 in UTC with as many fraction digits as needed (Go's RFC3339Nano)."""
        (year, month, day, hh, mm, ss), ns = civil_from_ns(self.ns)
        frac = f".{ns:09d}".rstrip("0") if ns else ""
        return f"{year:04d}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}{frac}Z"

    def go_string(self) -> str:
        """Go's `Time.String()` of the instant in UTC: 2025-08-11 14:30:00 +0000 UTC."""
        (year, month, day, hh, mm, ss), ns = civil_from_ns(self.ns)
        frac = f".{ns:09d}".rstrip("0") if ns else ""
        return f"{year:04d}-{month:02d}-{day:02d} {hh:02d}:{mm:02d}:{ss:02d}{frac} +0000 UTC"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GoTime):
            return NotImplemented
        return self.ns == other.ns

    def __lt__(self, other: GoTime) -> bool:
        return self.ns < other.ns

    def __hash__(self) -> int:
        return hash(("GoTime", self.ns))

    def __repr__(self) -> str:
        return f"GoTime({self.rfc3339()!r})"

    def __str__(self) -> str:
        return self.rfc3339()


@final
class Pair:
    """What `pair(a, b)` returns: an argument of `dict(...)`."""

    __slots__ = ("first", "second")

    def __init__(self, first: Value, second: Value) -> None:
        self.first, self.second = first, second

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pair):
            return NotImplemented
        return (self.first, self.second) == (other.first, other.second)

    def __hash__(self) -> int:
        return hash(("Pair", repr(self.first), repr(self.second)))

    def __repr__(self) -> str:
        return f"Pair({self.first!r}, {self.second!r})"


@final
class Option:
    """What `option(condition, value)` returns: an argument of `choose(...)`."""

    __slots__ = ("condition", "value")

    def __init__(self, condition: bool, value: Value) -> None:
        self.condition, self.value = condition, value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Option):
            return NotImplemented
        return (self.condition, self.value) == (other.condition, other.value)

    def __hash__(self) -> int:
        return hash(("Option", self.condition, repr(self.value)))

    def __repr__(self) -> str:
        return f"Option({self.condition!r}, {self.value!r})"


#: A run-time value of the language.
Value: TypeAlias = (
    str
    | int
    | float
    | bool
    | frozenset[str]
    | Mapping[str, frozenset[str]]
    | GoTime
    | Pair
    | Option
)

GO_ZERO_TIME: Final = GoTime(-62_135_596_800 * _NS_PER_S)
EMPTY_SET: Final[frozenset[str]] = frozenset()


def type_of(value: object) -> GoType:
    """The Go type of a run-time value."""
    kind = type(value)
    if kind is str:
        return GoType.STRING
    if kind is bool:
        return GoType.BOOL
    if kind is int:
        return GoType.INT
    if kind is float:
        return GoType.FLOAT
    if kind is frozenset:
        return GoType.SET
    if isinstance(value, GoTime):
        return GoType.TIME
    if isinstance(value, Pair):
        return GoType.PAIR
    if isinstance(value, Option):
        return GoType.OPTION
    if isinstance(value, Mapping):
        return GoType.DICT
    raise TypeError(f"not a value of the predicate language: {value!r}")


def has_type(value: object, expected: GoType) -> bool:
    """Go's type assertion `value.(T)` for a value of static type `any`."""
    if expected is GoType.ANY:
        return True
    if expected is GoType.REMOVER:
        return type(value) is frozenset or isinstance(value, Mapping)
    return type_of(value) is expected


def go_type_name(value: object) -> str:
    """Go's `%T` of a run-time value."""
    return type_of(value).value


def go_value(value: object) -> str:
    """Go's `%+v` of a run-time value, as Teleport's messages print it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, frozenset):
        return "{s:map[" + " ".join(f"{item}:{{}}" for item in sorted(value)) + "]}"
    if isinstance(value, GoTime):
        return value.go_string()
    if isinstance(value, Pair):
        return f"{{first:{go_value(value.first)} second:{go_value(value.second)}}}"
    if isinstance(value, Option):
        return f"{{condition:{go_value(value.condition)} value:{go_value(value.value)}}}"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    return repr(value)


def go_float(value: float) -> str:
    """Go's `%v` of a float64: the shortest digits, in %e form below 1e-4 or from 1e6 up."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if str(value).startswith("-") else ""
    digits, exponent = _shortest_digits(abs(value))
    if exponent < -4 or exponent >= 6:
        head, tail = digits[0], digits[1:]
        frac = f".{tail}" if tail else ""
        esign = "-" if exponent < 0 else "+"
        return f"{sign}{head}{frac}e{esign}{abs(exponent):02d}"
    point = exponent + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits of a non-negative float and its decimal exponent."""
    if value == 0:
        return "0", 0
    text = repr(value)
    mantissa, _, exp = text.partition("e")
    exponent = int(exp) if exp else 0
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    leading_zeros = len(whole + frac) - len((whole + frac).lstrip("0"))
    exponent += len(whole) - 1 - leading_zeros
    digits = digits.rstrip("0") or "0"
    return digits, exponent


# ---------------------------------------------------------------------------------------------
# Civil dates for any year (Go's times reach year 0 and beyond datetime's range)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The proleptic Gregorian date of a day number (days since 1970-01-01)."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def civil_from_ns(ns: int) -> tuple[tuple[int, int, int, int, int, int], int]:
    """(year, month, day, hour, minute, second) and the nanoseconds of an instant in UTC."""
    seconds, frac = divmod(ns, _NS_PER_S)
    days, rem = divmod(seconds, 86_400)
    year, month, day = civil_from_days(days)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    return (year, month, day, hh, mm, ss), frac


def weekday_of_days(days: int) -> int:
    """Go's Weekday (0 = Sunday) of a day number; 1970-01-01 was a Thursday."""
    return (days + 4) % 7


WEEKDAYS: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
