"""What tpd requires of the Teleport cluster it serves: the oldest supported server version.

One rule for every caller: the daemon refuses to start against an older Auth Service, and
`tpd doctor` reports the same verdict. Versions are semantic versions (`v` prefix allowed); a
pre-release sorts before its release. A version that does not parse is "unknown", which callers
accept with a warning (a custom build should not stop the plugin).
"""

from __future__ import annotations

import re

__all__ = ["MIN_SERVER_VERSION", "parse_version", "server_version_supported"]

#: The oldest Teleport the plugin works with (as the Go plugin).
MIN_SERVER_VERSION = "6.1.0"

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")

Version = tuple[int, int, int, tuple[int | str, ...] | None]


def parse_version(text: str) -> Version | None:
    """Semantic version parts (major, minor, patch, pre-release or None); None if unparsable."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return None
    pre = None
    if match.group(4):
        pre = tuple(int(p) if p.isdigit() else p for p in match.group(4).split("."))
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), pre


def _order(parts: Version) -> tuple[object, ...]:
    major, minor, patch, pre = parts
    # A pre-release sorts before its release; identifiers compare numbers before words.
    pre_key: tuple[object, ...] = (
        (1,)
        if pre is None
        else (0, *((0, p, "") if isinstance(p, int) else (1, 0, p) for p in pre))
    )
    return (major, minor, patch, pre_key)


def server_version_supported(version: str, minimum: str = MIN_SERVER_VERSION) -> bool | None:
    """Whether `version` is at least `minimum`; None when `version` is not a version number."""
    parsed, wanted = parse_version(version), parse_version(minimum)
    if wanted is None:
        raise ValueError(f"not a version: {minimum!r}")
    if parsed is None:
        return None
    return _order(parsed) >= _order(wanted)
