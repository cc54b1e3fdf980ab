"""The Go behaviours the functions rely on: time parsing, mail addresses, semantic versions,
case mapping and Go's printing of values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from teleport_access.predicate import GoTime
from teleport_access.predicate._gotime import TimeParseError, parse_clock, parse_rfc3339
from teleport_access.predicate._mail import MailError, parse_address
from teleport_access.predicate._semver import SemverError, compare, to_version
from teleport_access.predicate._strings import go_lower, go_upper
from teleport_access.predicate._values import Option, Pair, go_float, go_value

# -- time.RFC3339 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rfc3339"),
    [
        ("2025-08-11T14:30:00Z", "2025-08-11T14:30:00Z"),
        ("2025-08-11T16:30:00+02:00", "2025-08-11T14:30:00Z"),
        ("2025-08-11T14:30:00.123456789Z", "2025-08-11T14:30:00.123456789Z"),
        ("2025-08-11T14:30:00.1234567891234Z", "2025-08-11T14:30:00.123456789Z"),
        ("2025-08-11T14:30:00,5Z", "2025-08-11T14:30:00.5Z"),
        ("2025-08-11T4:30:00Z", "2025-08-11T04:30:00Z"),  # Go takes a one-digit hour
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
    ],
)
def test_rfc3339_parses_as_go_does(text: str, rfc3339: str) -> None:
    assert parse_rfc3339(text).rfc3339() == rfc3339


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-13-01T00:00:00Z", 'parsing time "2025-13-01T00:00:00Z": month out of range'),
        ("2025-02-30T00:00:00Z", 'parsing time "2025-02-30T00:00:00Z": day out of range'),
        ("2025-08-11T14:60:00Z", 'parsing time "2025-08-11T14:60:00Z": minute out of range'),
        ("2025-08-11T14:30:60Z", 'parsing time "2025-08-11T14:30:60Z": second out of range'),
        ("2025-8-11T14:30:00Z", 'cannot parse "8-11T14:30:00Z" as "01"'),
        ("2025-08-11 14:30:00Z", 'cannot parse " 14:30:00Z" as "T"'),
        ("2025-08-11T14:30:00z", 'cannot parse "z" as "Z07:00"'),
        ("2025-08-11T14:30:00+0200", 'cannot parse "+0200" as "Z07:00"'),
        ("2025-08-11T14:30:00+25:00", "time zone offset hour out of range"),
        ("2025-08-11T14:30:00Zx", 'parsing time "2025-08-11T14:30:00Zx": extra text: "x"'),
        ("é", 'parsing time "\\xc3\\xa9" as'),
    ],
)
def test_rfc3339_errors_are_gos(text: str, message: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_rfc3339(text)
    assert message in str(caught.value)


def test_clock_times() -> None:
    assert parse_clock("7:05") == (7, 5)
    assert parse_clock("23:59") == (23, 59)


def test_go_time_round_trips_datetimes_and_keeps_nanoseconds() -> None:
    when = datetime(2025, 8, 11, 14, 30, 0, 123456, tzinfo=UTC)
    assert GoTime.from_datetime(when).to_datetime() == when
    assert GoTime.from_datetime(None).is_zero
    precise = parse_rfc3339("2025-08-11T14:30:00.000000001Z")
    assert precise.ns % 1000 == 1
    assert GoTime.from_datetime(datetime(2025, 8, 11, 14, 30, tzinfo=UTC)) < precise


# -- mail --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("alice@example.com", "alice@example.com"),
        ("  alice@example.com  ", "alice@example.com"),
        ("Alice Smith <alice@example.com>", "alice@example.com"),
        ('"Smith, Alice" <alice@example.com>', "alice@example.com"),
        ("<alice@example.com>", "alice@example.com"),
        ('"alice smith"@example.com', "alice smith@example.com"),
        ("alice@example.com (Alice)", "alice@example.com"),
        ("alice@[192.0.2.1]", "alice@[192.0.2.1]"),
        ("alice@[IPv6:2001:db8::1]", "alice@[IPv6:2001:db8::1]"),
        ("ålice@exämple.com", "ålice@exämple.com"),
        ("=?utf-8?q?Alice?= <alice@example.com>", "alice@example.com"),
    ],
)
def test_addresses_parse_as_go_does(text: str, address: str) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "mail: no address"),
        ("alice", "mail: missing '@' or angle-addr"),
        ("Alice Smith", "mail: no angle-addr"),
        ("alice@", "mail: no angle-addr"),
        ("<alice@example.com", "mail: unclosed angle-addr"),
        ("a@b c", 'mail: expected single address, got "c"'),
        (".alice@example.com", "mail: no angle-addr"),
        ('""@example.com', "mail: no angle-addr"),
        ("alice@[300.0.0.1]", "mail: no angle-addr"),
        ("a@b, c@d", 'mail: expected single address, got ", c@d"'),
        ("group: a@b, c@d;", "mail: group with multiple addresses"),
        ("group:;", "mail: empty group"),
        ("=?koi8-r?q?x?= <a@b>", 'mail: missing word in phrase: charset not supported: "koi8-r"'),
    ],
)
def test_address_errors_are_gos(text: str, message: str) -> None:
    with pytest.raises(MailError) as caught:
        parse_address(text)
    assert str(caught.value) == message


# -- semantic versions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("1.0.0", "2.0.0", -1),
        ("1.10.0", "1.9.0", 1),
        ("1.0.0-alpha", "1.0.0", -1),
        ("1.0.0-alpha", "1.0.0-alpha.1", -1),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta", -1),
        ("1.0.0-beta.2", "1.0.0-beta.11", -1),
        ("1.0.0-rc.1", "1.0.0-beta.11", 1),
        ("1.0.0+a", "1.0.0+b", 0),
        ("2.0.0", "10.0.0", -1),  # numbers, not text
    ],
)
def test_versions_compare_as_go_semver_does(a: str, b: str, order: int) -> None:
    assert compare(to_version(a), to_version(b)) == order


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.0", "1.0 is not in dotted-tri format"),
        ("v1.0.0", 'strconv.ParseInt: parsing "v1": invalid syntax'),
        ("+1.0.0", " is not in dotted-tri format"),  # all of it is metadata
        ("1.0.0-a..b", "failed to validate pre-release: a..b is not a valid semver identifier"),
        ("1.0.0+a_b", "failed to validate metadata: a_b is not a valid semver identifier"),
        ("99999999999999999999.0.0", "value out of range"),
    ],
)
def test_version_errors(text: str, message: str) -> None:
    with pytest.raises(SemverError) as caught:
        to_version(text)
    assert message in str(caught.value)


def test_an_empty_pre_release_is_none() -> None:
    assert to_version("1.0.0-") == ((1, 0, 0), "")


# -- case mapping and Go's printing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "upper", "lower"),
    [
        ("Straße", "STRAßE", "straße"),
        ("İstanbul", "İSTANBUL", "istanbul"),
        ("ΣΊΣΥΦΟΣ", "ΣΊΣΥΦΟΣ", "σίσυφοσ"),
        ("ᾳ", "ᾼ", "ᾳ"),
        ("ǅ", "Ǆ", "ǆ"),
    ],
)
def test_case_mapping_is_gos_rune_by_rune_mapping(text: str, upper: str, lower: str) -> None:
    assert go_upper(text) == upper
    assert go_lower(text) == lower


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (1.5, "1.5"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (2.0, "2"),
    ],
)
def test_floats_print_as_go_prints_them(value: float, printed: str) -> None:
    assert go_float(value) == printed


def test_values_print_as_gos_plus_v() -> None:
    assert go_value(frozenset({"b", "a"})) == "{s:map[a:{} b:{}]}"
    assert go_value({"k": frozenset({"v"})}) == "map[k:{s:map[v:{}]}]"
    assert go_value(Pair("a", frozenset())) == "{first:a second:{s:map[]}}"
    assert go_value(Option(True, 1)) == "{condition:true value:1}"
    assert go_value(GoTime.from_datetime(None)) == "0001-01-01 00:00:00 +0000 UTC"
