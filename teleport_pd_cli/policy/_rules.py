"""Which Access Monitoring Rules match a request: conditions parsed once, evaluated per request.

A rule applies to tpd when its notification is for `pagerduty` and its subjects include
`access_request` (`AccessMonitoringRule.is_for`). `compile_rule` parses its condition once per
revision (the Go plugin parses it on every request); `evaluate_rules` checks each applicable
rule against one request, as Teleport does: the rule's schedules first (the request's creation
time must fall in one of them, when it has any), then its condition. A condition that does not
parse, a schedule or a condition that fails to evaluate, count as no match and are reported
as `RuleFailure`s (the daemon logs each once per rule revision); a condition whose value is not
a boolean is no match without error. Pure: the traits come from the caller.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import attrs

from teleport_access._models import AccessMonitoringRule, AccessRequest
from teleport_access.predicate import (
    Environment,
    Expression,
    PredicateError,
    PredicateEvalError,
    ScheduleError,
    parse,
    rule_in_schedule,
)
from teleport_pd_cli.policy._routing import RuleMatch

__all__ = [
    "ACCESS_REQUEST_SUBJECT",
    "PAGERDUTY_NOTIFICATION",
    "RULE_KIND",
    "CompiledRule",
    "FailureKind",
    "RuleEvaluation",
    "RuleFailure",
    "RuleVerdict",
    "compile_rule",
    "evaluate_rules",
]

#: The resource kind of the rules on the watch stream, and in role rules.
RULE_KIND = "access_monitoring_rule"
#: The subject and notification name of the rules the PagerDuty plugin follows.
ACCESS_REQUEST_SUBJECT = "access_request"
PAGERDUTY_NOTIFICATION = "pagerduty"
#: The variable whose presence in a condition makes the requester's traits worth fetching.
TRAITS_VARIABLE = "user.traits"
#: Go's zero time: a request without a creation time is matched against schedules as Go does.
_GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


class FailureKind(enum.Enum):
    PARSE = "parse"
    SCHEDULE = "schedule"
    EVALUATION = "evaluation"


@attrs.frozen(kw_only=True)
class RuleFailure:
    """A rule that could not be evaluated for a request (counted as no match)."""

    rule: str
    revision: str
    kind: FailureKind
    message: str


@attrs.frozen(kw_only=True)
class CompiledRule:
    """An applicable rule with its condition parsed (or the reason it does not parse)."""

    rule: AccessMonitoringRule
    condition: Expression | None
    parse_error: PredicateError | None = None

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def recipients(self) -> tuple[str, ...]:
        notification = self.rule.notification
        return notification.recipients if notification is not None else ()

    @property
    def reads_traits(self) -> bool:
        return self.condition is not None and TRAITS_VARIABLE in self.condition.variables


def compile_rule(rule: AccessMonitoringRule) -> CompiledRule:
    """Parse `rule`'s condition once; a parse error is kept, not raised."""
    try:
        return CompiledRule(rule=rule, condition=parse(rule.condition))
    except PredicateError as exc:
        return CompiledRule(rule=rule, condition=None, parse_error=exc)


class RuleVerdict(enum.Enum):
    """What one rule said about one request (for `tpd rules explain`)."""

    MATCHED = "matched"
    NOT_MATCHED = "not matched"
    OUTSIDE_SCHEDULE = "outside its schedules"
    FAILED = "failed"


@attrs.frozen(kw_only=True)
class RuleEvaluation:
    """The rules that matched one request, and what each rule said."""

    matches: tuple[RuleMatch, ...] = ()
    failures: tuple[RuleFailure, ...] = ()
    verdicts: Mapping[str, RuleVerdict] = attrs.field(factory=dict)


def evaluate_rules(
    rules: Iterable[CompiledRule],
    request: AccessRequest,
    traits: Mapping[str, Sequence[str]] | None = None,
) -> RuleEvaluation:
    """Evaluate every rule against `request` (and the requester's `traits`)."""
    env = Environment.from_access_request(request, traits=traits or {})
    created = request.created or _GO_ZERO_TIME
    matches: list[RuleMatch] = []
    failures: list[RuleFailure] = []
    verdicts: dict[str, RuleVerdict] = {}
    for compiled in sorted(rules, key=lambda r: r.name):
        rule = compiled.rule

        def fail(kind: FailureKind, error: Exception, rule: AccessMonitoringRule = rule) -> None:
            failures.append(
                RuleFailure(rule=rule.name, revision=rule.revision, kind=kind, message=str(error))
            )
            verdicts[rule.name] = RuleVerdict.FAILED

        if compiled.condition is None:
            assert compiled.parse_error is not None
            fail(FailureKind.PARSE, compiled.parse_error)
            continue
        if rule.schedules:
            try:
                inside = rule_in_schedule(rule.schedules, created)
            except ScheduleError as exc:
                fail(FailureKind.SCHEDULE, exc)
                continue
            if not inside:
                verdicts[rule.name] = RuleVerdict.OUTSIDE_SCHEDULE
                continue
        try:
            matched = compiled.condition.matches(env)
        except PredicateEvalError as exc:
            fail(FailureKind.EVALUATION, exc)
            continue
        if matched:
            matches.append(RuleMatch(rule=rule.name, recipients=compiled.recipients))
            verdicts[rule.name] = RuleVerdict.MATCHED
        else:
            verdicts[rule.name] = RuleVerdict.NOT_MATCHED
    return RuleEvaluation(matches=tuple(matches), failures=tuple(failures), verdicts=verdicts)
