"""The auto-approval decision: cheap checks first (`precheck_approval`), then the PagerDuty
facts (`decide_approval`).

Both are built from the same list of named checks (`approval_checks`), which `tpd explain`
shows whole: every check with what it saw and whether it passed, in the daemon's order. The
first failing check is the daemon's `Skip`; its text is what the daemon logs. A check whose
facts are missing (an earlier check failed, or PagerDuty was not asked) is not made
(`passed is None`); such a check always comes after a failure, so the first failure is the
same whether the checks run to the end or stop at it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import attrs

from teleport_access._models import AccessRequest
from teleport_pd_cli._email import is_exact_email, same_email
from teleport_pd_cli.policy._annotations import approval_service_names
from teleport_pd_cli.policy._settings import PolicySettings
from teleport_pd_cli.policy._steps import ConsiderApproval, Skip
from teleport_pd_cli.policy._texts import approval_reason

__all__ = [
    "APPROVAL_CHECKS",
    "ApprovalCheck",
    "Approve",
    "OnCall",
    "PagerDutyFacts",
    "PagerDutyService",
    "PagerDutyUser",
    "approval_checks",
    "decide_approval",
    "first_failure",
    "oncall_checks",
    "precheck_approval",
]

#: The checks of the auto-approval, in the order the daemon makes them. The first six need
#: only the request and the configuration (`precheck_approval`); the rest, PagerDuty's answers.
APPROVAL_CHECKS = (
    "pending",
    "enabled",
    "services_annotation",
    "not_reviewed",
    "requester_email",
    "approve_roles",
    "pagerduty_user",
    "services",
    "on_call",
    "escalation_level",
)


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

    @property
    def names_a_user(self) -> bool:
        return self.user_type.startswith("user")

    def counts_for(self, user_id: str, escalation_policy_ids: Collection[str]) -> bool:
        """Whether this entry can approve `user_id`: it names that user (not a schedule
        placeholder) in one of the escalation policies (those of the services found). The
        tier limit is a check of its own."""
        return (
            self.names_a_user
            and self.user_id == user_id
            and self.escalation_policy_id in escalation_policy_ids
        )


def _services(value: Iterable[PagerDutyService]) -> tuple[PagerDutyService, ...]:
    return tuple(value)


def _on_calls(value: Iterable[OnCall]) -> tuple[OnCall, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class PagerDutyFacts:
    """What PagerDuty said: the user found by the requester's email (None: none has it), the
    services found for the annotated names, and the user's on-call entries in their escalation
    policies."""

    user: PagerDutyUser | None
    services: tuple[PagerDutyService, ...] = attrs.field(default=(), converter=_services)
    on_calls: tuple[OnCall, ...] = attrs.field(default=(), converter=_on_calls)


@attrs.frozen(kw_only=True)
class Approve:
    """Submit an APPROVED review with `reason`; `service_names` are where the user is on call."""

    reason: str
    service_names: tuple[str, ...]
    why: str


@attrs.frozen(kw_only=True)
class ApprovalCheck:
    """One check of the auto-approval (a name of `APPROVAL_CHECKS`) and what it saw."""

    name: str
    #: True passed, False failed, None not made (a fact it needs is missing).
    passed: bool | None
    #: What the check saw when it passed, the daemon's reason when it failed (`skip.why`), or
    #: why it was not made.
    detail: str
    #: The daemon's Skip when the check failed.
    skip: Skip | None = None


def _passed(name: str, detail: str) -> ApprovalCheck:
    return ApprovalCheck(name=name, passed=True, detail=detail)


def _failed(name: str, why: str, *, warning: bool = False) -> ApprovalCheck:
    return ApprovalCheck(
        name=name,
        passed=False,
        detail=why,
        skip=Skip(what="approval", why=why, warning=warning),
    )


def _not_made(name: str, why: str) -> ApprovalCheck:
    return ApprovalCheck(name=name, passed=None, detail=why)


def first_failure(checks: Sequence[ApprovalCheck]) -> ApprovalCheck | None:
    """The first check that failed: the daemon's reason not to approve."""
    return next((check for check in checks if check.passed is False), None)


# -- the checks that need only the request and the configuration --------------------------------


def _email_check(email: str) -> ApprovalCheck:
    if not is_exact_email(email):
        return _failed(
            "requester_email", f"{email!r} does not look like a valid email", warning=True
        )
    return _passed("requester_email", f"{email!r} is an exact email address")


