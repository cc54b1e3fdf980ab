"""Typed, immutable models of the PagerDuty resources an access-request bot works with.

PagerDuty's JSON stays at the edge (`pagerduty_client._wire` converts it once); callers speak these
classes. All are frozen, keyword-only attrs classes: change one with `attrs.evolve`. Fields
PagerDuty may omit are optional; fields these classes do not model are kept, untouched, in `raw`
(excluded from equality and repr) so nothing PagerDuty sends is lost. Timestamps are
timezone-aware datetimes, or None when PagerDuty sent none (`null` start/end on an on-call entry
means "permanent").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import attrs

__all__ = [
    "Assignment",
    "EscalationPolicy",
    "EscalationRule",
    "Incident",
    "NotOnCallReason",
    "Note",
    "OnCall",
    "OnCallCheck",
    "OnCallMatch",
    "Reference",
    "Service",
    "User",
]

#: Incident statuses in which PagerDuty de-duplicates by incident_key ("open" incidents).
OPEN_STATUSES: tuple[Literal["triggered"], Literal["acknowledged"]] = ("triggered", "acknowledged")


def _raw_field() -> Any:
    return attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Reference:
    """A reference to another PagerDuty object: `{id, type: "<kind>_reference", summary, ...}`.

    `self_url` is PagerDuty's `self` (the object's API URL).
    """

    id: str
    type: str
    summary: str | None = None
    self_url: str | None = None
    html_url: str | None = None


@attrs.frozen(kw_only=True)
class User:
    """A PagerDuty user (`GET /users`, `GET /users/{id}`)."""

    id: str
    name: str
    email: str
    role: str | None = None
    time_zone: str | None = None
    job_title: str | None = None
    summary: str | None = None
    html_url: str | None = None
    raw: Mapping[str, Any] = _raw_field()

    def reference(self) -> Reference:
        return Reference(id=self.id, type="user_reference", summary=self.summary or self.name)


@attrs.frozen(kw_only=True)
class Service:
    """A PagerDuty service; every service has exactly one escalation policy."""

    id: str
    name: str
    escalation_policy: Reference
    status: str | None = None
    description: str | None = None
    summary: str | None = None
    html_url: str | None = None
    raw: Mapping[str, Any] = _raw_field()

    def reference(self) -> Reference:
        return Reference(id=self.id, type="service_reference", summary=self.summary or self.name)


@attrs.frozen(kw_only=True)
class EscalationRule:
    """One tier of an escalation policy: who is notified, and after how long it escalates.

    Targets are `user_reference` or `schedule_reference` objects. The tier's escalation level (as
    reported by `GET /oncalls`) is its 1-based position in `EscalationPolicy.escalation_rules`.
    """

    id: str | None
    escalation_delay_in_minutes: int
    targets: tuple[Reference, ...]


@attrs.frozen(kw_only=True)
class EscalationPolicy:
    """A PagerDuty escalation policy with its ordered rules (tiers)."""

    id: str
    name: str
    escalation_rules: tuple[EscalationRule, ...] = ()
    num_loops: int = 0
    services: tuple[Reference, ...] = ()
    description: str | None = None
    summary: str | None = None
    html_url: str | None = None
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class OnCall:
    """One on-call entry (`GET /oncalls`): `user` is on call for `escalation_policy` at
    `escalation_level`, through `schedule` (None when the policy targets the user directly),
    between `start` and `end` (None: permanent / never goes off call)."""

    user: Reference
    escalation_policy: Reference
    escalation_level: int
    schedule: Reference | None = None
    start: datetime | None = None
    end: datetime | None = None


@attrs.frozen(kw_only=True)
class Assignment:
    """An incident assignment: who it is assigned to, since when."""

    assignee: Reference
    at: datetime | None = None


@attrs.frozen(kw_only=True)
class Incident:
    """A PagerDuty incident. `status` is "triggered", "acknowledged" or "resolved" (PagerDuty
    may add more; unknown values are kept as they come)."""

    id: str
    status: str
    title: str
    service: Reference
    incident_number: int | None = None
    incident_key: str | None = None
    urgency: str | None = None
    escalation_policy: Reference | None = None
    assignments: tuple[Assignment, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    summary: str | None = None
    html_url: str | None = None
    raw: Mapping[str, Any] = _raw_field()

    @property
    def is_open(self) -> bool:
        """True while triggered or acknowledged: the states in which incident_key de-duplicates."""
        return self.status in OPEN_STATUSES

    @property
    def is_resolved(self) -> bool:
        return self.status == "resolved"


@attrs.frozen(kw_only=True)
class Note:
    """A note on an incident. `user` is who wrote it (the `From` user for notes we add)."""

    id: str
    content: str
    created_at: datetime | None = None
    user: Reference | None = None
    channel: str | None = None
    raw: Mapping[str, Any] = _raw_field()


class NotOnCallReason(enum.Enum):
    """Why `check_on_call` answered "not on call"."""

    #: No PagerDuty user has exactly this email address (case-insensitive).
    USER_NOT_FOUND = "user_not_found"
    #: None of the service names matched a service exactly (case-insensitive).
    SERVICES_NOT_FOUND = "services_not_found"
    #: The user and (some of) the services exist, but the user is not on call for them now.
    NOT_ON_CALL = "not_on_call"


@attrs.frozen(kw_only=True)
class OnCallMatch:
    """One reason the user is on call: for `service`, through its escalation policy."""

    service: Service
    escalation_policy: Reference
    escalation_level: int
    schedule: Reference | None = None
    start: datetime | None = None
    end: datetime | None = None


@attrs.frozen(kw_only=True)
class OnCallCheck:
    """The answer of `check_on_call(email, service_names)`.

    `on_call` is True exactly when `matches` is non-empty, and then `reason` is None. Otherwise
    `reason` says why not. `services` lists the services that were found (in request order) and
    `missing_services` the requested names that matched no service; both stay empty when the user
    was not found, because the services are not looked up then.
    """

    email: str
    on_call: bool
    user: User | None
    services: tuple[Service, ...] = ()
    missing_services: tuple[str, ...] = ()
    matches: tuple[OnCallMatch, ...] = ()
    reason: NotOnCallReason | None = None

    def __attrs_post_init__(self) -> None:
        if self.on_call != bool(self.matches) or self.on_call == (self.reason is not None):
            raise ValueError("OnCallCheck: on_call must equal bool(matches), reason set iff not")

    @property
    def matched_services(self) -> tuple[Service, ...]:
        """The services the user is on call for, each once, in request order."""
        seen: dict[str, Service] = {}
        for match in self.matches:
            seen.setdefault(match.service.id, match.service)
        return tuple(seen.values())
