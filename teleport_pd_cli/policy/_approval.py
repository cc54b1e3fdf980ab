"""The auto-approval decision: cheap checks first (`precheck_approval`), then the PagerDuty
facts (`decide_approval`)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from teleport_access._models import AccessRequest
from teleport_pd_cli._email import is_exact_email, same_email
from teleport_pd_cli.policy._annotations import approval_service_names
from teleport_pd_cli.policy._settings import PolicySettings
from teleport_pd_cli.policy._steps import ConsiderApproval, Skip
from teleport_pd_cli.policy._texts import approval_reason

__all__ = [
    "Approve",
    "OnCall",
    "PagerDutyService",
    "PagerDutyUser",
    "decide_approval",
    "precheck_approval",
]


@attrs.frozen(kw_only=True)
class PagerDutyUser:
    """The PagerDuty user found by the requester's email."""

    id: str
    name: str
    email: str


@attrs.frozen(kw_only=True)
class PagerDutyService:
    """A PagerDuty service found by one of the annotated names."""

    id: str
    name: str
    escalation_policy_id: str


@attrs.frozen(kw_only=True)
class OnCall:
    """One current on-call entry: who, in which escalation policy, at which level (1 = first)."""

    user_id: str
    escalation_policy_id: str
    escalation_level: int | None = None
    #: The type of the entry's user reference (`user_reference`, `user`). As the Go plugin, only
    #: entries naming a user count; anything else (a schedule placeholder) never approves.
    user_type: str = "user_reference"


@attrs.frozen(kw_only=True)
class Approve:
    """Submit an APPROVED review with `reason`; `service_names` are where the user is on call."""

    reason: str
    service_names: tuple[str, ...]
    why: str


def precheck_approval(
    request: AccessRequest, settings: PolicySettings, *, plugin_user: str = ""
) -> ConsiderApproval | Skip:
    """The approval checks that need nothing from PagerDuty, cheapest first."""
    if not request.state.is_pending:
        return Skip(what="approval", why=f"the request is {request.state.name}, not PENDING")
    if not settings.auto_approval.enabled:
        return Skip(what="approval", why="auto-approval is disabled in the configuration")
    names = approval_service_names(request, settings.annotations.services)
    if isinstance(names, Skip):
        return names
    if plugin_user and any(review.author == plugin_user for review in request.reviews):
        return Skip(what="approval", why="Already reviewed the request")
    if not is_exact_email(request.user):
        return Skip(
            what="approval", why=f"{request.user!r} does not look like a valid email", warning=True
        )
    if not settings.auto_approval.roles_allowed(request.roles):
        denied = [r for r in request.roles if not settings.auto_approval.role_allowed(r)]
        return Skip(
            what="approval",
            why=f"role(s) {', '.join(denied)} not allowed by approve_roles "
            f"{list(settings.auto_approval.approve_roles)}",
        )
    return ConsiderApproval(
        service_names=names,
        why=f"the request is pending and names on-call service(s) {', '.join(names)}",
    )


def decide_approval(
    request: AccessRequest,
    *,
    pd_user: PagerDutyUser | None,
    services: Sequence[PagerDutyService],
    on_calls: Sequence[OnCall],
    settings: PolicySettings,
    plugin_user: str = "",
) -> Approve | Skip:
    """Approve only a PENDING request whose requester is an exact email, is that PagerDuty user
    (case-insensitive for ASCII letters only), and is on call, at an allowed escalation level,
    in the escalation policy of a service named in the services annotation; and only when every
    requested role is allowed by `approve_roles`.

    `services` are the PagerDuty services found for the annotated names (others are ignored),
    `on_calls` the user's current on-call entries (entries of other users are ignored).
    """
    checked = precheck_approval(request, settings, plugin_user=plugin_user)
    if isinstance(checked, Skip):
        return checked
    if pd_user is None:
        return Skip(what="approval", why="email is not found")
    if not same_email(pd_user.email, request.user):
        return Skip(
            what="approval",
            why=f"PagerDuty user {pd_user.email!r} is not the requester {request.user!r}",
            warning=True,
        )
    # PagerDuty service names are unique regardless of case, as the Go plugin assumes.
    by_name: dict[str, PagerDutyService] = {}
    for service in services:
        if service.escalation_policy_id:
            by_name.setdefault(service.name.lower(), service)
    relevant = [by_name[n.lower()] for n in checked.service_names if n.lower() in by_name]
    if not relevant:
        return Skip(what="approval", why="Failed to find any service", warning=True)
    policies = {service.escalation_policy_id for service in relevant}
    mine = [
        entry
        for entry in on_calls
        if entry.user_type.startswith("user")
        and entry.user_id == pd_user.id
        and entry.escalation_policy_id in policies
    ]
    if not mine:
        return Skip(what="approval", why="user is not on call")
    limits = settings.auto_approval
    allowed = {e.escalation_policy_id for e in mine if limits.level_allowed(e.escalation_level)}
    if not allowed:
        levels = sorted({str(e.escalation_level) for e in mine})
        return Skip(
            what="approval",
            why=f"user is on call only at escalation level(s) {', '.join(levels)}, above "
            f"max_escalation_level {limits.max_escalation_level}",
        )
    names: list[str] = []
    for service in relevant:
        if service.escalation_policy_id in allowed and service.name not in names:
            names.append(service.name)
    return Approve(
        reason=approval_reason(pd_user, names),
        service_names=tuple(names),
        why=f"{pd_user.email} is on call in {', '.join(names)}",
    )
