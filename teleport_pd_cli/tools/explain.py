"""`tpd explain` and `tpd check-oncall --explain`: the decision tpd would take now, step by step.

* `explain_request(config, request_id)`: one live access request, read as the daemon reads it:
  the request; its route (the Access Monitoring Rules, or the annotation; `tools.rules`) and the
  PagerDuty service it names; what tpd already did (the plugin data, and the incident's status
  in PagerDuty); and the auto-approval, every check in the daemon's order with its evidence
  (`policy.approval_checks`, fed by `tools.evidence`), then whether the plugin's own roles let
  it review the request, and the verdict. Exit status: 0 would approve now, 1 would not.
* `explain_oncall(settings, email, service_names)`: the PagerDuty part of the same checks for an
  email and services, without a request.

The verdict is the daemon's own: `policy.plan` for the request's current plugin data and route
says whether approval is considered at all, `policy.decide_approval` decides it with the same
PagerDuty facts the daemon gathers. One thing the policy does not decide is added here: when
the plugin's roles do not let it review the request, the daemon still submits its approval and
Teleport refuses it, so the verdict is "would not approve" (check `review_permission`).

Reads, never writes. A question that cannot be answered (no such request, refused credentials,
PagerDuty unreachable) raises `ExplainError`. The `--json` documents are versioned by
`JSON_VERSION` (see docs/cli.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from teleport_pd_cli._exceptions import ExplainError
from teleport_pd_cli.policy import (
    ApprovalCheck,
    Approve,
    ConsiderApproval,
    EnsureIncident,
    PolicySettings,
    Skip,
    Step,
    approval_checks,
    approval_service_names,
    decide_approval,
    first_failure,
    oncall_checks,
    plan,
    precheck_approval,
)
from teleport_pd_cli.tools.evidence import (
    ApprovalEvidence,
    ReviewPermission,
    gather_approval_evidence,
    gather_review_permission,
    reference_json,
    rota_text,
    time_json,
)

if TYPE_CHECKING:
    from pagerduty_client import AsyncPagerDutyClient, Incident, OnCall, Service
    from teleport_access import AccessRequest, AuthClient
    from teleport_pd_cli.config import Config, PagerDutySettings
    from teleport_pd_cli.policy import PagerDutyData
    from teleport_pd_cli.tools.rules import RoutingExplanation

__all__ = [
    "JSON_VERSION",
    "REVIEW_PERMISSION",
    "OnCallExplanation",
    "RequestExplanation",
    "Verdict",
    "error_json",
    "explain_oncall",
    "explain_request",
    "review_check",
    "verdict_of",
]

#: Bumped only when a key of the `--json` documents changes meaning or disappears.
JSON_VERSION = 1
#: The name of the check, after the policy's, that Teleport will accept the plugin's review.
REVIEW_PERMISSION = "review_permission"
#: How each check's outcome is printed, and named in the `--json` documents.
_STATUS = {True: "ok", False: "fail", None: "skip"}
_STATUS_JSON = {True: "passed", False: "failed", None: "not_made"}


# -- the verdict --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Verdict:
    """Would tpd approve now, and if not, which check decided against it."""

    approve: bool
    #: The first failing check (`policy.APPROVAL_CHECKS` or `review_permission`); None when
    #: approved.
    failed_check: str | None
    #: The daemon's reason: the approval's `why`, or the Skip it would log.
    reason: str

    @property
    def exit_code(self) -> int:
        return 0 if self.approve else 1

    def line(self) -> str:
        if self.approve:
            return f"Verdict: would approve now: {self.reason}"
        failed = f" ({self.failed_check})" if self.failed_check else ""
        return f"Verdict: would not approve now{failed}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "approve": self.approve,
            "failed_check": self.failed_check,
            "reason": self.reason,
        }


def review_check(review: ReviewPermission) -> ApprovalCheck:
    """`review_permission` as a check: Teleport's `can_review` for the plugin's roles."""
    decision = review.decision
    if decision is None:
        return ApprovalCheck(name=REVIEW_PERMISSION, passed=None, detail=review.problem)
    return ApprovalCheck(name=REVIEW_PERMISSION, passed=decision.allowed, detail=decision.reason)


def verdict_of(decision: Approve | Skip, checks: Sequence[ApprovalCheck]) -> Verdict:
    """The verdict of the daemon's `decision`, naming the check that failed. `checks` are the
    approval's checks, `review_permission` last when there is one."""
    if isinstance(decision, Skip):
        failed = first_failure([c for c in checks if c.name != REVIEW_PERMISSION])
        return Verdict(
            approve=False,
            failed_check=failed.name if failed is not None else None,
            reason=decision.why,
        )
    review = next((c for c in checks if c.name == REVIEW_PERMISSION), None)
    if review is not None and review.passed is False:
        return Verdict(
            approve=False,
            failed_check=REVIEW_PERMISSION,
            reason=f"Teleport would refuse the plugin's review: {review.detail}",
        )
    return Verdict(approve=True, failed_check=None, reason=decision.why)


