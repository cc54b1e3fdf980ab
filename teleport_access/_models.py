"""Typed, immutable domain models of the Teleport resources access-request automation works with.

Protobuf messages stay at the edge (`teleport_access._convert`); everything else in this package,
and every consumer of it, speaks these classes. All are frozen attrs classes: change one with
`attrs.evolve`. Sequences are stored as tuples and `map<string, []string>` values (Teleport's
`wrappers.LabelValues`: traits, annotations) as plain dicts of tuples that must be treated as
read-only. Timestamps are timezone-aware UTC datetimes, or None when Teleport sent none (or sent
Go's zero time).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TypeAlias

import attrs

#: A Teleport `map<string, []string>`: traits, system annotations, review annotations.
Labels: TypeAlias = Mapping[str, tuple[str, ...]]


def to_labels(value: Mapping[str, Iterable[str]] | None) -> dict[str, tuple[str, ...]]:
    """Copy a mapping of string lists into the read-only form the models store."""
    if not value:
        return {}
    return {str(key): tuple(values) for key, values in value.items()}


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):  # a bare string is a common mistake; never split it into letters
        raise TypeError(f"expected a sequence of strings, got the string {value!r}")
    return tuple(value)


# Non-generic converters: mypy's attrs plugin cannot solve `converter=tuple`/`dict` type variables,
# which would make every call site fail `mypy --strict`. Behaviour is exactly tuple()/dict().
def _ints(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


def _reviews(value: Iterable[AccessReview]) -> tuple[AccessReview, ...]:
    return tuple(value)


def _thresholds(value: Iterable[AccessReviewThreshold]) -> tuple[AccessReviewThreshold, ...]:
    return tuple(value)


def _claims(value: Iterable[ClaimMapping]) -> tuple[ClaimMapping, ...]:
    return tuple(value)


def _string_map(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


class RequestState(enum.IntEnum):
    """`types.RequestState`. Values Teleport adds later decode as pseudo-members `UNKNOWN_<n>`."""

    NONE = 0
    PENDING = 1
    APPROVED = 2
    DENIED = 3
    PROMOTED = 4

    @classmethod
    def _missing_(cls, value: object) -> RequestState | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member

    @property
    def is_pending(self) -> bool:
        return self is RequestState.PENDING

    @property
    def is_resolved(self) -> bool:
        """APPROVED, DENIED or PROMOTED: no review can change the state any more.

        (Only `SetAccessRequestState` can: it may deny an approved request, never undo a denial.)
        """
        return self in (RequestState.APPROVED, RequestState.DENIED, RequestState.PROMOTED)


@attrs.frozen(kw_only=True)
class AccessReviewThreshold:
    """`types.AccessReviewThreshold`: how many matching approvals/denials resolve a request."""

    name: str = ""
    filter: str = ""
    approve: int = 0
    deny: int = 0


@attrs.frozen(kw_only=True)
class AccessReview:
    """`types.AccessReview`: one reviewer's verdict on an access request."""

    author: str = ""
    proposed_state: RequestState = RequestState.NONE
    reason: str = ""
    created: datetime | None = None
    roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    annotations: Labels = attrs.field(factory=dict, converter=to_labels)
    threshold_indexes: tuple[int, ...] = attrs.field(default=(), converter=_ints)


@attrs.frozen(kw_only=True)
class AccessRequest:
    """`types.AccessRequestV3`: a user's request for roles, with its reviews and state."""

    id: str
    user: str = ""
    roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    state: RequestState = RequestState.NONE
    request_reason: str = ""
    resolve_reason: str = ""
    created: datetime | None = None
    #: When the granted access would end.
    expires: datetime | None = None
    #: When the request resource itself expires (Metadata.Expires); Teleport deletes it then.
    resource_expires: datetime | None = None
    max_duration: datetime | None = None
    system_annotations: Labels = attrs.field(factory=dict, converter=to_labels)
    resolve_annotations: Labels = attrs.field(factory=dict, converter=to_labels)
    reviews: tuple[AccessReview, ...] = attrs.field(default=(), converter=_reviews)
    thresholds: tuple[AccessReviewThreshold, ...] = attrs.field(default=(), converter=_thresholds)
    suggested_reviewers: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    def is_older_than(self, other: AccessRequest) -> bool:
        """Whether this is provably an earlier version of the same request than `other`.

        Teleport changes a request in few ways: a review is appended (never removed, and only
        while the request is pending), a resolution moves it out of PENDING, and
        `SetAccessRequestState` may later change a resolved state, but never a DENIED one
        (Teleport's `SetState` refuses). So this version is older when it has fewer reviews;
        with as many reviews, when it is PENDING and `other` is resolved, or `other` is DENIED
        and it is not. More reviews make it newer whatever the states say, and versions that
        differ otherwise (or not at all) are not ordered: False.

        The one assumption beyond Teleport's own checks: a resolved request is never set back
        to PENDING, which Teleport does not refuse but no Teleport tool or plugin does.
        """
        if self.id != other.id:
            raise ValueError(f"versions of different requests: {self.id!r}, {other.id!r}")
        if len(self.reviews) != len(other.reviews):
            return len(self.reviews) < len(other.reviews)
        if other.state.is_resolved and self.state.is_pending:
            return True
        return other.state is RequestState.DENIED and self.state is not RequestState.DENIED