def _request_checks(
    request: AccessRequest, settings: PolicySettings, plugin_user: str
) -> tuple[list[ApprovalCheck], tuple[str, ...] | None]:
    """The checks of `precheck_approval`, and the annotated service names (None: no usable
    annotation)."""
    checks: list[ApprovalCheck] = []
    if request.state.is_pending:
        checks.append(_passed("pending", "the request is PENDING"))
    else:
        checks.append(_failed("pending", f"the request is {request.state.name}, not PENDING"))
    if settings.auto_approval.enabled:
        checks.append(_passed("enabled", "auto-approval is enabled"))
    else:
        checks.append(_failed("enabled", "auto-approval is disabled in the configuration"))
    annotation = settings.annotations.services
    names = approval_service_names(request, annotation)
    if isinstance(names, Skip):
        checks.append(
            ApprovalCheck(name="services_annotation", passed=False, detail=names.why, skip=names)
        )
    else:
        checks.append(_passed("services_annotation", f"{annotation} names {', '.join(names)}"))
    if not plugin_user:
        checks.append(
            _passed(
                "not_reviewed",
                "the plugin's user is not known; Teleport refuses a second review by it",
            )
        )
    elif any(review.author == plugin_user for review in request.reviews):
        checks.append(_failed("not_reviewed", "Already reviewed the request"))
    else:
        checks.append(
            _passed("not_reviewed", f"the plugin's user {plugin_user!r} has not reviewed it")
        )
    checks.append(_email_check(request.user))
    limits = settings.auto_approval
    patterns = list(limits.approve_roles)
    if limits.roles_allowed(request.roles):
        roles = ", ".join(request.roles) or "(none)"
        checks.append(
            _passed("approve_roles", f"role(s) {roles} allowed by approve_roles {patterns}")
        )
    else:
        denied = [r for r in request.roles if not limits.role_allowed(r)]
        checks.append(
            _failed(
                "approve_roles",
                f"role(s) {', '.join(denied)} not allowed by approve_roles {patterns}",
            )
        )
    return checks, None if isinstance(names, Skip) else names


# -- the checks that need PagerDuty's answers ---------------------------------------------------


def _pagerduty_checks(
    email: str,
    service_names: tuple[str, ...] | None,
    facts: PagerDutyFacts | None,
    settings: PolicySettings,
    not_asked: str,
) -> tuple[list[ApprovalCheck], Approve | None]:
    """The checks of `decide_approval` after the precheck, and the approval when they all
    pass. `facts` None: PagerDuty was not asked, because `not_asked`."""
    if facts is None:
        return [_not_made(name, not_asked) for name in APPROVAL_CHECKS[6:]], None
    checks: list[ApprovalCheck] = []
    user = facts.user
    if user is None:
        checks.append(_failed("pagerduty_user", "email is not found"))
    elif not same_email(user.email, email):
        checks.append(
            _failed(
                "pagerduty_user",
                f"PagerDuty user {user.email!r} is not the requester {email!r}",
                warning=True,
            )
        )
        user = None
    else:
        checks.append(_passed("pagerduty_user", f"{user.name} <{user.email}> ({user.id})"))

    relevant: list[PagerDutyService] = []
    if service_names is None:
        checks.append(_not_made("services", "no service names to look up"))
    else:
        # PagerDuty service names are unique regardless of case, as the Go plugin assumes.
        by_name: dict[str, PagerDutyService] = {}
        for service in facts.services:
            if service.escalation_policy_id:
                by_name.setdefault(service.name.lower(), service)
        relevant = [by_name[n.lower()] for n in service_names if n.lower() in by_name]
        if relevant:
            checks.append(_passed("services", f"found {', '.join(s.name for s in relevant)}"))
        else:
            checks.append(_failed("services", "Failed to find any service", warning=True))

    if user is None or not relevant:
        checks.append(_not_made("on_call", "needs the PagerDuty user and a service found"))
        checks.append(_not_made("escalation_level", "needs an on-call entry"))
        return checks, None
    policies = {service.escalation_policy_id for service in relevant}
    mine = [entry for entry in facts.on_calls if entry.counts_for(user.id, policies)]
    if not mine:
        checks.append(_failed("on_call", "user is not on call"))
        checks.append(_not_made("escalation_level", "needs an on-call entry"))
        return checks, None
    levels = sorted({str(e.escalation_level) for e in mine})
    on_call_in = sorted({e.escalation_policy_id for e in mine})
    checks.append(
        _passed(
            "on_call",
            f"on call in escalation policy {', '.join(on_call_in)} at level(s) {', '.join(levels)}",
        )
    )
    limits = settings.auto_approval
    allowed = {e.escalation_policy_id for e in mine if limits.level_allowed(e.escalation_level)}
    if not allowed:
        checks.append(
            _failed(
                "escalation_level",
                f"user is on call only at escalation level(s) {', '.join(levels)}, above "
                f"max_escalation_level {limits.max_escalation_level}",
            )
        )
        return checks, None
    if limits.max_escalation_level == 0:
        checks.append(_passed("escalation_level", "max_escalation_level 0 allows any level"))
    else:
        good = sorted(
            {str(e.escalation_level) for e in mine if limits.level_allowed(e.escalation_level)}
        )
        checks.append(
            _passed(
                "escalation_level",
                f"level(s) {', '.join(good)} within max_escalation_level "
                f"{limits.max_escalation_level}",
            )
        )
    names: list[str] = []
    for service in relevant:
        if service.escalation_policy_id in allowed and service.name not in names:
            names.append(service.name)
    approve = Approve(
        reason=approval_reason(user, names),
        service_names=tuple(names),
        why=f"{user.email} is on call in {', '.join(names)}",
    )
    return checks, approve


