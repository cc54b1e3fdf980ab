"""Where a request's incident goes: an Access Monitoring Rule's recipient, else the annotation.

The newest Go plugin's order, exactly (docs/access-monitoring-rules.md):

* the recipients of every rule whose condition matches the request are united; recipients that
  differ only in letter case name the same PagerDuty service (PagerDuty matches names without
  case) and count once (Go counts them twice and then refuses);
* exactly one recipient: that service, whatever the annotation says;
* none: the `pagerduty_notify_service` annotation (its first value);
* more than one: nobody is paged ("more than one service provided as PagerDuty plugin
  recipient", a warning naming the rules and the recipients); auto-approval is still considered.

Pure: the daemon evaluates the rules (it may need the requester's traits) and hands the matches
here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import attrs

from teleport_access._models import AccessRequest
from teleport_pd_cli.policy._annotations import notify_service_name
from teleport_pd_cli.policy._steps import Skip

__all__ = ["TOO_MANY_RECIPIENTS", "Route", "RouteSource", "RuleMatch", "route_notification"]

#: Go's error text when the matching rules name more than one service.
TOO_MANY_RECIPIENTS = "more than one service provided as PagerDuty plugin recipient"


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


class RouteSource(enum.Enum):
    """What decided the route (the `route` label of tpd_requests_routed_total)."""

    RULE = "rule"
    ANNOTATION = "annotation"
    #: Not paged: no rule and no usable annotation, or rules naming several services.
    NONE = "none"


@attrs.frozen(kw_only=True)
class RuleMatch:
    """An applicable rule whose condition (and schedule) matched the request."""

    rule: str
    recipients: tuple[str, ...] = attrs.field(converter=_strings)


@attrs.frozen(kw_only=True)
class Route:
    """The notification route of one request."""

    #: The PagerDuty service to page, or None (then `skip` says why).
    service_name: str | None
    source: RouteSource
    #: The rules that named the service (RULE), or that matched (NONE with several services).
    rules: tuple[str, ...] = ()
    skip: Skip | None = None

    def routed_by(self, annotation: str) -> str:
        """What named the service, for messages about it."""
        if self.source is RouteSource.RULE:
            return f"access monitoring rule(s) {', '.join(self.rules)}"
        return f"the request annotation {annotation}"

    def describe(self) -> str:
        """One line for the log: the service and what chose it."""
        if self.service_name is None:
            reason = self.skip.why if self.skip is not None else "no route"
            return f"not paged: {reason}"
        if self.source is RouteSource.RULE:
            rules = ", ".join(self.rules)
            return f"service {self.service_name!r} from access monitoring rule(s) {rules}"
        return f"service {self.service_name!r} from the request annotation"


def _fold(name: str) -> str:
    # The service lookup's own comparison (`find_service_by_name`, as Go's strings.ToLower):
    # two recipients count once exactly when they would find the same service.
    return name.strip().lower()


def route_notification(
    request: AccessRequest, matches: Sequence[RuleMatch], annotation: str
) -> Route:
    """The route of `request` given the rules that matched it (see the module docstring)."""
    recipients: dict[str, str] = {}
    named_by: dict[str, list[str]] = {}
    for match in sorted(matches, key=lambda m: m.rule):
        for recipient in match.recipients:
            if not recipient:
                continue
            key = _fold(recipient)
            recipients.setdefault(key, recipient)
            named_by.setdefault(key, [])
            if match.rule not in named_by[key]:
                named_by[key].append(match.rule)
    if len(recipients) == 1:
        ((key, service),) = recipients.items()
        return Route(service_name=service, source=RouteSource.RULE, rules=tuple(named_by[key]))
    if len(recipients) > 1:
        listing = "; ".join(
            f"{recipients[key]!r} (rule {', '.join(rules)})" for key, rules in named_by.items()
        )
        return Route(
            service_name=None,
            source=RouteSource.NONE,
            rules=tuple(sorted({rule for rules in named_by.values() for rule in rules})),
            skip=Skip(what="notification", why=f"{TOO_MANY_RECIPIENTS}: {listing}", warning=True),
        )
    named = notify_service_name(request, annotation)
    if isinstance(named, Skip):
        return Route(service_name=None, source=RouteSource.NONE, skip=named)
    return Route(service_name=named, source=RouteSource.ANNOTATION)
