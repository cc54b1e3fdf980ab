"""The daemon's cache of applicable Access Monitoring Rules, kept current from the watcher.

The watcher hands every rule event to `RuleCache.apply` (`teleport_access.RuleEvent`): the
listing after each (re)connect replaces the cache; a PUT stores the rule if it is for the
PagerDuty plugin about access requests, and removes it otherwise (a rule whose notification
changed away from `pagerduty` leaves); a DELETE removes it. Each rule's condition is parsed
once per revision (`policy.compile_rule`); a condition that does not parse, and a rule that
fails to evaluate, are logged once per rule revision, not per request.
"""

from __future__ import annotations

import logging

from teleport_access import (
    AccessMonitoringRuleDelete,
    AccessMonitoringRulePut,
    AccessMonitoringRulesListed,
    RuleEvent,
)
from teleport_access._models import AccessMonitoringRule
from teleport_pd_cli._logfields import FieldsAdapter
from teleport_pd_cli.policy import Remembered
from teleport_pd_cli.policy._rules import (
    ACCESS_REQUEST_SUBJECT,
    PAGERDUTY_NOTIFICATION,
    CompiledRule,
    FailureKind,
    RuleEvaluation,
    compile_rule,
)

__all__ = ["RuleCache"]

logger = logging.getLogger(__name__)

#: Go's warning for a rule whose condition fails (to parse or to evaluate).
_FAILED = "Failed to parse access monitoring notification rule"


class RuleCache:
    """The applicable rules by name; see the module docstring."""

    def __init__(self) -> None:
        self._rules: dict[str, CompiledRule] = {}
        self._reported: Remembered[tuple[str, str, str]] = Remembered(10_000)

    @property
    def rules(self) -> tuple[CompiledRule, ...]:
        """The cached rules, by name."""
        return tuple(self._rules[name] for name in sorted(self._rules))

    @property
    def reads_traits(self) -> bool:
        """Whether some rule's condition reads `user.traits` (only then are traits fetched)."""
        return any(rule.reads_traits for rule in self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def apply(self, event: RuleEvent) -> None:
        """Bring the cache up to date with one event from the watcher."""
        if isinstance(event, AccessMonitoringRulesListed):
            previous, self._rules = self._rules, {}
            for rule in event.rules:
                if _applies(rule):
                    self._rules[rule.name] = self._compile(rule, previous.get(rule.name))
            logger.debug("Loaded %d access monitoring rule(s)", len(self._rules))
        elif isinstance(event, AccessMonitoringRulePut):
            rule = event.rule
            if _applies(rule):
                self._rules[rule.name] = self._compile(rule, self._rules.get(rule.name))
                logger.debug("Access monitoring rule %s updated", rule.name)
            elif self._rules.pop(rule.name, None) is not None:
                logger.debug("Access monitoring rule %s no longer applies", rule.name)
        elif (
            isinstance(event, AccessMonitoringRuleDelete)
            and self._rules.pop(event.name, None) is not None
        ):
            logger.debug("Access monitoring rule %s deleted", event.name)

    def _compile(self, rule: AccessMonitoringRule, known: CompiledRule | None) -> CompiledRule:
        if known is not None and known.rule == rule:
            return known
        compiled = compile_rule(rule)
        if compiled.parse_error is not None:
            self._report(rule.name, rule.revision, FailureKind.PARSE, str(compiled.parse_error))
        return compiled

    def report(self, evaluation: RuleEvaluation, log: FieldsAdapter | None = None) -> None:
        """Log the evaluation's failures that were not logged for this rule revision yet."""
        for failure in evaluation.failures:
            self._report(failure.rule, failure.revision, failure.kind, failure.message, log)

    def _report(
        self,
        name: str,
        revision: str,
        kind: FailureKind,
        message: str,
        log: FieldsAdapter | None = None,
    ) -> None:
        key = (name, revision, kind.value)
        if key in self._reported:
            return
        self._reported.add(key)
        (log or logger).warning(
            "%s %s (%s error; the rule counts as not matching until it changes): %s",
            _FAILED,
            name,
            kind.value,
            message,
            extra={"amr_rule": name, "error": message},
        )


def _applies(rule: AccessMonitoringRule) -> bool:
    return rule.is_for(ACCESS_REQUEST_SUBJECT, PAGERDUTY_NOTIFICATION)
