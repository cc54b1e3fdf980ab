"""PagerDuty JSON -> models, in one place. Pure: no I/O, no httpx.

Parsing is tolerant the way PagerDuty's own clients need to be: unknown fields are ignored (and
kept in the model's `raw`), optional fields may be missing or null. A field the model cannot do
without (an object's `id`, an on-call entry's `user`) raises `WireFormatError`, which the caller
turns into `UnexpectedResponse` naming the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pagerduty_client._models import (
    Assignment,
    EscalationPolicy,
    EscalationRule,
    Incident,
    Note,
    OnCall,
    Reference,
    Service,
    User,
)

__all__ = [
    "WireFormatError",
    "format_time",
    "parse_escalation_policy",
    "parse_incident",
    "parse_note",
    "parse_oncall",
    "parse_reference",
    "parse_service",
    "parse_time",
    "parse_user",
]


class WireFormatError(ValueError):
    """A JSON object lacks a field the model needs, or has it with the wrong type."""


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WireFormatError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def _required_str(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise WireFormatError(f"{what}: missing or non-string {key!r}")
    return value


def _str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as PagerDuty writes it (`2015-10-06T21:30:42Z`, `...-05:00`)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise WireFormatError(f"timestamp: expected a string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise WireFormatError(f"timestamp: not ISO 8601: {value!r}") from exc
    if parsed.tzinfo is None:
        raise WireFormatError(f"timestamp: no time zone: {value!r}")
    return parsed


def format_time(value: datetime) -> str:
    """A timezone-aware datetime as the ISO 8601 string PagerDuty's query parameters take."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {value.isoformat()}")
    return value.isoformat()


def parse_reference(value: Any, what: str = "reference") -> Reference:
    obj = _object(value, what)
    return Reference(
        id=_required_str(obj, "id", what),
        type=_str(obj, "type") or "",
        summary=_str(obj, "summary"),
        self_url=_str(obj, "self"),
        html_url=_str(obj, "html_url"),
    )


def _optional_reference(value: Any, what: str) -> Reference | None:
    return None if value is None else parse_reference(value, what)


def parse_user(value: Any) -> User:
    obj = _object(value, "user")
    return User(
        id=_required_str(obj, "id", "user"),
        name=_str(obj, "name") or "",
        email=_str(obj, "email") or "",
        role=_str(obj, "role"),
        time_zone=_str(obj, "time_zone"),
        job_title=_str(obj, "job_title"),
        summary=_str(obj, "summary"),
        html_url=_str(obj, "html_url"),
        raw=obj,
    )


def parse_service(value: Any) -> Service:
    obj = _object(value, "service")
    return Service(
        id=_required_str(obj, "id", "service"),
        name=_str(obj, "name") or _str(obj, "summary") or "",
        escalation_policy=parse_reference(
            obj.get("escalation_policy"), "service.escalation_policy"
        ),
        status=_str(obj, "status"),
        description=_str(obj, "description"),
        summary=_str(obj, "summary"),
        html_url=_str(obj, "html_url"),
        raw=obj,
    )


def _parse_rule(value: Any) -> EscalationRule:
    obj = _object(value, "escalation_rule")
    targets = obj.get("targets") or []
    if not isinstance(targets, list):
        raise WireFormatError("escalation_rule.targets: expected a list")
    return EscalationRule(
        id=_str(obj, "id"),
        escalation_delay_in_minutes=_int(obj, "escalation_delay_in_minutes") or 0,
        targets=tuple(parse_reference(t, "escalation_rule.target") for t in targets),
    )


def parse_escalation_policy(value: Any) -> EscalationPolicy:
    obj = _object(value, "escalation_policy")
    rules = obj.get("escalation_rules") or []
    services = obj.get("services") or []
    if not isinstance(rules, list) or not isinstance(services, list):
        raise WireFormatError("escalation_policy: escalation_rules and services must be lists")
    return EscalationPolicy(
        id=_required_str(obj, "id", "escalation_policy"),
        name=_str(obj, "name") or _str(obj, "summary") or "",
        escalation_rules=tuple(_parse_rule(rule) for rule in rules),
        num_loops=_int(obj, "num_loops") or 0,
        services=tuple(parse_reference(s, "escalation_policy.service") for s in services),
        description=_str(obj, "description"),
        summary=_str(obj, "summary"),
        html_url=_str(obj, "html_url"),
        raw=obj,
    )


def parse_oncall(value: Any) -> OnCall:
    obj = _object(value, "oncall")
    level = _int(obj, "escalation_level")
    if level is None:
        raise WireFormatError("oncall: missing or non-integer 'escalation_level'")
    return OnCall(
        user=parse_reference(obj.get("user"), "oncall.user"),
        escalation_policy=parse_reference(obj.get("escalation_policy"), "oncall.escalation_policy"),
        escalation_level=level,
        schedule=_optional_reference(obj.get("schedule"), "oncall.schedule"),
        start=parse_time(obj.get("start")),
        end=parse_time(obj.get("end")),
    )


def _parse_assignment(value: Any) -> Assignment:
    obj = _object(value, "assignment")
    return Assignment(
        assignee=parse_reference(obj.get("assignee"), "assignment.assignee"),
        at=parse_time(obj.get("at")),
    )


def parse_incident(value: Any) -> Incident:
    obj = _object(value, "incident")
    assignments = obj.get("assignments") or []
    if not isinstance(assignments, list):
        raise WireFormatError("incident.assignments: expected a list")
    return Incident(
        id=_required_str(obj, "id", "incident"),
        status=_required_str(obj, "status", "incident"),
        title=_str(obj, "title") or "",
        service=parse_reference(obj.get("service"), "incident.service"),
        incident_number=_int(obj, "incident_number"),
        incident_key=_str(obj, "incident_key"),
        urgency=_str(obj, "urgency"),
        escalation_policy=_optional_reference(
            obj.get("escalation_policy"), "incident.escalation_policy"
        ),
        assignments=tuple(_parse_assignment(a) for a in assignments),
        created_at=parse_time(obj.get("created_at")),
        updated_at=parse_time(obj.get("updated_at")),
        resolved_at=parse_time(obj.get("resolved_at")),
        summary=_str(obj, "summary"),
        html_url=_str(obj, "html_url"),
        raw=obj,
    )


def parse_note(value: Any) -> Note:
    obj = _object(value, "note")
    content = obj.get("content")
    if not isinstance(content, str):
        raise WireFormatError("note: missing or non-string 'content'")
    channel = obj.get("channel")
    return Note(
        id=_required_str(obj, "id", "note"),
        content=content,
        created_at=parse_time(obj.get("created_at")),
        user=_optional_reference(obj.get("user"), "note.user"),
        channel=_str(channel, "summary") if isinstance(channel, Mapping) else None,
        raw=obj,
    )
