"""The evidence behind an auto-approval, read from PagerDuty and Teleport: one gatherer for
`tpd explain` and `tpd check-oncall --explain`.

* `gather_approval_evidence(pd, email, service_names)`: the PagerDuty facts the daemon asks for
  before it approves (the same client calls: the user by exact email, each service by name, the
  user's on-call entries in those services' escalation policies), converted into the policy's
  `PagerDutyFacts` by the daemon's own conversion (`daemon.approval_facts`); plus what explains
  a refusal and that the daemon does not need: when no user has the email, the users
  PagerDuty's fuzzy search returned instead and why each is not the requester
  (`near_miss_reason`), and the user's on-call entries in other escalation policies.
* `gather_review_permission(auth, request)`: whether the plugin's own roles let it review the
  request: the daemon's pre-check (`daemon.approval_facts.review_permission`), reading
  Teleport directly instead of through the daemon's caches.

Only reads: nothing here writes to PagerDuty or Teleport.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from teleport_pd_cli._email import fold_email, is_exact_email
from teleport_pd_cli.daemon.approval_facts import (
    ReviewPermission,
    pagerduty_facts,
    policy_on_call,
    review_permission,
)
from teleport_pd_cli.policy import PagerDutyFacts

if TYPE_CHECKING:
    from pagerduty_client import AsyncPagerDutyClient, OnCall, Reference, Service, User
    from teleport_access import AccessRequest, AuthClient, Role

__all__ = [
    "NEAR_MISS_LIMIT",
    "ApprovalEvidence",
    "NearMiss",
    "ReviewPermission",
    "gather_approval_evidence",
    "gather_review_permission",
    "near_miss_reason",
    "on_call_json",
    "reference_json",
    "rota_text",
    "time_json",
]

#: At most this many of the users PagerDuty's search returns are shown as near misses.
NEAR_MISS_LIMIT = 20


# -- near misses --------------------------------------------------------------------------------


def _non_ascii(text: str) -> str:
    characters = dict.fromkeys(c for c in text if ord(c) > 127)
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in characters)


def near_miss_reason(address: str, wanted: str) -> str:
    """Why the PagerDuty user with `address` is not the requester `wanted` (their emails differ
    beyond the case of ASCII letters)."""
    if address.lower() == wanted.lower() or address.casefold() == wanted.casefold():
        return (
            f"the same address only under Unicode case rules ({_non_ascii(address + wanted)}); "
            "tpd ignores the case of ASCII letters only"
        )
    found, requester = fold_email(address), fold_email(wanted)
    if requester in found:
        return "a different address that contains the requester's email"
    if found in requester:
        return "a different address contained in the requester's email"
    odd = _non_ascii(address)
    if odd:
        return f"a different address, with non-ASCII characters ({odd})"
    return "a different address (PagerDuty's search also matches names and parts of addresses)"


@attrs.frozen(kw_only=True)
class NearMiss:
    """A user PagerDuty's search returned for the requester's email, and why it is not them."""

    id: str
    name: str
    email: str
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "email": self.email, "why": self.why}


# -- the PagerDuty evidence ---------------------------------------------------------------------


def time_json(moment: datetime | None) -> str | None:
    """An RFC 3339 time of the `--json` documents (UTC as `Z`), or None."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def rota_text(schedule: Reference | None, end: datetime | None) -> str:
    """How an on-call entry holds: `, schedule "X"` or `, targeted directly`, then until when."""
    text = (
        f', schedule "{schedule.summary or schedule.id}"'
        if schedule is not None
        else ", targeted directly"
    )
    return text + (f", until {time_json(end)}" if end else ", with no end")


def reference_json(reference: Reference | None) -> dict[str, Any] | None:
    """`{"id", "name"}` of a PagerDuty reference (name "" when PagerDuty gave no summary)."""
    if reference is None:
        return None
    return {"id": reference.id, "name": reference.summary or ""}


def on_call_json(entry: OnCall, *, counted: bool) -> dict[str, Any]:
    """One on-call entry of the `--json` documents."""
    return {
        "user": {**(reference_json(entry.user) or {}), "type": entry.user.type},
        "escalation_policy": reference_json(entry.escalation_policy),
        "escalation_level": entry.escalation_level,
        "schedule": reference_json(entry.schedule),
        "start": time_json(entry.start),
        "end": time_json(entry.end),
        "counted": counted,
    }