@attrs.frozen(kw_only=True)
class AccessRequestFilter:
    """`types.AccessRequestFilter`: which requests to list. Empty fields match everything."""

    id: str = ""
    user: str = ""
    state: RequestState = RequestState.NONE


@attrs.frozen(kw_only=True)
class PluginData:
    """One plugin's string map stored by Teleport beside an access request."""

    request_id: str
    plugin: str
    data: Mapping[str, str] = attrs.field(factory=dict, converter=_string_map)


@attrs.frozen(kw_only=True)
class ClaimMapping:
    """`types.ClaimMapping`: an external claim value that grants roles."""

    claim: str = ""
    value: str = ""
    roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)


@attrs.frozen(kw_only=True)
class ReviewConditions:
    """`types.AccessReviewConditions` (`review_requests`): which requests a role may review."""

    roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    claims_to_roles: tuple[ClaimMapping, ...] = attrs.field(default=(), converter=_claims)
    where: str = ""
    preview_as_roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)


@attrs.frozen(kw_only=True)
class RequestConditions:
    """`types.AccessRequestConditions` (`request`): which roles a role may request, and how."""

    roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    claims_to_roles: tuple[ClaimMapping, ...] = attrs.field(default=(), converter=_claims)
    annotations: Labels = attrs.field(factory=dict, converter=to_labels)
    thresholds: tuple[AccessReviewThreshold, ...] = attrs.field(default=(), converter=_thresholds)
    suggested_reviewers: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    search_as_roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    max_duration: timedelta | None = None


@attrs.frozen(kw_only=True)
class RoleConditions:
    """The parts of `types.RoleConditions` that access requests use."""

    request: RequestConditions | None = None
    review_requests: ReviewConditions | None = None


@attrs.frozen(kw_only=True)
class Role:
    """`types.RoleV6`, reduced to what access requests and reviews need."""

    name: str
    version: str = "v7"
    allow: RoleConditions = attrs.field(factory=RoleConditions)
    deny: RoleConditions = attrs.field(factory=RoleConditions)


@attrs.frozen(kw_only=True)
class User:
    """`types.UserV2`: a user's roles and traits."""

    name: str
    roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    traits: Labels = attrs.field(factory=dict, converter=to_labels)


@attrs.frozen(kw_only=True)
class ServerInfo:
    """What `Ping` says about the cluster."""

    cluster_name: str
    server_version: str
    proxy_public_addr: str = ""
    advanced_access_workflows: bool = False
    remote_addr: str = ""


@attrs.frozen(kw_only=True)
class AccessRequestPut:
    """An access request was created or changed (or, with `reconciled`, found on reconnect)."""

    request: AccessRequest
    #: True when the watcher produced this event from a listing after (re)connecting rather than
    #: from the stream, so consumers know it may repeat what they have already seen.
    reconciled: bool = False

    @property
    def request_id(self) -> str:
        return self.request.id


@attrs.frozen(kw_only=True)
class AccessRequestDelete:
    """An access request was deleted or expired; only its id is known."""

    request_id: str
    #: True when the watcher inferred the deletion from a listing after (re)connecting.
    reconciled: bool = False