# -- the decisions ------------------------------------------------------------------------------


def approval_checks(
    request: AccessRequest,
    settings: PolicySettings,
    *,
    plugin_user: str = "",
    pagerduty: PagerDutyFacts | None = None,
) -> tuple[ApprovalCheck, ...]:
    """Every check of the auto-approval in the daemon's order (`APPROVAL_CHECKS`).

    `pagerduty` is what PagerDuty answered for the requester and the annotated services; None
    when it was not asked (the PagerDuty checks are then not made). PagerDuty is never asked
    about a requester that is not an exact email, so its answers are ignored for one.
    """
    checks, names = _request_checks(request, settings, plugin_user)
    email_ok = checks[APPROVAL_CHECKS.index("requester_email")].passed
    not_asked = "PagerDuty was not asked"
    if not email_ok:
        pagerduty = None
        not_asked = "PagerDuty is not asked about a requester that is not an exact email"
    more, _ = _pagerduty_checks(request.user, names, pagerduty, settings, not_asked)
    return (*checks, *more)


def oncall_checks(
    email: str,
    service_names: Sequence[str],
    settings: PolicySettings,
    *,
    pagerduty: PagerDutyFacts | None,
) -> tuple[tuple[ApprovalCheck, ...], Approve | Skip]:
    """The checks of an approval that depend on the requester's email and PagerDuty only
    (`tpd check-oncall --explain`): `requester_email` and the PagerDuty checks, as
    `decide_approval` makes them for a request by `email` naming `service_names`; and their
    outcome: the approval, or the Skip of the first failure."""
    email_check = _email_check(email)
    if not email_check.passed:
        pagerduty = None
    names = tuple(sorted({name for name in service_names if name}))
    more, approve = _pagerduty_checks(
        email,
        names or None,
        pagerduty,
        settings,
        "PagerDuty is not asked about an address that is not an exact email",
    )
    checks = (email_check, *more)
    failed = first_failure(checks)
    if failed is not None:
        assert failed.skip is not None
        return checks, failed.skip
    if approve is None:  # PagerDuty was not asked
        return checks, Skip(what="approval", why="PagerDuty was not asked")
    return checks, approve


def precheck_approval(
    request: AccessRequest, settings: PolicySettings, *, plugin_user: str = ""
) -> ConsiderApproval | Skip:
    """The approval checks that need nothing from PagerDuty, in the daemon's order."""
    checks, names = _request_checks(request, settings, plugin_user)
    failed = first_failure(checks)
    if failed is not None:
        assert failed.skip is not None
        return failed.skip
    assert names is not None  # the services_annotation check passed
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
    facts = PagerDutyFacts(user=pd_user, services=services, on_calls=on_calls)
    checks, approve = _pagerduty_checks(request.user, checked.service_names, facts, settings, "")
    failed = first_failure(checks)
    if failed is not None:
        assert failed.skip is not None
        return failed.skip
    assert approve is not None  # every check passed
    return approve
