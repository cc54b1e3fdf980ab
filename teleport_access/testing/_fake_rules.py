"""The fake Auth Service's access monitoring rules and resource permissions. No gRPC here.

`FakeRuleStore` keeps rules as Teleport's AccessMonitoringRulesService does: the same
validation on every write (errors as `BadParameter`, `AlreadyExists`, `NotFound`), a new revision
on every write, `ListAccessMonitoringRulesWithFilter`'s filter and paging, and a PUT or DELETE
event on the watch streams for every change.

`Permissions` stands in for the resource rules of the callers' roles (`allow.rules` in a Teleport
role), which the fake does not model in general: every caller may do everything, except what a
test denies (`deny(user, kind, verbs)`), e.g. a plugin role without `access_monitoring_rule`
read/list, or without `user` read. The admin (`RULER`) is never refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from threading import RLock

import attrs

from teleport_access import _convert as convert
from teleport_access._exceptions import AccessDenied, AlreadyExists, BadParameter, NotFound
from teleport_access._models import AccessMonitoringRule, AccessMonitoringRuleFilter
from teleport_access._proto import access_monitoring_rules_pb2, event_pb2

__all__ = [
    "VERBS",
    "FakeRuleStore",
    "Permissions",
    "RulePage",
    "parses_as_condition",
    "validate_rule",
]

#: The verbs of Teleport's resource rules that the fake checks.
VERBS = ("list", "read", "create", "update", "delete")
#: The largest page the service returns, whatever the caller asks for.
MAX_PAGE_SIZE = 1000
_DECISIONS = ("APPROVED", "DENIED")
_DESIRED_STATES = ("", "reviewed")

#: Checks a condition of an access_request rule; raises ValueError with the parser's message.
ConditionCheck = Callable[[str], None]


def parses_as_condition(condition: str) -> None:
    """Teleport's check: an access_request rule's condition must parse (the language of
    `teleport_access.predicate`). Raises ValueError with the parser's message."""
    from teleport_access.predicate import PredicateError, parse_cached

    try:
        parse_cached(condition)
    except PredicateError as exc:
        raise ValueError(exc.problem) from None


class Permissions:
    """Which (user, resource kind, verb) a test has denied. Thread-safe."""

    def __init__(self) -> None:
        self._lock = RLock()
        self._denied: set[tuple[str, str, str]] = set()

    def deny(self, user: str, kind: str, verbs: Iterable[str] = VERBS) -> None:
        with self._lock:
            self._denied.update((user, kind, verb) for verb in _verbs(verbs))

    def allow(self, user: str, kind: str, verbs: Iterable[str] = VERBS) -> None:
        with self._lock:
            self._denied.difference_update((user, kind, verb) for verb in _verbs(verbs))

    def allowed(self, user: str, kind: str, verb: str) -> bool:
        with self._lock:
            return (user, kind, verb) not in self._denied

    def check(self, user: str, kind: str, *verbs: str) -> None:
        """Raise `AccessDenied` as Teleport words it when `user` may not do one of `verbs`."""
        for verb in verbs:
            if not self.allowed(user, kind, verb):
                raise AccessDenied(f'access denied to perform action "{verb}" on "{kind}"')


def _verbs(verbs: Iterable[str]) -> list[str]:
    chosen = [verbs] if isinstance(verbs, str) else list(verbs)
    unknown = [verb for verb in chosen if verb not in VERBS]
    if unknown:
        raise ValueError(f"unknown verb(s) {unknown}; use {', '.join(VERBS)}")
    return chosen


def validate_rule(
    rule: access_monitoring_rules_pb2.AccessMonitoringRule, check_condition: ConditionCheck | None
) -> None:
    """Teleport's checks of a rule on create, update and upsert (`BadParameter` on failure)."""
    if rule.kind != convert.KIND_ACCESS_MONITORING_RULE:
        raise BadParameter(
            f"accessMonitoringRule kind must be access_monitoring_rule, got {rule.kind!r}"
        )
    if rule.version != "v1":
        raise BadParameter(f"accessMonitoringRule version must be v1, got {rule.version!r}")
    if not rule.HasField("metadata") or not rule.metadata.name:
        raise BadParameter("accessMonitoringRule metadata is missing")
    if not rule.HasField("spec"):
        raise BadParameter("accessMonitoringRule spec is missing")
    spec = rule.spec
    if not spec.subjects:
        raise BadParameter("accessMonitoringRule subject is missing")
    if not spec.condition:
        raise BadParameter("accessMonitoringRule condition is missing")
    has_notification = spec.HasField("notification")
    has_review = spec.HasField("automatic_review")
    if has_notification and not spec.notification.name:
        raise BadParameter("accessMonitoringRule notification plugin name is missing")
    if has_review:
        if not spec.automatic_review.integration:
            raise BadParameter("accessMonitoringRule automatic_review integration is missing")
        if spec.automatic_review.decision not in _DECISIONS:
            raise BadParameter(
                "accessMonitoringRule automatic_review decision must be APPROVED or DENIED, "
                f"got {spec.automatic_review.decision!r}"
            )
    if spec.desired_state not in _DESIRED_STATES:
        raise BadParameter(
            f'accessMonitoringRule desired_state must be "" or "reviewed", '
            f"got {spec.desired_state!r}"
        )
    if not has_notification and not has_review:
        raise BadParameter("one of notification or automatic_review must be configured")
    if convert.KIND_ACCESS_REQUEST in spec.subjects and check_condition is not None:
        try:
            check_condition(spec.condition)
        except ValueError as exc:
            raise BadParameter(f"accessMonitoringRule condition is invalid: {exc}") from None


