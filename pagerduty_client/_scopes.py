"""Scoped OAuth scopes: which one each PagerDuty operation needs, and which client methods need.

The per-operation table is generated from PagerDuty's OpenAPI document (`_scope_table.py`,
written by `scripts/gen_scopes.py`). This module adds what the document cannot know: which
operations each client method sends (`CLIENT_OPERATIONS`; a test runs every method against the
fake and checks that it sends nothing else), and the account scope `as_account-<region>.<subdomain>`
every token request must carry. Pure: no I/O.

    required_scopes(["check_on_call", "create_incident", "add_note", "resolve_incident"])
    # {'users.read', 'services.read', 'oncalls.read', 'incidents.read', 'incidents.write'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal, TypeAlias

from pagerduty_client._scope_table import OPERATION_LIMITED, REQUIRED_SCOPE

__all__ = [
    "CLIENT_OPERATIONS",
    "CLIENT_SCOPES",
    "Region",
    "account_scope",
    "is_operation_limited",
    "required_scope",
    "required_scopes",
]

#: (HTTP method, path template as the OpenAPI document writes it), e.g. ("GET", "/users/{id}").
Operation: TypeAlias = tuple[str, str]
Region: TypeAlias = Literal["us", "eu"]

#: The operations each method of `AsyncPagerDutyClient` / `PagerDutyClient` may send, including
#: the look-ups it makes to recover from an ambiguous failure (`create_incident` lists open
#: incidents with its key before posting again). `iterate` is absent: name its operation instead.
CLIENT_OPERATIONS: Mapping[str, tuple[Operation, ...]] = {
    "abilities": (("GET", "/abilities"),),
    "has_ability": (("GET", "/abilities/{id}"),),
    "find_user_by_email": (("GET", "/users"),),
    "get_user": (("GET", "/users/{id}"),),
    "find_service_by_name": (("GET", "/services"),),
    "get_service": (("GET", "/services/{id}"),),
    "get_escalation_policy": (("GET", "/escalation_policies/{id}"),),
    "on_call": (("GET", "/oncalls"),),
    "check_on_call": (("GET", "/users"), ("GET", "/services"), ("GET", "/oncalls")),
    "create_incident": (("POST", "/incidents"), ("GET", "/incidents")),
    "add_note": (("POST", "/incidents/{id}/notes"), ("GET", "/incidents/{id}/notes")),
    "resolve_incident": (("PUT", "/incidents/{id}"), ("GET", "/incidents/{id}")),
    "get_incident": (("GET", "/incidents/{id}"),),
    "list_notes": (("GET", "/incidents/{id}/notes"),),
    "find_incidents": (("GET", "/incidents"),),
}

_REGIONS = ("us", "eu")
# PagerDuty subdomains: letters, digits and inner hyphens (the "acme" of acme.pagerduty.com).
_SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_OPERATION = re.compile(r"(GET|PUT|POST|DELETE|PATCH)\s+(/\S*)")


def account_scope(region: str, subdomain: str) -> str:
    """The scope naming the account a token is for: `as_account-us.acme`. Every token request
    must include it; PagerDuty refuses one without it (invalid_scope)."""
    if region not in _REGIONS:
        raise ValueError(f'region must be "us" or "eu", got {region!r}')
    name = subdomain.strip().lower() if isinstance(subdomain, str) else subdomain
    if not isinstance(name, str) or not _SUBDOMAIN.fullmatch(name):
        raise ValueError(
            f"subdomain {subdomain!r} is not a PagerDuty account subdomain (the ACME of "
            "https://ACME.pagerduty.com: letters, digits and hyphens)"
        )
    return f"as_account-{region}.{name}"


def _template_for(method: str, path: str) -> Operation | None:
    """The documented operation a method and a path (template or concrete) belong to. The most
    literal template wins, so `/users/me` is not taken for `/users/{id}`."""
    if (method, path) in REQUIRED_SCOPE:
        return method, path
    segments = path.strip("/").split("/")
    best: Operation | None = None
    best_literals = -1
    for known_method, template in REQUIRED_SCOPE:
        if known_method != method:
            continue
        pattern = template.strip("/").split("/")
        if len(pattern) != len(segments):
            continue
        if all(p.startswith("{") or p == s for p, s in zip(pattern, segments, strict=True)):
            literals = sum(not p.startswith("{") for p in pattern)
            if literals > best_literals:
                best, best_literals = (known_method, template), literals
    return best


def required_scope(method: str, path: str) -> str | None:
    """The scope PagerDuty requires for this operation (`"incidents.write"` for
    `("POST", "/incidents")`); `path` may be the template or a concrete path. None when the
    document names none (or does not know the operation)."""
    operation = _template_for(method.upper(), path)
    return REQUIRED_SCOPE[operation] if operation is not None else None


def is_operation_limited(method: str, path: str) -> bool:
    """Whether the operation has a rate limit of its own (`POST /incidents`, `GET /oncalls`)."""
    operation = _template_for(method.upper(), path)
    return operation is not None and operation in OPERATION_LIMITED


def required_scopes(operations: Iterable[str]) -> frozenset[str]:
    """The scopes a token needs for these client methods and operations.

    Each item is the name of a client method (`"check_on_call"`: every operation it may send)
    or an operation `"METHOD /path"` (`"GET /schedules"`, for `iterate`). An unknown method, a
    malformed operation, or an operation for which the document names no scope raises
    ValueError naming it. The account scope is not included: the token provider adds it.
    """
    if isinstance(operations, str):
        raise TypeError("operations must be a collection of names, not one string")
    scopes: set[str] = set()
    for item in operations:
        if item in CLIENT_OPERATIONS:
            for method, template in CLIENT_OPERATIONS[item]:
                scope = REQUIRED_SCOPE[method, template]
                assert scope is not None, f"{method} {template} names no scope"
                scopes.add(scope)
            continue
        match = _OPERATION.fullmatch(item.strip()) if isinstance(item, str) else None
        if match is None:
            known = ", ".join(sorted(CLIENT_OPERATIONS))
            raise ValueError(
                f'{item!r} is neither a client method ({known}) nor an operation "METHOD /path"'
            )
        scope = required_scope(match.group(1), match.group(2))
        if scope is None:
            raise ValueError(f"PagerDuty's OpenAPI document names no OAuth scope for {item!r}")
        scopes.add(scope)
    return frozenset(scopes)


#: Every scope some method of the client may need (read access to users, services, escalation
#: policies, on-calls, incidents and abilities; write access to incidents).
CLIENT_SCOPES: frozenset[str] = required_scopes(CLIENT_OPERATIONS)
