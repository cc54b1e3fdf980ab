"""The Go plugin's plugin-data record, byte for byte: what Teleport stores beside each request.

Teleport keeps a flat string map per (request, plugin). The Go plugin writes, under the plugin
name `pagerduty`, always the same 9 keys, with "" for every zero value; we read and write exactly
that, so an operator can switch between the Go plugin and tpd mid-flight and each sees the other's
incidents, note counters and resolutions.

| key              | value                                                          |
|------------------|----------------------------------------------------------------|
| `incident_id`    | PagerDuty incident id                                          |
| `service_id`     | PagerDuty service id                                           |
| `user`           | the requester                                                  |
| `roles`          | requested roles joined with ","                                |
| `created`        | request creation time, Unix seconds; "" when unknown           |
| `request_reason` | the requester's reason                                         |
| `reviews_count`  | reviews already posted as notes, decimal; "" for 0             |
| `resolution`     | "", approved, denied, expired or promoted                      |
| `resolve_reason` | the resolution's reason                                        |

Pure: no I/O. The compare-and-swap that stores it lives in `teleport_access`; the transitions
that decide what to store live in `policy.py`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import attrs

__all__ = [
    "KEYS",
    "PLUGIN_NAME",
    "PagerDutyData",
    "ResolutionTag",
    "decode",
    "encode",
    "expected",
]

#: The plugin name the Go plugin stores its data under.
PLUGIN_NAME = "pagerduty"

#: The 9 keys, in the order `encode` writes them.
KEYS = (
    "incident_id",
    "service_id",
    "user",
    "roles",
    "created",
    "request_reason",
    "reviews_count",
    "resolution",
    "resolve_reason",
)


class ResolutionTag(enum.StrEnum):
    """How a request ended, as stored in `resolution`. UNRESOLVED is the empty string.

    A tag written by a future Go plugin decodes as a pseudo-member with its own value, so reading
    and writing it back loses nothing, and it still counts as resolved.
    """

    UNRESOLVED = ""
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    PROMOTED = "promoted"

    @classmethod
    def _missing_(cls, value: object) -> ResolutionTag | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member

    @property
    def is_resolved(self) -> bool:
        return self is not ResolutionTag.UNRESOLVED


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"expected a sequence of strings, got the string {value!r}")
    return tuple(value)


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@attrs.frozen(kw_only=True)
class PagerDutyData:
    """The decoded record. Zero values (`""`, `()`, None, 0) are what Go writes as ""."""

    user: str = ""
    roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: Request creation time, whole seconds, timezone-aware (naive values are taken as UTC).
    created: datetime | None = attrs.field(default=None, converter=_utc)
    request_reason: str = ""
    reviews_count: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    resolution: ResolutionTag = attrs.field(
        default=ResolutionTag.UNRESOLVED, converter=ResolutionTag
    )
    resolve_reason: str = ""
    incident_id: str = ""
    service_id: str = ""

    @property
    def has_incident(self) -> bool:
        return bool(self.incident_id)

    @property
    def is_resolved(self) -> bool:
        return self.resolution.is_resolved


def encode(data: PagerDutyData) -> dict[str, str]:
    """The 9-key string map the Go plugin writes for `data`."""
    created = "" if data.created is None else str(math.floor(data.created.timestamp()))
    return {
        "incident_id": data.incident_id,
        "service_id": data.service_id,
        "user": data.user,
        "roles": ",".join(data.roles),
        "created": created,
        "request_reason": data.request_reason,
        "reviews_count": str(data.reviews_count) if data.reviews_count else "",
        "resolution": data.resolution.value,
        "resolve_reason": data.resolve_reason,
    }


def expected(current: PagerDutyData | None) -> dict[str, str]:
    """The compare-and-swap expectation for `current`: its encoding, or 9 empty strings when
    there is no record yet (Teleport reads an all-empty expectation as "absent")."""
    return encode(current if current is not None else PagerDutyData())


def _int(text: str) -> int | None:
    # Go's strconv.ParseInt: optional sign and decimal digits only.
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit():
        return None
    return int(text)


def decode(data: Mapping[str, str] | None) -> PagerDutyData | None:
    """Decode a stored map; None when there is no record.

    "No record" is None, an empty map, or a map whose values are all empty: Teleport drops
    empty values, so the three cannot be told apart. Missing keys read as zero values and
    unparsable numbers as zero, as in Go.
    """
    if not data or not any(data.values()):
        return None
    created_seconds = _int(data.get("created", ""))
    created = None
    if created_seconds is not None:
        try:
            created = datetime.fromtimestamp(created_seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            created = None
    reviews_count = _int(data.get("reviews_count", "")) or 0
    roles_text = data.get("roles", "")
    return PagerDutyData(
        user=data.get("user", ""),
        roles=tuple(roles_text.split(",")) if roles_text else (),
        created=created,
        request_reason=data.get("request_reason", ""),
        reviews_count=max(reviews_count, 0),
        resolution=ResolutionTag(data.get("resolution", "")),
        resolve_reason=data.get("resolve_reason", ""),
        incident_id=data.get("incident_id", ""),
        service_id=data.get("service_id", ""),
    )