@attrs.frozen(kw_only=True)
class RulePage:
    rules: tuple[access_monitoring_rules_pb2.AccessMonitoringRule, ...]
    next_page_token: str


class FakeRuleStore:
    """Access monitoring rules under the fake state's lock; see the module docstring.

    `publish` hands each change to the watch streams (called with `lock` held). `check_condition`
    validates the conditions of access_request rules (default: they must parse, as Teleport
    requires; None: any non-empty condition, to store rules a newer grammar would accept).
    """

    def __init__(
        self,
        lock: RLock,
        publish: Callable[[event_pb2.Event], None],
        *,
        check_condition: ConditionCheck | None = parses_as_condition,
    ) -> None:
        self._lock = lock
        self._publish = publish
        self.check_condition = check_condition
        self._rules: dict[str, access_monitoring_rules_pb2.AccessMonitoringRule] = {}

    def _store(
        self, rule: access_monitoring_rules_pb2.AccessMonitoringRule
    ) -> access_monitoring_rules_pb2.AccessMonitoringRule:
        stored = access_monitoring_rules_pb2.AccessMonitoringRule()
        stored.CopyFrom(rule)
        stored.metadata.namespace = stored.metadata.namespace or convert.DEFAULT_NAMESPACE
        stored.metadata.revision = str(uuid.uuid4())
        self._rules[stored.metadata.name] = stored
        self._publish(convert.rule_put_event(stored))
        return stored

    def create(
        self, rule: access_monitoring_rules_pb2.AccessMonitoringRule
    ) -> access_monitoring_rules_pb2.AccessMonitoringRule:
        with self._lock:
            validate_rule(rule, self.check_condition)
            if rule.metadata.name in self._rules:
                raise AlreadyExists(f'access_monitoring_rule "{rule.metadata.name}" already exists')
            return self._store(rule)

    def update(
        self, rule: access_monitoring_rules_pb2.AccessMonitoringRule
    ) -> access_monitoring_rules_pb2.AccessMonitoringRule:
        with self._lock:
            validate_rule(rule, self.check_condition)
            if rule.metadata.name not in self._rules:
                raise NotFound(f'access_monitoring_rule "{rule.metadata.name}" doesn\'t exist')
            return self._store(rule)

    def upsert(
        self, rule: access_monitoring_rules_pb2.AccessMonitoringRule
    ) -> access_monitoring_rules_pb2.AccessMonitoringRule:
        with self._lock:
            validate_rule(rule, self.check_condition)
            return self._store(rule)

    def get(self, name: str) -> access_monitoring_rules_pb2.AccessMonitoringRule:
        with self._lock:
            rule = self._rules.get(name)
            if rule is None:
                raise NotFound(f'access_monitoring_rule "{name}" doesn\'t exist')
            return rule

    def delete(self, name: str) -> None:
        with self._lock:
            if self._rules.pop(name, None) is None:
                raise NotFound(f'access_monitoring_rule "{name}" doesn\'t exist')
            self._publish(convert.rule_delete_event(name))

    def models(self) -> list[AccessMonitoringRule]:
        with self._lock:
            return [convert.rule_from_proto(self._rules[name]) for name in sorted(self._rules)]

    def page(
        self, rule_filter: AccessMonitoringRuleFilter | None, page_size: int, page_token: str
    ) -> RulePage:
        """One page of the rules matching `rule_filter`, in name order; the token is the name
        the next page starts at."""
        size = MAX_PAGE_SIZE if page_size <= 0 else min(page_size, MAX_PAGE_SIZE)
        with self._lock:
            names = sorted(name for name in self._rules if name >= page_token)
            matching = [
                self._rules[name]
                for name in names
                if rule_filter is None
                or rule_filter.matches(convert.rule_from_proto(self._rules[name]))
            ]
        taken = matching[: size + 1]
        if len(taken) > size:
            return RulePage(rules=tuple(taken[:size]), next_page_token=taken[size].metadata.name)
        return RulePage(rules=tuple(taken), next_page_token="")
