"""Semantic versions as Teleport compares them (`newer_than`, `older_than`, `between`).

Teleport uses CoreOS's go-semver (v0.3): `MAJOR.MINOR.PATCH[-PRERELEASE][+METADATA]`, each number
a signed 64-bit decimal (Go's ParseInt, so `+1` and `-1` are accepted), pre-release and metadata
dot-separated `[0-9A-Za-z-]` identifiers. Versions order by the three numbers, then a version
without a pre-release above one with it, then pre-release fields left to right (numeric fields
below alphanumeric ones, numbers by value, text bytewise, more fields higher). Metadata is ignored.
Errors carry go-semver's and strconv's messages.
"""

from __future__ import annotations

import re
from typing import Final

from teleport_access.predicate._values import go_type_name
from teleport_access.where._ast import quote

_IDENTIFIER: Final = re.compile(r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*\Z")
_INT64: Final = 1 << 63


class SemverError(ValueError):
    """The value is not a version; `str()` is go-semver's (or strconv's) message."""


Version = tuple[tuple[int, int, int], str]


def _parse_int(text: str) -> int:
    """Go's strconv.ParseInt(text, 10, 64)."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not (body.isascii() and body.isdigit()):
        raise SemverError(f"strconv.ParseInt: parsing {quote(text)}: invalid syntax")
    value = int(text)
    if not -_INT64 <= value < _INT64:
        raise SemverError(f"strconv.ParseInt: parsing {quote(text)}: value out of range")
    return value


def to_version(value: object) -> Version:
    """Teleport's ToSemver: a string parsed as a version; anything else is an error."""
    if not isinstance(value, str):
        raise SemverError(f"type {go_type_name(value)} cannot be parsed as semver.Version")
    text, _, metadata = value.partition("+")
    text, _, prerelease = text.partition("-")
    parts = text.split(".", 2)
    if len(parts) != 3:
        raise SemverError(f"{text} is not in dotted-tri format")
    if prerelease and not _IDENTIFIER.match(prerelease):
        raise SemverError(
            f"failed to validate pre-release: {prerelease} is not a valid semver identifier"
        )
    if metadata and not _IDENTIFIER.match(metadata):
        raise SemverError(
            f"failed to validate metadata: {metadata} is not a valid semver identifier"
        )
    major, minor, patch = (_parse_int(part) for part in parts)
    return (major, minor, patch), prerelease


def _atoi(text: str) -> int | None:
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not (body.isascii() and body.isdigit()):
        return None
    value = int(text)
    return value if -_INT64 <= value < _INT64 else None


def compare(a: Version, b: Version) -> int:
    """go-semver's Version.Compare: -1, 0 or 1."""
    if a[0] != b[0]:
        return -1 if a[0] < b[0] else 1
    pa, pb = a[1], b[1]
    if not pa or not pb:
        return (not pa) - (not pb)
    fa, fb = pa.split("."), pb.split(".")
    for x, y in zip(fa, fb, strict=False):
        nx, ny = _atoi(x), _atoi(y)
        if (nx is None) != (ny is None):
            return -1 if nx is not None else 1
        if nx is not None and ny is not None and nx != ny:
            return -1 if nx < ny else 1
        if x != y:
            return -1 if x < y else 1
    return (len(fa) > len(fb)) - (len(fa) < len(fb))


def newer_than(a: object, b: object) -> bool:
    return compare(to_version(a), to_version(b)) > 0


def older_than(a: object, b: object) -> bool:
    return compare(to_version(a), to_version(b)) < 0


def semver_between(value: object, low: object, high: object) -> bool:
    """Teleport's SemverBetween: low <= value < high (the bounds are not swapped)."""
    above = newer_than(value, low)
    equal = compare(to_version(value), to_version(low)) == 0
    below = older_than(value, high)
    return (above or equal) and below