# -- presentation shared by both commands -------------------------------------------------------


def _check_line(check: ApprovalCheck) -> str:
    return f"  {_STATUS[check.passed]:<5} {check.name:<20} {check.detail}"


def _check_json(check: ApprovalCheck) -> dict[str, Any]:
    return {"name": check.name, "status": _STATUS_JSON[check.passed], "detail": check.detail}


def _entry(entry: OnCall) -> str:
    policy = entry.escalation_policy.summary or entry.escalation_policy.id
    level = f'level {entry.escalation_level} in escalation policy "{policy}"'
    return level + rota_text(entry.schedule, entry.end)


def _evidence_lines(check: ApprovalCheck, evidence: ApprovalEvidence) -> Iterator[str]:
    """The evidence behind one check, indented under it."""
    pad = "          "
    if check.name == "pagerduty_user" and evidence.asked and evidence.user is None:
        if not evidence.near_misses:
            yield f"{pad}PagerDuty's user search for {evidence.email!r} returned nobody"
        else:
            yield f"{pad}PagerDuty's user search for {evidence.email!r} returned:"
            for miss in evidence.near_misses:
                yield f"{pad}  {miss.email} ({miss.name}, {miss.id}): {miss.why}"
    elif check.name == "services" and evidence.asked:
        found = {service.name.lower(): service for service in evidence.services}
        for name in evidence.service_names:
            service = found.get(name.lower())
            if service is None:
                yield f"{pad}{name}: no PagerDuty service has this name (exact, any case)"
            else:
                policy = service.escalation_policy
                yield (
                    f'{pad}{service.name} ({service.id}): escalation policy "'
                    f'{policy.summary or policy.id}" ({policy.id})'
                )
    elif check.name == "on_call" and evidence.user is not None:
        for entry in evidence.on_calls:
            note = "" if evidence.counts(entry) else " (not counted: it names no user)"
            yield f"{pad}{_entry(entry)}{note}"
        for entry in evidence.elsewhere:
            yield f"{pad}{_entry(entry)} (not a policy of the annotated services)"
        if not evidence.on_calls and not evidence.elsewhere:
            yield f"{pad}no on-call entry at all"


def _review_lines(review: ReviewPermission) -> Iterator[str]:
    pad = "          "
    roles = ", ".join(review.plugin_roles) or "(none)"
    yield f"{pad}plugin user {review.plugin_user}, role(s) {roles}"
    if review.missing_roles:
        yield f"{pad}role(s) that do not exist: {', '.join(review.missing_roles)}"
    decision = review.decision
    if decision is not None and decision.group:
        yield f"{pad}deciding role {decision.group}, where: {decision.where or '(none)'}"