@attrs.frozen(kw_only=True)
class ApprovalEvidence:
    """What PagerDuty says about `email` and `service_names` (see the module docstring)."""

    email: str
    #: The services annotation's names, sorted and de-duplicated (as the policy reads them).
    service_names: tuple[str, ...]
    #: Why PagerDuty was not asked ("" when it was).
    not_asked: str = ""
    #: The user with exactly this email (ASCII letters in any case), or None.
    user: User | None = None
    #: When there is no such user: what PagerDuty's user search returned instead.
    near_misses: tuple[NearMiss, ...] = ()
    #: The services found, in the order of `service_names`.
    services: tuple[Service, ...] = ()
    #: The names no service has.
    missing_services: tuple[str, ...] = ()
    #: The user's on-call entries in the escalation policies of `services` (the daemon's query).
    on_calls: tuple[OnCall, ...] = ()
    #: The user's on-call entries in other escalation policies (they never approve).
    elsewhere: tuple[OnCall, ...] = ()

    @property
    def asked(self) -> bool:
        return not self.not_asked

    def facts(self) -> PagerDutyFacts | None:
        """The policy's view of the evidence (None when PagerDuty was not asked)."""
        if not self.asked:
            return None
        return pagerduty_facts(self.user, self.services, self.on_calls)

    def counts(self, entry: OnCall) -> bool:
        """Whether an entry of `on_calls` can approve at all (the policy's rule): it names this
        user (not a schedule placeholder) in the policy of a service found. The tier limit is
        apart."""
        policies = {service.escalation_policy.id for service in self.services}
        return self.user is not None and policy_on_call(entry).counts_for(self.user.id, policies)

    def to_json(self) -> dict[str, Any]:
        user = self.user
        return {
            "email": self.email,
            "asked": self.asked,
            "not_asked": self.not_asked or None,
            "user": None
            if user is None
            else {"id": user.id, "name": user.name, "email": user.email},
            "near_misses": [miss.to_json() for miss in self.near_misses],
            "service_names": list(self.service_names),
            "services": [
                {
                    "id": service.id,
                    "name": service.name,
                    "escalation_policy": reference_json(service.escalation_policy),
                }
                for service in self.services
            ],
            "missing_services": list(self.missing_services),
            "on_calls": [on_call_json(e, counted=self.counts(e)) for e in self.on_calls],
            "elsewhere": [on_call_json(e, counted=False) for e in self.elsewhere],
        }


async def gather_approval_evidence(
    pd: AsyncPagerDutyClient, email: str, service_names: Sequence[str]
) -> ApprovalEvidence:
    """Ask PagerDuty what the daemon asks before approving `email` for `service_names`.

    PagerDuty is not asked about an address that is not an exact email (the daemon never
    does), nor when there are no service names. PagerDutyError propagates.
    """
    names = tuple(sorted({name for name in service_names if name}))
    if not is_exact_email(email):
        return ApprovalEvidence(
            email=email,
            service_names=names,
            not_asked="PagerDuty is not asked about an address that is not an exact email",
        )
    if not names:
        return ApprovalEvidence(
            email=email, service_names=names, not_asked="no service names to look up"
        )
    user, found = await asyncio.gather(
        pd.find_user_by_email(email),
        asyncio.gather(*(pd.find_service_by_name(name) for name in names)),
    )
    services = _unique([service for service in found if service is not None])
    missing = tuple(name for name, service in zip(names, found, strict=True) if service is None)
    evidence = ApprovalEvidence(
        email=email, service_names=names, services=services, missing_services=missing
    )
    if user is None:
        return attrs.evolve(evidence, near_misses=await _near_misses(pd, email))
    policies = sorted({s.escalation_policy.id for s in services if s.escalation_policy.id})
    on_calls = await pd.on_call(user.id, policies) if policies else []
    everywhere = await pd.on_call(user.id, [])
    return attrs.evolve(
        evidence,
        user=user,
        on_calls=tuple(on_calls),
        elsewhere=tuple(e for e in everywhere if e.escalation_policy.id not in policies),
    )


def _unique(services: Sequence[Service]) -> tuple[Service, ...]:
    seen: dict[str, Service] = {}
    for service in services:
        seen.setdefault(service.id, service)
    return tuple(seen.values())


async def _near_misses(pd: AsyncPagerDutyClient, email: str) -> tuple[NearMiss, ...]:
    """The users PagerDuty's fuzzy search returns for `email` (the daemon's lookup query)."""
    misses: list[NearMiss] = []
    async for item in pd.iterate("/users", {"query": email.strip()}):
        address = str(item.get("email", ""))
        misses.append(
            NearMiss(
                id=str(item.get("id", "")),
                name=str(item.get("name", "")),
                email=address,
                why=near_miss_reason(address, email),
            )
        )
        if len(misses) >= NEAR_MISS_LIMIT:
            break
    return tuple(misses)


# -- the plugin's permission to review ----------------------------------------------------------


async def gather_review_permission(
    auth: AuthClient, request: AccessRequest, *, plugin_user: str, plugin_roles: Sequence[str]
) -> ReviewPermission:
    """Work out, with the daemon's own check, whether Teleport lets the plugin review
    `request`, reading its roles and user from Teleport (no caches)."""
    from teleport_access import NotFound

    async def get_role(name: str) -> Role | None:
        try:
            return await auth.get_role(name)
        except NotFound:
            return None

    return await review_permission(
        request,
        plugin_user=plugin_user,
        plugin_roles=plugin_roles,
        get_role=get_role,
        get_user=auth.get_user,
    )
