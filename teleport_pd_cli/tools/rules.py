"""`tpd rules`: Access Monitoring Rules from the command line.

* `check_condition(condition, request, user)`: a condition against a request and user given as
  JSON (`tpd rules check`): the explained value, and exit status 0 match, 1 no match (a
  non-boolean value included), 2 a parse or evaluation error (shown with a caret).
* `list_rules(config)`: the rules the plugin user may list, and whether each routes PagerDuty
  incidents (`tpd rules list`).
* `explain_routing(config, request_id)`: a live request against the rules that apply: each
  rule's schedules and condition with its explanation, and the route the request takes, or why
  it falls back or is not paged (`tpd rules explain`). It reads, and never writes.

The routing itself is the daemon's (`policy.evaluate_rules`, `policy.route_notification`), so
what these print is what `tpd run` decides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from teleport_access.predicate import (
    Environment,
    Explanation,
    PredicateError,
    parse,
)
from teleport_pd_cli._exceptions import TpdError
from teleport_pd_cli.policy import (
    CompiledRule,
    Route,
    RouteSource,
    RuleVerdict,
    compile_rule,
    evaluate_rules,
    route_notification,
)
from teleport_pd_cli.policy._rules import ACCESS_REQUEST_SUBJECT, PAGERDUTY_NOTIFICATION

if TYPE_CHECKING:
    from teleport_access import AccessMonitoringRule, AccessRequest, AuthClient

__all__ = [
    "REQUEST_KEYS",
    "ConditionCheck",
    "RoutingExplanation",
    "RuleRow",
    "check_condition",
    "environment_from_json",
    "explain_routing",
    "list_rules",
    "rows_json",
]

#: The keys `--request` takes, and their JSON types.
REQUEST_KEYS: Mapping[str, str] = {
    "user": "string",
    "roles": "list of strings",
    "suggested_reviewers": "list of strings",
    "reason": "string",
    "system_annotations": "object of string lists",
    "created": "RFC 3339 time",
    "expires": "RFC 3339 time",
    "resource_labels": "list of label objects (one per requested resource)",
}


class RulesInputError(TpdError):
    """A --request or --user value is not what `tpd rules check` takes."""


# -- rules check ------------------------------------------------------------------------------


def _strings(where: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RulesInputError(f"{where} must be a list of strings")
    return list(value)


def _labels(where: str, value: object) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise RulesInputError(f'{where} must be an object of string lists, e.g. {{"k": ["v"]}}')
    return {str(key): _strings(f"{where}[{key!r}]", item) for key, item in value.items()}


def _time(where: str, value: object) -> datetime:
    if not isinstance(value, str):
        raise RulesInputError(f"{where} must be an RFC 3339 time string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RulesInputError(f"{where}: {value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise RulesInputError(f"{where}: {value!r} has no time zone (add Z or +00:00)")
    return moment


def environment_from_json(request: Mapping[str, Any], user: Mapping[str, Any]) -> Environment:
    """The condition environment of `tpd rules check` (missing parts are empty)."""
    unknown = sorted(set(request) - set(REQUEST_KEYS))
    if unknown:
        raise RulesInputError(
            f"--request: unknown key(s) {', '.join(unknown)} (expected {', '.join(REQUEST_KEYS)})"
        )
    if set(user) - {"traits"}:
        raise RulesInputError('--user: only "traits" is read (e.g. {"traits": {"team": ["db"]}})')
    user_value = request.get("user", "")
    reason = request.get("reason", "")
    if not isinstance(user_value, str) or not isinstance(reason, str):
        raise RulesInputError("--request: user and reason must be strings")
    resources = request.get("resource_labels", [])
    if not isinstance(resources, list) or not all(
        isinstance(labels, dict) and all(isinstance(v, str) for v in labels.values())
        for labels in resources
    ):
        raise RulesInputError(
            '--request: resource_labels must be a list of label objects, e.g. [{"env": "prod"}]'
        )
    return Environment(
        user=user_value,
        roles=_strings("--request: roles", request.get("roles", [])),
        suggested_reviewers=_strings(
            "--request: suggested_reviewers", request.get("suggested_reviewers", [])
        ),
        request_reason=reason,
        system_annotations=_labels(
            "--request: system_annotations", request.get("system_annotations", {})
        ),
        creation_time=_time("--request: created", request["created"])
        if "created" in request
        else None,
        expiry=_time("--request: expires", request["expires"]) if "expires" in request else None,
        user_traits=_labels("--user: traits", user.get("traits", {})),
        resource_labels=resources,
    )


@attrs.frozen(kw_only=True)
class ConditionCheck:
    """The answer of `tpd rules check`: what to print and the exit status."""

    text: str
    exit_code: int


def check_condition(condition: str, env: Environment) -> ConditionCheck:
    """Parse and evaluate `condition` against `env`: 0 match, 1 no match, 2 an error."""
    try:
        expression = parse(condition)
    except PredicateError as exc:
        return ConditionCheck(text=str(exc), exit_code=2)
    explanation = expression.explain(env)
    if explanation.error is not None:
        return ConditionCheck(text=f"{explanation}\n\n{explanation.error}", exit_code=2)
    return ConditionCheck(text=str(explanation), exit_code=0 if explanation.matches else 1)


# -- rules list -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RuleRow:
    """One rule as `tpd rules list` shows it."""

    rule: AccessMonitoringRule
    applies: bool
    #: Why the rule does not route PagerDuty incidents ("" when it does).
    why_not: str
    #: The condition's parse error ("" when it parses).
    condition_error: str

    def lines(self) -> Iterator[str]:
        rule = self.rule
        state = "applies" if self.applies else f"does not apply: {self.why_not}"
        yield f"{rule.name}: {state}"
        yield f"  condition: {rule.condition}"
        if self.condition_error:
            yield "  condition error (the rule never matches until it is fixed):"
            yield from (f"    {line}" for line in self.condition_error.splitlines())
        if rule.notification is not None:
            recipients = ", ".join(repr(r) for r in rule.notification.recipients) or "(none)"
            yield f"  notification: {rule.notification.name} -> {recipients}"
        for name, schedule in sorted(rule.schedules.items()):
            if schedule.time is None:
                yield f"  schedule {name}: (no time schedule: never matches)"
                continue
            zone = schedule.time.timezone or "UTC"
            shifts = ", ".join(f"{s.weekday} {s.start}-{s.end}" for s in schedule.time.shifts)
            yield f"  schedule {name} ({zone}): {shifts or '(no shifts: never matches)'}"


def _row(rule: AccessMonitoringRule) -> RuleRow:
    why_not = ""
    if rule.notification is None or rule.notification.name != PAGERDUTY_NOTIFICATION:
        named = rule.notification.name if rule.notification is not None else "no notification"
        why_not = f"its notification is for {named!r}, not {PAGERDUTY_NOTIFICATION!r}"
    elif ACCESS_REQUEST_SUBJECT not in rule.subjects:
        why_not = f"its subjects ({', '.join(rule.subjects)}) do not include access_request"
    error = ""
    if ACCESS_REQUEST_SUBJECT in rule.subjects:
        compiled = compile_rule(rule)
        error = str(compiled.parse_error) if compiled.parse_error is not None else ""
    return RuleRow(rule=rule, applies=not why_not, why_not=why_not, condition_error=error)


async def list_rules(client: AuthClient) -> list[RuleRow]:
    """Every rule the client may list, with whether it routes PagerDuty incidents."""
    return [_row(rule) for rule in await client.list_access_monitoring_rules()]


# -- rules explain ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RuleExplanation:
    rule: CompiledRule
    verdict: RuleVerdict
    explanation: Explanation | None
    problem: str


@attrs.frozen(kw_only=True)
class RoutingExplanation:
    """A live request against the applicable rules, and the route it takes."""

    request: AccessRequest
    rules: tuple[RuleExplanation, ...]
    route: Route
    #: Why the requester's traits are absent, when a rule reads them and they could not be read.
    traits_note: str = ""
    #: Why no rule was read, when the rules could not be listed (`rules_optional`).
    rules_note: str = ""

    def lines(self) -> Iterator[str]:
        request = self.request
        yield f"request {request.id}: {request.user} asks for {', '.join(request.roles)}"
        yield f"  state {request.state.name}, created {request.created or 'unknown'}"
        yield from self.routing_lines()

    def routing_lines(self) -> Iterator[str]:
        """The rules and the route, without the request."""
        if self.rules_note:
            yield f"note: {self.rules_note}"
        elif not self.rules:
            yield "no Access Monitoring Rule applies (notification pagerduty, access_request)"
        for item in self.rules:
            yield f"rule {item.rule.name}: {item.verdict.value}"
            if item.problem:
                yield from (f"  {line}" for line in item.problem.splitlines())
            if item.explanation is not None:
                yield from (f"  {line}" for line in str(item.explanation).splitlines())
        if self.traits_note:
            yield f"note: {self.traits_note}"
        yield f"route: {self.route.describe()}"
        if self.route.source is RouteSource.ANNOTATION:
            yield "  (no rule named a service: the request annotation decides, as in Go)"

    @property
    def paged(self) -> bool:
        return self.route.service_name is not None


async def explain_routing(
    client: AuthClient, request_id: str, *, notify_annotation: str, rules_optional: bool = False
) -> RoutingExplanation:
    """Explain the route of the live request `request_id` (see the module docstring).

    With `rules_optional`, rules the plugin may not list (or a Teleport without them) count as
    none, as in the daemon, and `rules_note` says so; otherwise that error propagates.
    """
    from teleport_access import (
        AccessDenied,
        AccessMonitoringRuleFilter,
        NotImplementedByServer,
        TeleportError,
    )

    request = await client.get_access_request(request_id)
    rule_filter = AccessMonitoringRuleFilter(
        subjects=(ACCESS_REQUEST_SUBJECT,), notification_name=PAGERDUTY_NOTIFICATION
    )
    rules_note = ""
    try:
        listed = await client.list_access_monitoring_rules(rule_filter)
    except (AccessDenied, NotImplementedByServer) as exc:
        if not rules_optional:
            raise
        listed = []
        rules_note = (
            f"the Access Monitoring Rules cannot be listed ({exc}); tpd routes by the "
            "request annotation"
        )
    compiled = [
        compile_rule(rule)
        for rule in listed
        if rule.is_for(ACCESS_REQUEST_SUBJECT, PAGERDUTY_NOTIFICATION)
    ]
    traits: Mapping[str, Sequence[str]] = {}
    traits_note = ""
    if any(rule.reads_traits for rule in compiled):
        try:
            traits = (await client.get_user(request.user)).traits
        except AccessDenied as exc:
            traits_note = (
                f"the requester's traits cannot be read ({exc}); tpd evaluates without them. "
                "Give the plugin's role read on user."
            )
        except TeleportError as exc:
            traits_note = f"the requester's traits cannot be read ({exc})"
    evaluation = evaluate_rules(compiled, request, traits)
    env = Environment.from_access_request(request, traits=traits)
    problems = {failure.rule: failure.message for failure in evaluation.failures}
    items = tuple(
        RuleExplanation(
            rule=rule,
            verdict=evaluation.verdicts[rule.name],
            explanation=(
                rule.condition.explain(env)
                if rule.condition is not None
                and evaluation.verdicts[rule.name] is not RuleVerdict.OUTSIDE_SCHEDULE
                else None
            ),
            problem=problems.get(rule.name, ""),
        )
        for rule in sorted(compiled, key=lambda r: r.name)
    )
    route = route_notification(request, evaluation.matches, notify_annotation)
    return RoutingExplanation(
        request=request, rules=items, route=route, traits_note=traits_note, rules_note=rules_note
    )


def rows_json(rows: Sequence[RuleRow]) -> str:
    """`tpd rules list --json`."""
    return json.dumps(
        [
            {
                "name": row.rule.name,
                "applies": row.applies,
                "why_not": row.why_not or None,
                "condition": row.rule.condition,
                "condition_error": row.condition_error or None,
                "recipients": list(row.rule.notification.recipients)
                if row.rule.notification is not None
                else [],
            }
            for row in rows
        ],
        indent=2,
    )