# -- tpd explain --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RequestExplanation:
    """Everything `tpd explain` shows for one request (see the module docstring)."""

    routing: RoutingExplanation
    #: The PagerDuty service the route names, when it exists.
    routed_service: Service | None
    #: What to say about the route's service besides it ("" when there is nothing).
    routed_note: str
    data: PagerDutyData | None
    incident: Incident | None
    incident_note: str
    evidence: ApprovalEvidence
    review: ReviewPermission
    #: The approval's checks, `review_permission` last.
    checks: tuple[ApprovalCheck, ...]
    max_escalation_level: int
    verdict: Verdict

    @property
    def request(self) -> AccessRequest:
        return self.routing.request

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def lines(self) -> Iterator[str]:
        request = self.request
        yield f"Request {request.id}"
        yield f"  user:        {request.user}"
        yield f"  roles:       {', '.join(request.roles) or '(none)'}"
        yield f"  state:       {request.state.name}"
        yield f"  created:     {time_json(request.created) or 'unknown'}"
        yield f"  reason:      {request.request_reason or '(none)'}"
        annotations = sorted(request.system_annotations.items())
        if not annotations:
            yield "  annotations: (none)"
        for index, (key, values) in enumerate(annotations):
            label = "  annotations: " if index == 0 else "               "
            yield f"{label}{key}: {', '.join(values)}"
        reviews = [f"{r.author} {r.proposed_state.name}" for r in request.reviews]
        yield f"  reviews:     {', '.join(reviews) or '(none)'}"
        yield ""
        yield "Routing"
        yield from (f"  {line}" for line in self.routing.routing_lines())
        if self.routed_service is not None:
            service = self.routed_service
            policy = service.escalation_policy
            yield (
                f"  PagerDuty service: {service.name} ({service.id}), escalation policy "
                f'"{policy.summary or policy.id}"'
            )
        if self.routed_note:
            yield f"  {self.routed_note}"
        yield ""
        yield "What tpd already did"
        yield from self._done_lines()
        yield ""
        yield "Auto-approval"
        for check in self.checks:
            yield _check_line(check)
            if check.name == REVIEW_PERMISSION:
                yield from _review_lines(self.review)
            else:
                yield from _evidence_lines(check, self.evidence)
        yield ""
        yield self.verdict.line()

    def _done_lines(self) -> Iterator[str]:
        data = self.data
        if data is None:
            yield "  plugin data: none (tpd has not handled the request yet)"
            return
        if data.incident_id:
            yield f"  incident:     {data.incident_id} in service {data.service_id or '?'}"
        else:
            yield "  incident:     none recorded"
        if self.incident is not None:
            yield f'  in PagerDuty: {self.incident.status}, "{self.incident.title}"'
        if self.incident_note:
            yield f"  in PagerDuty: {self.incident_note}"
        yield f"  review notes: {data.reviews_count} claimed"
        if data.is_resolved:
            reason = f" ({data.resolve_reason})" if data.resolve_reason else ""
            yield f"  resolution:   {data.resolution.value}{reason}"
        else:
            yield "  resolution:   none"

    def to_json(self) -> dict[str, Any]:
        """The `--json` document (stable keys; see docs/cli.md)."""
        request = self.request
        route = self.routing.route
        data = self.data
        incident = self.incident
        return {
            "version": JSON_VERSION,
            "request_id": request.id,
            "request": {
                "user": request.user,
                "roles": list(request.roles),
                "state": request.state.name,
                "created": time_json(request.created),
                "reason": request.request_reason,
                "system_annotations": {k: list(v) for k, v in request.system_annotations.items()},
                "reviews": [
                    {"author": r.author, "state": r.proposed_state.name, "reason": r.reason}
                    for r in request.reviews
                ],
            },
            "routing": {
                "rules": [
                    {
                        "name": item.rule.name,
                        "verdict": item.verdict.value,
                        "explanation": None if item.explanation is None else str(item.explanation),
                        "problem": item.problem or None,
                    }
                    for item in self.routing.rules
                ],
                "rules_note": self.routing.rules_note or None,
                "traits_note": self.routing.traits_note or None,
                "source": route.source.value,
                "service_name": route.service_name,
                "matched_rules": list(route.rules),
                "not_paged": route.skip.why if route.skip is not None else None,
                "pagerduty_service": None
                if self.routed_service is None
                else {
                    "id": self.routed_service.id,
                    "name": self.routed_service.name,
                    "escalation_policy": reference_json(self.routed_service.escalation_policy),
                },
                "note": self.routed_note or None,
            },
            "plugin_data": None
            if data is None
            else {
                "incident_id": data.incident_id or None,
                "service_id": data.service_id or None,
                "reviews_count": data.reviews_count,
                "resolution": data.resolution.value or None,
                "resolve_reason": data.resolve_reason,
                "incident": None
                if incident is None
                else {"id": incident.id, "status": incident.status, "title": incident.title},
                "incident_note": self.incident_note or None,
            },
            "approval": {
                "checks": [_check_json(check) for check in self.checks],
                "pagerduty": self.evidence.to_json(),
                "max_escalation_level": self.max_escalation_level,
                "review_permission": self.review.to_json(),
            },
            "verdict": self.verdict.to_json(),
            "error": None,
        }