@attrs.frozen(kw_only=True)
class WatchInit:
    """The first message of a watch stream: the server is now sending events."""

    #: Kinds the server confirmed (newer servers send them in a WatchStatus); empty from older ones.
    confirmed_kinds: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: Whether the server sent a WatchStatus. Without one (older servers, which do not know
    #: partial success) every requested kind is being watched.
    status_sent: bool = False

    def confirms(self, kind: str) -> bool:
        """Whether the stream carries events of `kind` (asked for in the watch)."""
        return not self.status_sent or kind in self.confirmed_kinds


# -- access monitoring rules ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Shift:
    """`TimeSchedule.Shift`: a weekday ("Monday") and a time span ("HH:MM", both ends in)."""

    weekday: str
    start: str
    end: str


def _shifts(value: Iterable[Shift]) -> tuple[Shift, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class TimeSchedule:
    """`TimeSchedule`: shifts in an IANA time zone ("" means UTC)."""

    shifts: tuple[Shift, ...] = attrs.field(default=(), converter=_shifts)
    timezone: str = ""


@attrs.frozen(kw_only=True)
class Schedule:
    """`Schedule`: when a rule applies (only time schedules exist)."""

    time: TimeSchedule | None = None


def _schedules(value: Mapping[str, Schedule]) -> dict[str, Schedule]:
    return dict(value)


@attrs.frozen(kw_only=True)
class Notification:
    """`Notification`: which plugin a rule is for (`name`) and whom it notifies."""

    name: str = ""
    #: For the PagerDuty plugin: PagerDuty service names.
    recipients: tuple[str, ...] = attrs.field(default=(), converter=_strings)


@attrs.frozen(kw_only=True)
class AutomaticReview:
    """`AutomaticReview`: a review Teleport (`integration` "builtin") submits by itself."""

    integration: str = ""
    #: "APPROVED" or "DENIED".
    decision: str = ""


@attrs.frozen(kw_only=True)
class AccessMonitoringRule:
    """`teleport.accessmonitoringrules.v1.AccessMonitoringRule`, its spec flattened in.

    `condition` is a predicate over the subject in Teleport's access-request condition language
    (`teleport_access.predicate`); `schedules` (Teleport 18.2.8 and newer) limit when it applies.
    """

    name: str
    subjects: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    condition: str = ""
    notification: Notification | None = None
    automatic_review: AutomaticReview | None = None
    #: "" or "reviewed".
    desired_state: str = ""
    states: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    schedules: Mapping[str, Schedule] = attrs.field(factory=dict, converter=_schedules)
    description: str = ""
    labels: Mapping[str, str] = attrs.field(factory=dict, converter=_string_map)
    expires: datetime | None = None
    #: The server's revision of the rule (changes with every write); "" when unknown.
    revision: str = ""

    def is_for(self, subject: str, notification_name: str) -> bool:
        """Whether the rule notifies `notification_name` about `subject` (e.g. "access_request",
        "pagerduty"): what a plugin's rule cache keeps."""
        return (
            self.notification is not None
            and self.notification.name == notification_name
            and subject in self.subjects
        )


@attrs.frozen(kw_only=True)
class AccessMonitoringRuleFilter:
    """What `ListAccessMonitoringRulesWithFilter` returns: rules whose subjects include every
    one of `subjects`, and whose notification name / automatic review integration equal the
    given ones (empty matches all)."""

    subjects: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    notification_name: str = ""
    automatic_review_name: str = ""

    def matches(self, rule: AccessMonitoringRule) -> bool:
        if self.notification_name and (
            rule.notification is None or rule.notification.name != self.notification_name
        ):
            return False
        if self.automatic_review_name and (
            rule.automatic_review is None
            or rule.automatic_review.integration != self.automatic_review_name
        ):
            return False
        return all(subject in rule.subjects for subject in self.subjects)


@attrs.frozen(kw_only=True)
class AccessMonitoringRulePut:
    """A rule was created or changed."""

    rule: AccessMonitoringRule

    @property
    def name(self) -> str:
        return self.rule.name


@attrs.frozen(kw_only=True)
class AccessMonitoringRuleDelete:
    """A rule was deleted; only its name is known."""

    name: str


def _rules(value: Iterable[AccessMonitoringRule]) -> tuple[AccessMonitoringRule, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class AccessMonitoringRulesListed:
    """Every rule (matching the watcher's filter) as listed after a (re)connect: a consumer's
    cache is replaced by these, so a rule changed or deleted while disconnected is not missed."""

    rules: tuple[AccessMonitoringRule, ...] = attrs.field(default=(), converter=_rules)


AccessRequestEvent: TypeAlias = AccessRequestPut | AccessRequestDelete
#: What a watcher reports about access monitoring rules (see `AccessRequestWatcher`).
RuleEvent: TypeAlias = (
    AccessMonitoringRulePut | AccessMonitoringRuleDelete | AccessMonitoringRulesListed
)
#: What one watch connection yields: a WatchInit first, then request and rule events.
WatchMessage: TypeAlias = (
    WatchInit
    | AccessRequestPut
    | AccessRequestDelete
    | AccessMonitoringRulePut
    | AccessMonitoringRuleDelete
)
