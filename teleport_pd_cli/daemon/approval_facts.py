"""What the auto-approval reads from PagerDuty and Teleport, in the policy's terms: one
conversion and one review-permission check, shared by the daemon and `tpd explain`, so the
explanation cannot drift from what the daemon does.

* `pagerduty_facts(user, services, on_calls)`: the PagerDuty user found by the requester's
  email, the services found by the annotated names and the user's on-call entries, as the
  policy's `PagerDutyFacts`.
* `review_permission(...)`: whether the plugin's own roles let it review a request
  (`teleport_access.where.can_review`), from its certificate's roles and its user's traits. The
  reads are passed in, so the daemon uses its caches and `tpd explain` asks Teleport directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from teleport_pd_cli import policy

if TYPE_CHECKING:
    from pagerduty_client import OnCall, Service, User
    from teleport_access import AccessRequest, Role
    from teleport_access import User as TeleportUser
    from teleport_access.where import ReviewDecision

__all__ = [
    "ReviewPermission",
    "pagerduty_facts",
    "policy_on_call",
    "review_permission",
]


def policy_on_call(entry: OnCall) -> policy.OnCall:
    """One PagerDuty on-call entry as the policy reads it."""
    return policy.OnCall(
        user_id=entry.user.id,
        escalation_policy_id=entry.escalation_policy.id,
        escalation_level=entry.escalation_level,
        user_type=entry.user.type,
    )


def pagerduty_facts(
    user: User | None, services: Iterable[Service | None], on_calls: Iterable[OnCall]
) -> policy.PagerDutyFacts:
    """What PagerDuty said, as the policy reads it (services not found, None, are left out)."""
    return policy.PagerDutyFacts(
        user=None
        if user is None
        else policy.PagerDutyUser(id=user.id, name=user.name, email=user.email),
        services=[
            policy.PagerDutyService(
                id=service.id,
                name=service.name,
                escalation_policy_id=service.escalation_policy.id,
            )
            for service in services
            if service is not None
        ],
        on_calls=[policy_on_call(entry) for entry in on_calls],
    )


@attrs.frozen(kw_only=True)
class ReviewPermission:
    """May the plugin's roles review the request (`can_review`)? `decision` is None when it
    could not be worked out: `roles_error` (its roles could not be read) or `where_error` (a
    `review_requests.where` does not evaluate) says why."""

    plugin_user: str
    plugin_roles: tuple[str, ...]
    #: Roles of the certificate that do not exist (they grant nothing).
    missing_roles: tuple[str, ...] = ()
    traits: Mapping[str, Sequence[str]] = attrs.field(factory=dict)
    decision: ReviewDecision | None = None
    roles_error: str = ""
    where_error: str = ""

    @property
    def problem(self) -> str:
        """Why there is no decision ("" when there is one)."""
        if self.decision is not None:
            return ""
        if not self.plugin_roles:
            return "the plugin's certificate names no roles"
        if self.roles_error:
            return f"cannot read the plugin's roles: {self.roles_error}"
        return f"cannot evaluate review_requests.where: {self.where_error}"

    def to_json(self) -> dict[str, Any]:
        decision = self.decision
        return {
            "plugin_user": self.plugin_user,
            "plugin_roles": list(self.plugin_roles),
            "missing_roles": list(self.missing_roles),
            "allowed": None if decision is None else decision.allowed,
            "reason": self.problem if decision is None else decision.reason,
            "requested_role": None if decision is None else decision.role,
            "deciding_role": None if decision is None else decision.group,
            "where": None if decision is None else decision.where,
        }


async def review_permission(
    request: AccessRequest,
    *,
    plugin_user: str,
    plugin_roles: Sequence[str],
    get_role: Callable[[str], Awaitable[Role | None]],
    get_user: Callable[[str], Awaitable[TeleportUser | None]],
) -> ReviewPermission:
    """Work out whether Teleport lets the plugin review `request`. `get_role` returns None for
    a role that does not exist; a TeleportError from it leaves the question open (`roles_error`).
    The user's traits are empty when they cannot be read. Never raises for Teleport's
    refusals."""
    from teleport_access import TeleportError
    from teleport_access.where import WhereError, can_review

    permission = ReviewPermission(plugin_user=plugin_user, plugin_roles=tuple(plugin_roles))
    if not plugin_roles:
        return permission
    try:
        found = {name: await get_role(name) for name in plugin_roles}
    except TeleportError as exc:
        return attrs.evolve(permission, roles_error=str(exc))
    roles = [role for role in found.values() if role is not None]
    missing = tuple(name for name, role in found.items() if role is None)
    try:
        me = await get_user(plugin_user)
    except TeleportError:
        me = None
    traits = me.traits if me is not None else {}
    permission = attrs.evolve(permission, missing_roles=missing, traits=traits)
    try:
        decision = can_review(roles, traits, plugin_user, request)
    except WhereError as exc:
        return attrs.evolve(permission, where_error=str(exc))
    return attrs.evolve(permission, decision=decision)