def error_json(message: str, **identity: str | list[str]) -> dict[str, Any]:
    """The `--json` document of a question that could not be answered; `identity` repeats
    what was asked (`request_id=`, or `email=` and `service_names=`)."""
    return {"version": JSON_VERSION, **identity, "verdict": None, "error": message}


def _approval_step(steps: Sequence[Step]) -> ConsiderApproval | Skip | None:
    """The step of `plan` that decides about approval: ConsiderApproval, or the Skip that
    stands for it (of the approval, or of the whole event)."""
    for step in steps:
        if isinstance(step, ConsiderApproval):
            return step
        if isinstance(step, Skip) and step.what in ("approval", "event"):
            return step
    return None


async def explain_request(
    config: Config,
    request_id: str,
    *,
    auth: AuthClient | None = None,
    pagerduty: AsyncPagerDutyClient | None = None,
) -> RequestExplanation:
    """Explain what tpd would do now about the live request `request_id`.

    Uses `auth` and `pagerduty` if given (they are not closed), else clients built from
    `config` (`teleport_pd_cli.clients`). Raises ExplainError when it cannot answer.
    """
    from pagerduty_client import PagerDutyError
    from teleport_access import TeleportError
    from teleport_pd_cli.clients import PagerDutyUse, auth_client, pagerduty_client
    from teleport_pd_cli.tools.oncall import describe_failure

    own_auth = auth is None
    own_pd = pagerduty is None
    try:
        if auth is None:
            auth = auth_client(config.teleport)
        if pagerduty is None:
            pagerduty = pagerduty_client(config.pagerduty, PagerDutyUse.CHECK)
        return await _explain(config, request_id, auth, pagerduty)
    except TeleportError as exc:
        raise ExplainError(f"Teleport: {exc}") from None
    except PagerDutyError as exc:
        raise ExplainError(describe_failure(exc, config.pagerduty)) from None
    finally:
        if own_pd and pagerduty is not None:
            await pagerduty.aclose()
        if own_auth and auth is not None:
            await auth.close()


async def _explain(
    config: Config, request_id: str, auth: AuthClient, pd: AsyncPagerDutyClient
) -> RequestExplanation:
    from teleport_access import AccessRequestPut
    from teleport_pd_cli.policy.plugindata import PLUGIN_NAME, decode
    from teleport_pd_cli.tools.rules import explain_routing

    settings = PolicySettings.from_config(config.pagerduty)
    plugin_user = auth.identity.username
    routing = await explain_routing(
        auth,
        request_id,
        notify_annotation=settings.annotations.notify_service,
        rules_optional=True,
    )
    request = routing.request
    stored = await auth.get_plugin_data(request.id, PLUGIN_NAME)
    data = decode(stored.data) if stored is not None else None
    routed_service, routed_note = await _routed_service(pd, routing, data)
    incident, incident_note = await _incident(pd, data)

    names = approval_service_names(request, settings.annotations.services)
    evidence = await gather_approval_evidence(
        pd, request.user, names if isinstance(names, tuple) else ()
    )
    review = await gather_review_permission(
        auth, request, plugin_user=plugin_user, plugin_roles=auth.identity.roles
    )
    checks = (
        *approval_checks(request, settings, plugin_user=plugin_user, pagerduty=evidence.facts()),
        review_check(review),
    )
    # The daemon's decision: the plan for the request as it stands, then decide_approval.
    steps = plan(
        AccessRequestPut(request=request),
        data,
        settings,
        plugin_user=plugin_user,
        route=routing.route,
    )
    if any(isinstance(s, EnsureIncident) and s.unless_approved for s in steps):
        held = "page_when_approved = false: tpd opens the incident only if it does not approve"
        routed_note = f"{routed_note}; {held}" if routed_note else held
    step = _approval_step(steps) or precheck_approval(request, settings, plugin_user=plugin_user)
    decision: Approve | Skip
    if isinstance(step, ConsiderApproval):
        facts = evidence.facts()
        # The precheck passed: an exact email, and the services the daemon will look up.
        assert facts is not None
        assert evidence.service_names == step.service_names
        decision = decide_approval(
            request,
            pd_user=facts.user,
            services=facts.services,
            on_calls=facts.on_calls,
            settings=settings,
            plugin_user=plugin_user,
        )
    else:
        decision = step
    return RequestExplanation(
        routing=routing,
        routed_service=routed_service,
        routed_note=routed_note,
        data=data,
        incident=incident,
        incident_note=incident_note,
        evidence=evidence,
        review=review,
        checks=checks,
        max_escalation_level=settings.auto_approval.max_escalation_level,
        verdict=verdict_of(decision, checks),
    )


async def _routed_service(
    pd: AsyncPagerDutyClient, routing: RoutingExplanation, data: PagerDutyData | None
) -> tuple[Service | None, str]:
    from teleport_pd_cli.policy import needs_incident

    name = routing.route.service_name
    moot = ""
    if routing.request.state.is_pending and not needs_incident(data):
        moot = " (the request has its incident already: the route mattered until it was opened)"
    elif not routing.request.state.is_pending:
        moot = " (the request is no longer pending: no incident is opened for it now)"
    if name is None:
        return None, f"no PagerDuty service to page{moot}"
    service = await pd.find_service_by_name(name)
    if service is None:
        return None, f"no PagerDuty service is named {name!r} (exact, any case){moot}"
    return service, moot.strip()


async def _incident(
    pd: AsyncPagerDutyClient, data: PagerDutyData | None
) -> tuple[Incident | None, str]:
    from pagerduty_client import NotFound

    if data is None or not data.incident_id:
        return None, ""
    try:
        return await pd.get_incident(data.incident_id), ""
    except NotFound:
        return None, f"no incident {data.incident_id} (deleted, or another account)"


# -- tpd check-oncall --explain -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OnCallExplanation:
    """The PagerDuty part of an approval of `email` for some services, checked and explained."""

    evidence: ApprovalEvidence
    checks: tuple[ApprovalCheck, ...]
    max_escalation_level: int
    verdict: Verdict

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def lines(self) -> Iterator[str]:
        evidence = self.evidence
        yield f"Would tpd approve {evidence.email} for {', '.join(evidence.service_names)}?"
        for check in self.checks:
            yield _check_line(check)
            yield from _evidence_lines(check, evidence)
        yield ""
        yield self.verdict.line()

    def to_json(self) -> dict[str, Any]:
        """The `--explain --json` document (stable keys; see docs/cli.md)."""
        return {
            "version": JSON_VERSION,
            "email": self.evidence.email,
            "service_names": list(self.evidence.service_names),
            "checks": [_check_json(check) for check in self.checks],
            "pagerduty": self.evidence.to_json(),
            "max_escalation_level": self.max_escalation_level,
            "verdict": self.verdict.to_json(),
            "error": None,
        }


async def explain_oncall(
    settings: PagerDutySettings,
    email: str,
    service_names: Sequence[str],
    *,
    client: AsyncPagerDutyClient | None = None,
) -> OnCallExplanation:
    """Check, as the daemon would for a request by `email` naming `service_names`, the PagerDuty
    part of the approval. Raises ExplainError when PagerDuty cannot be asked."""
    from pagerduty_client import PagerDutyError
    from teleport_pd_cli.clients import PagerDutyUse, pagerduty_client
    from teleport_pd_cli.tools.oncall import describe_failure

    policy_settings = PolicySettings.from_config(settings)
    own = client is None
    pd = pagerduty_client(settings, PagerDutyUse.CHECK) if client is None else client
    try:
        evidence = await gather_approval_evidence(pd, email, service_names)
    except PagerDutyError as exc:
        raise ExplainError(describe_failure(exc, settings)) from None
    finally:
        if own:
            await pd.aclose()
    checks, decision = oncall_checks(
        email, service_names, policy_settings, pagerduty=evidence.facts()
    )
    return OnCallExplanation(
        evidence=evidence,
        checks=checks,
        max_escalation_level=settings.auto_approval.max_escalation_level,
        verdict=verdict_of(decision, checks),
    )
